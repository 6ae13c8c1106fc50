"""ONNX and LiteRT copies of a model give Keras's probabilities (same class on
>= 99.9% of faces, probabilities within 1e-4), on a toy model and on the
shipped model's ONNX file, whose record is its file's."""

import json

import keras
import numpy as np
import pytest

from conftest import REPO
from fer_workflow import models
from fer_workflow.evaluation import predict
from fer_workflow.use import classify, export, shipped
from toy_models import toy_cnn

SHIPPED_ONNX = REPO / "resources/models/fer2013_cnn.onnx"
ONNX_RECORD = REPO / "resources/models/fer2013_cnn.onnx.json"


def faces(n, seed=0):
    """Face-like uint8 images: smooth blobs plus noise, so the toy model's classes vary."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:48, 0:48] / 47
    images = []
    for _ in range(n):
        a, b, c, d = rng.uniform(-1, 1, 4)
        image = 128 + 90 * np.sin(3 * a * xx + 3 * b * yy) * np.cos(3 * c * xx - 2 * d * yy)
        images.append(image + rng.normal(0, 12, (48, 48)))
    return np.clip(images, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A toy CNN with confident answers (logits scaled up), saved and exported."""
    keras.config.set_floatx("float32")
    model = toy_cnn(seed=3)
    # Logits on standardised features: the classes vary from face to face.
    logits = model.get_layer("logits")
    features = np.asarray(keras.Model(model.inputs, logits.input)(faces(200, seed=1)[..., None]))
    mean, std = features.mean(0), features.std(0) + 1e-6
    kernel, _ = logits.get_weights()
    kernel = 4 * kernel / std[:, None]
    logits.set_weights([kernel, -mean @ kernel])
    folder = tmp_path_factory.mktemp("export")
    model.save(folder / "toy.keras")
    model = models.load_model(str(folder / "toy.keras"))
    export.export_model(model, folder / "toy.onnx", folder / "toy.tflite")
    return model, folder


@pytest.mark.parametrize("kind", ["onnx", "tflite"])
def test_exported_files_agree_with_keras(exported, kind):
    model, folder = exported
    images = faces(1000)
    reference = predict.predict_probs(model, images)
    assert len(set(reference.argmax(1))) >= 3, "the toy model should tell faces apart"
    runner = export.load(folder / f"toy.{kind}", threads=2)
    checks = export.agreement(reference, runner.predict_on_batch(images[..., None].astype(np.float32)))
    assert checks["faces"] == 1000
    assert checks["same_class"] >= 0.999
    assert checks["max_abs_diff"] <= 1e-4


@pytest.mark.parametrize("kind", ["onnx", "tflite"])
def test_classify_crops_runs_exported_files_any_batch_size(exported, kind):
    """The one path from crops to probabilities takes an exported model, 1 face or 5 (with mirrors: 2, 10)."""
    model, folder = exported
    runner = export.load(folder / f"toy.{kind}")
    for n in (1, 5, 1):
        crops = faces(n, seed=n)
        got = classify.classify_crops(runner, crops, tta_flip=True, temperature=1.3)
        expected = classify.classify_crops(model, crops, tta_flip=True, temperature=1.3)
        np.testing.assert_allclose(got, expected, atol=1e-4)
        np.testing.assert_allclose(got.sum(axis=1), 1, atol=1e-5)


def test_check_and_record(exported):
    model, folder = exported
    paths = {"onnx": folder / "toy.onnx", "litert": folder / "toy.tflite"}
    checks = export.check(model, faces(300), paths, batch_size=128)
    assert set(checks) == {"onnx", "litert"}
    record = export.record(folder / "toy.keras", paths["onnx"], paths["litert"], checks, "300 test faces")
    assert record["source"]["sha256"] == shipped.sha256(folder / "toy.keras")
    assert record["exported"]["onnx"]["opset"] >= 13
    assert record["exported"]["litert"]["bytes"] > 0
    assert {"keras", "onnxruntime", "tf2onnx"} <= set(record["versions"])
    json.dumps(record)  # plain JSON


def test_export_leaves_out_the_augmentation_layers(tmp_path):
    """A model with its training-time augmentation exports as what it computes at inference."""
    from conftest import TINY

    keras.config.set_floatx("float32")
    keras.utils.set_random_seed(0)
    model = models.build_cnn(
        TINY["cnn"] | {"separable": False, "dense_dropout": 0.0},
        {"enabled": True, "flip": True, "shift": 0.1, "cutout": 0.2},
    )
    plain = export.export_model(model, tmp_path / "m.onnx")
    names = {layer.__class__.__name__ for layer in plain.layers}
    assert not names & {"RandomAffine", "Cutout", "RandomFlip"}, names
    images = faces(16)
    np.testing.assert_allclose(
        export.load(tmp_path / "m.onnx").predict_on_batch(images[..., None].astype(np.float32)),
        predict.predict_probs(model, images),
        atol=1e-4,
    )


@pytest.mark.parametrize("name", ["model.pt", "missing.onnx"])
def test_unknown_model_is_refused_naming_the_file(tmp_path, name):
    with pytest.raises(export.UnknownModel, match=name):
        export.load(tmp_path / name)


def test_shipped_onnx_agrees_with_the_shipped_keras_model():
    model = models.load_model(str(REPO / shipped.SHIPPED_MODEL))
    images = faces(64, seed=7)
    reference = predict.predict_probs(model, images)
    got = export.load(SHIPPED_ONNX, threads=2).predict_on_batch(images[..., None].astype(np.float32))
    assert np.abs(got - reference).max() <= 1e-4
    assert (got.argmax(1) == reference.argmax(1)).mean() >= 63 / 64


def test_shipped_onnx_record_is_its_files():
    record = json.loads(ONNX_RECORD.read_text())
    keras_record = json.loads((REPO / shipped.SHIPPED_RECORD).read_text())
    assert (
        record["source"]["sha256"] == keras_record["sha256"] == shipped.sha256(REPO / shipped.SHIPPED_MODEL)
    )
    assert record["exported"]["onnx"]["sha256"] == shipped.sha256(SHIPPED_ONNX)
    assert record["exported"]["onnx"]["opset"] == export.onnx_opset(SHIPPED_ONNX)
    assert record["calibration"]["temperature"] == keras_record["calibration"]["temperature"]
    for kind in ("onnx", "litert"):
        checks = record["agreement_with_keras"][kind]
        assert checks["same_class"] >= 0.999 and checks["max_abs_diff"] <= 1e-4
