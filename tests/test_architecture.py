"""The architecture figure lists every layer with its output shape and parameters."""

import pytest
from PIL import Image

from fer_workflow.plots import evaluation, save

keras = pytest.importorskip("keras")
from fer_workflow.models.augment import RandomAffine  # noqa: E402 (needs Keras)


def tiny_cnn(blocks=2, augment=True):
    """A small CNN following the model contract (augmentation, Rescaling, block convs, logits, probs)."""
    inputs = keras.Input((48, 48, 1))
    x = inputs
    if augment:
        x = RandomAffine(flip=True, shift=0.1, zoom=0.1, name="augment")(x)
    x = keras.layers.Rescaling(1 / 255)(x)
    for i in range(1, blocks + 1):
        for j in (1, 2):
            x = keras.layers.Conv2D(4, 3, padding="same", name=f"block{i}_conv{j}")(x)
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.Activation("relu")(x)
        x = keras.layers.MaxPooling2D(2)(x)
        x = keras.layers.Dropout(0.1)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(8)(x)
    logits = keras.layers.Dense(7, name="logits")(x)
    probs = keras.layers.Activation("softmax", name="probs", dtype="float32")(logits)
    return keras.Model(inputs, probs, name="cnn")


def test_rows_cover_every_layer_in_order_with_shapes_and_params():
    model = tiny_cnn()
    rows = evaluation.layer_rows(model)
    # One box per model layer, in order; the augmentation layer is titled as such.
    titles = [layer.name for layer in model.layers]
    titles[1] = "augmentation (training only)"
    assert [row["title"] for row in rows] == titles
    assert (rows[1]["type"], rows[1]["kind"]) == ("RandomAffine", "augment")
    by_name = {row["title"]: row for row in rows}
    conv = model.get_layer("block1_conv1")
    assert by_name["block1_conv1"]["type"] == "Conv2D"
    assert by_name["block1_conv1"]["shape"] == "48 x 48 x 4"
    assert by_name["block1_conv1"]["params"] == conv.count_params() == 3 * 3 * 4 + 4
    assert by_name["block2_conv1"]["shape"] == "24 x 24 x 4"
    assert by_name["logits"]["shape"] == "7" and by_name["logits"]["params"] == 8 * 7 + 7
    assert by_name["probs"]["kind"] == "output"
    assert sum(row["params"] for row in rows) == model.count_params()


def test_workflow_cnn_shows_its_augmentation_as_training_only():
    from conftest import default_config
    from fer_workflow import models

    config = default_config()
    model = models.build_cnn(config["cnn"], config["train"]["augment"] | {"cutout": 0.25})
    augment, cutout = evaluation.layer_rows(model)[1:3]
    assert [layer.name for layer in model.layers[1:3]] == ["augment", "cutout"]
    assert (augment["title"], augment["type"], augment["kind"]) == (
        "augmentation (training only)",
        "RandomAffine",
        "augment",
    )
    assert (cutout["title"], cutout["type"], cutout["kind"]) == (
        "augmentation (training only)",
        "Cutout",
        "augment",
    )


def test_rows_name_each_layer_and_its_type():
    model = tiny_cnn(blocks=1, augment=False)
    rows = evaluation.layer_rows(model)
    assert [row["title"] for row in rows] == [layer.name for layer in model.layers]
    assert [row["type"].split(" ")[0] for row in rows] == [type(layer).__name__ for layer in model.layers]
    assert rows[-1]["type"] == "Activation (softmax)" and rows[-2]["type"] == "Dense"


def test_figure_shows_total_parameters_and_grows_with_depth(tmp_path):
    small, deep = tiny_cnn(blocks=1), tiny_cnn(blocks=5)
    assert len(deep.layers) >= 40
    fig_small = evaluation.architecture_figure(small, "cnn")
    fig_deep = evaluation.architecture_figure(deep, "cnn")
    assert f"{deep.count_params():,} parameters" in fig_deep._suptitle.get_text()
    # Each box keeps the same size: the figure is sized by the number of layers.
    rows_small, rows_deep = len(evaluation.layer_rows(small)), len(evaluation.layer_rows(deep))
    ratio = fig_deep.get_figheight() / fig_small.get_figheight()
    assert ratio == pytest.approx(rows_deep / rows_small, rel=0.15)
    texts = [t.get_text() for t in fig_deep.axes[0].texts]
    for layer in deep.layers:
        if layer.name != "augment":
            assert layer.name in texts
    assert "augmentation (training only)" in texts
    save(fig_deep, tmp_path / "architecture.png")
    with Image.open(tmp_path / "architecture.png") as image:
        width, height = image.size
    # About 100 px per box: 10-point text stays legible at 100 % zoom.
    assert height / rows_deep > 90 and width > 800
