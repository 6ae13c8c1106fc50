"""The speed paths: fused batch norm gives Keras' results, and the CNN trains,
saves and loads under the mixed_bfloat16 policy (train.mixed_precision: bfloat16)."""

import keras
import numpy as np
import pytest
from snakemake.utils import validate

from conftest import REPO, TINY, default_config, merge
from fer_workflow import models
from fer_workflow.models import training
from fer_workflow.models.layers import FusedBatchNormalization

RNG = np.random.default_rng(0)
X = (RNG.normal(size=(8, 6, 6, 5)) * 3 + 1).astype("float32")


@pytest.fixture
def policy():
    """Restores float32 after a test that sets a global policy."""
    yield
    keras.mixed_precision.set_global_policy("float32")


def pair(dtype="float32"):
    layers = []
    for cls in (keras.layers.BatchNormalization, FusedBatchNormalization):
        layer = cls(momentum=0.9, dtype=dtype)
        layer.build(X.shape)
        layer.gamma.assign(np.linspace(0.5, 2.0, 5))
        layer.beta.assign(np.arange(5.0))
        layers.append(layer)
    return layers


@pytest.mark.parametrize("dtype", ["float32", "mixed_bfloat16"])
def test_fused_batch_norm_gives_keras_results(dtype):
    import tensorflow as tf

    # bfloat16 outputs carry 8 significant bits; the statistics are float32 in both.
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else dict(rtol=1e-2, atol=2e-2)
    keras_bn, fused = pair(dtype)
    x = tf.constant(X)
    grads, outputs = [], []
    for layer in (keras_bn, fused):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(tf.cast(y, "float32") ** 2)
        outputs.append(np.asarray(tf.cast(y, "float32")))
        grads.append([np.asarray(g) for g in tape.gradient(loss, [x, layer.gamma, layer.beta])])
        assert y.dtype == layer.compute_dtype
    np.testing.assert_allclose(outputs[1], outputs[0], **tol)
    for ours, theirs in zip(grads[1], grads[0], strict=True):
        np.testing.assert_allclose(ours, theirs, **tol)
    # The moving averages: biased batch variance, as Keras keeps it.
    np.testing.assert_allclose(fused.moving_mean.numpy(), keras_bn.moving_mean.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fused.moving_variance.numpy(), keras_bn.moving_variance.numpy(), rtol=1e-4)
    inference = [np.asarray(layer(X, training=False), dtype="float32") for layer in (keras_bn, fused)]
    np.testing.assert_allclose(inference[1], inference[0], **tol)


def test_cnn_uses_fused_batch_norm_and_loads_back(tmp_path):
    config = merge(default_config(), TINY)
    model = models.build_cnn(config["cnn"], config["train"]["augment"])
    assert type(model.get_layer("block1_bn1")) is FusedBatchNormalization
    plain = models.build_cnn(config["cnn"], fused_batch_norm=False)
    assert type(plain.get_layer("block1_bn1")) is keras.layers.BatchNormalization
    model.save(tmp_path / "cnn.keras")
    loaded = models.load_model(str(tmp_path / "cnn.keras"))
    assert type(loaded.get_layer("block1_bn1")) is FusedBatchNormalization
    x = RNG.uniform(0, 255, (4, 48, 48, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-4, atol=1e-6)


def test_bfloat16_policy_trains_with_float32_augmentation_and_softmax(policy):
    config = merge(default_config(), TINY)
    train_cfg = dict(config["train"], mixed_precision="bfloat16")
    validate(merge(config, {"train": {"mixed_precision": "bfloat16"}}), str(REPO / "config.schema.yaml"))
    training.set_precision(train_cfg)
    model = models.build_cnn(config["cnn"], config["train"]["augment"])
    training.compile_model(model, train_cfg)
    assert model.get_layer("block1_conv1").compute_dtype == "bfloat16"
    assert model.get_layer("block1_conv1").variable_dtype == "float32"
    assert model.get_layer("augment").compute_dtype == "float32"
    assert model.get_layer("probs").compute_dtype == "float32"
    x = RNG.uniform(0, 255, (32, 48, 48, 1)).astype("float32")
    y = keras.utils.to_categorical(RNG.integers(0, 7, 32), 7)
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert history.history["loss"][-1] < history.history["loss"][0]
    probs = np.asarray(model(x))
    assert probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_precision_switch_values(policy):
    for value, expected in [
        (False, "float32"),
        (True, "mixed_float16"),
        ("float16", "mixed_float16"),
        ("bfloat16", "mixed_bfloat16"),
    ]:
        training.set_precision({"mixed_precision": value})
        assert keras.mixed_precision.global_policy().name == expected
    with pytest.raises(Exception, match="mixed_precision"):
        validate(
            merge(default_config(), {"train": {"mixed_precision": "bf16"}}), str(REPO / "config.schema.yaml")
        )
    validate(
        merge(default_config(), {"train": {"mixed_precision": "auto"}}), str(REPO / "config.schema.yaml")
    )


def test_auto_precision_follows_the_cpu_flags(policy, tmp_path, monkeypatch):
    with_bf16, without = tmp_path / "with", tmp_path / "without"
    with_bf16.write_text("flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n")
    without.write_text("flags\t\t: fpu sse2 avx2 avx512f avx512bw\n")
    assert training.cpu_has_bf16(with_bf16) and not training.cpu_has_bf16(without)
    assert not training.cpu_has_bf16(tmp_path / "missing")  # not Linux: float32
    for has_bf16, expected in ((True, "mixed_bfloat16"), (False, "float32")):
        monkeypatch.setattr(training, "cpu_has_bf16", lambda has_bf16=has_bf16: has_bf16)
        assert training.set_precision({"mixed_precision": "auto"}) == expected
        assert keras.mixed_precision.global_policy().name == expected
