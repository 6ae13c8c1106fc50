"""The saved model stands alone: a fresh Python with only Keras loads it and
gives the same predictions as the workflow's own code."""

import json
import os
import subprocess
import sys

import keras
import numpy as np

from conftest import TINY, default_config
from fer_workflow import models
from fer_workflow.models.augment import TRAINING_ONLY
from fer_workflow.models.layers import FusedBatchNormalization

FACES = np.random.default_rng(3).uniform(0, 255, (6, 48, 48, 1)).astype("float32")

# Runs in a clean interpreter with nothing but Keras imported; the installed
# library is blocked (an import of fer_workflow raises), so loading cannot use it.
LOAD_AND_PREDICT = """
import json, sys
sys.modules["fer_workflow"] = None
import keras, numpy as np
model = keras.saving.load_model(sys.argv[1])
faces = np.load(sys.argv[2])
probs = model.predict(faces, verbose=0)
print(json.dumps({"probs": probs.tolist(), "fer_workflow": sys.modules["fer_workflow"] is not None,
                  "layers": [type(layer).__name__ for layer in model.layers]}))
"""


def load_in_plain_python(model_path, faces, tmp_path):
    """Load ``model_path`` and predict ``faces`` in a fresh interpreter with only
    Keras (fer_workflow blocked); returns LOAD_AND_PREDICT's dict."""
    np.save(tmp_path / "faces.npy", faces)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_AND_PREDICT, str(model_path), str(tmp_path / "faces.npy")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def trained_tiny_cnn():
    """The TINY CNN with its augmentation (cutout too), fitted a few steps so BN statistics move."""
    keras.utils.set_random_seed(0)
    model = models.build_cnn(
        TINY["cnn"] | {"separable": False, "dense_dropout": 0.3},
        default_config()["train"]["augment"] | {"cutout": 0.25},
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (64, 48, 48, 1)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 7, 64), 7)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    return model


def test_inference_model_drops_only_the_augmentation():
    model = trained_tiny_cnn()
    inference = models.inference_model(model)
    assert [layer.name for layer in inference.layers] == [
        layer.name for layer in model.layers if not isinstance(layer, TRAINING_ONLY)
    ]
    assert {"augment", "cutout"} <= {layer.name for layer in model.layers}
    # Same weight variables, not copies: later training of one shows in the other.
    assert inference.get_layer("logits") is model.get_layer("logits")
    np.testing.assert_allclose(
        inference.predict(FACES, verbose=0), model.predict(FACES, verbose=0), rtol=1e-5
    )
    # The fused batch norm (a layer of this package) becomes Keras' own, same weights.
    assert not any(isinstance(layer, FusedBatchNormalization) for layer in inference.layers)
    assert any(type(layer) is keras.layers.BatchNormalization for layer in inference.layers)
    bn = next(layer.name for layer in model.layers if isinstance(layer, FusedBatchNormalization))
    for a, b in zip(inference.get_layer(bn).get_weights(), model.get_layer(bn).get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    cnn = TINY["cnn"] | {"separable": False, "dense_dropout": 0.3}
    plain = models.build_cnn(cnn, fused_batch_norm=False)
    assert models.inference_model(plain) is plain  # nothing to replace


def test_saved_model_loads_with_only_keras(tmp_path):
    model = trained_tiny_cnn()
    path = tmp_path / "cnn.keras"
    models.inference_model(model).save(path)
    out = load_in_plain_python(path, FACES, tmp_path)
    assert not out["fer_workflow"]
    assert "RandomAffine" not in out["layers"]
    expected = model.predict(FACES, verbose=0)
    np.testing.assert_allclose(np.array(out["probs"]), expected, rtol=1e-4, atol=1e-4)
    # The workflow's own loader reads the same file too.
    np.testing.assert_allclose(
        models.load_model(str(path)).predict(FACES, verbose=0), expected, rtol=1e-4, atol=1e-4
    )
