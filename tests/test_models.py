"""Models: the CNN from config, the parameter-matched DNN, FLOP counts, presets."""

import itertools
import math
import re

import numpy as np
import pytest
import yaml
from snakemake.utils import validate

from conftest import REPO, TINY, default_config, merge
from fer_workflow import MODEL_NAMES, models
from fer_workflow.models import sizing


def block(filters, convs=1, pool=2, batch_norm=True, dropout=0.0, kernel=3):
    return dict(
        filters=filters, convs=convs, kernel=kernel, batch_norm=batch_norm, pool=pool, dropout=dropout
    )


def cnn_cfg(blocks, dense=(32,), head_pool="flatten", separable=False, dense_dropout=0.3, residual=False):
    return dict(
        blocks=blocks,
        separable=separable,
        residual=residual,
        head_pool=head_pool,
        dense=list(dense),
        dense_dropout=dense_dropout,
    )


AUGMENT = default_config()["train"]["augment"]
DNN = {"hidden_ratios": [1.0, 0.5, 0.25], "batch_norm": True, "dropout": 0.3}

CNN_SHAPES = [
    cnn_cfg([block(8), block(12)], dense=[21]),  # the TINY test CNN
    default_config()["cnn"],
    cnn_cfg([block(32, 2), block(64, 2), block(128, 2)], dense=[256], head_pool="avg"),
    cnn_cfg([block(16), block(32, 2), block(64)], separable=True, head_pool="avg", dense=[]),
    cnn_cfg([block(64, 2), block(128, 2), block(256, 2), block(512, 2)], dense=[1024, 1024]),
    # Residual: a 1x1 shortcut from 1 to 16 channels, an identity one (16 to 16), none in a 1-conv
    # block; with and without batch norm (the shortcut conv then has biases).
    cnn_cfg([block(16, 2), block(16, 2), block(32), block(64, 2)], head_pool="avg", residual=True),
    cnn_cfg([block(8, 2, batch_norm=False), block(16, 3, batch_norm=False)], dense=[], residual=True),
]


def best_following_dnn(target, ratios, batch_norm=True):
    """Brute force, independent of the solver's search: every width vector
    whose first width is at most the target's reach and whose other widths
    lie near ``w1 * r_i / r_1``, kept if one scale puts every width within one
    unit of ``s * ratio``; the smallest count error within 1%, or None."""
    r = [x / ratios[0] for x in ratios]
    best, w1 = None, 1
    while models.dnn_parameters([w1] + [1] * (len(r) - 1), batch_norm) <= 1.01 * target:
        bands = [range(max(1, math.floor((w1 - 1) * ri) - 1), math.ceil((w1 + 1) * ri) + 2) for ri in r[1:]]
        for rest in itertools.product(*bands):
            widths = [w1, *rest]
            error = abs(models.dnn_parameters(widths, batch_norm) - target)
            if error <= 0.01 * target and sizing.follows_ratios(widths, ratios) is not None:
                if best is None or error < best:
                    best = error
        w1 += 1
    return best


def check_solution(target, ratios, batch_norm=True):
    """The solver's widths follow the ratios within 1% of the target, or it
    raises naming the keys exactly when no such DNN exists."""
    possible = best_following_dnn(target, ratios, batch_norm)
    try:
        widths = models.match_dnn_widths(target, ratios, batch_norm)
    except ValueError as error:
        assert possible is None, f"{target} {ratios}: a DNN within {possible} parameters exists"
        assert "dnn.hidden_ratios" in str(error) and "cnn.blocks" in str(error)
        return None
    assert possible is not None
    assert len(widths) == len(ratios) and min(widths) >= 1
    assert abs(models.dnn_parameters(widths, batch_norm) - target) <= 0.01 * target
    scale = sizing.follows_ratios(widths, ratios)
    assert scale is not None
    assert all(abs(w - scale * r) < 1 for w, r in zip(widths, ratios, strict=True) if w > 1)
    return widths


RATIOS = [[1.0], [1.0, 0.5], [1.0, 0.5, 0.25], [1, 1, 1, 1], [0.25, 0.5, 1.0], [2, 1]]


@pytest.mark.parametrize("ratios", RATIOS)
def test_width_solver_over_a_grid_of_cnn_sizes(ratios):
    """256 CNN shapes (2 blocks, 5k to 800k parameters) x these ratios."""
    solved = 0
    for f1, f2, dense, head, separable in itertools.product(
        [4, 8, 16, 32], [8, 12, 24, 64], [[], [8], [21], [64]], ["flatten", "avg"], [False, True]
    ):
        cfg = cnn_cfg([block(f1), block(f2)], dense=dense, head_pool=head, separable=separable)
        for batch_norm in (True, False) if f1 == 8 else (True,):
            solved += check_solution(sizing.cnn_parameters(cfg), ratios, batch_norm) is not None
    assert solved >= 40  # every large enough CNN gets a DNN


@pytest.mark.parametrize("cnn", CNN_SHAPES)
@pytest.mark.parametrize(
    "dnn",
    [
        DNN,
        {"hidden_ratios": [1.0], "batch_norm": False, "dropout": 0.0},
        {**DNN, "hidden_ratios": [1, 1, 1, 1]},
    ],
)
def test_dnn_matches_cnn_parameters_within_one_percent(cnn, dnn):
    target = models.build_cnn(cnn, AUGMENT).count_params()
    assert sizing.cnn_parameters(cnn) == target  # the Keras-free formula is exact
    widths = check_solution(target, dnn["hidden_ratios"], dnn["batch_norm"])
    if widths is not None:
        built = models.build_dnn(widths, dnn, AUGMENT).count_params()
        assert built == models.dnn_parameters(widths, dnn["batch_norm"])  # the formula is exact


@pytest.mark.parametrize(
    "cnn, widths",
    [
        # The cases: [69, 47, 25], [12, 30, 15] and [2, 31, 16] before (the first: the
        # CPU preset's CNN then, 16-32-64-128 filters and a 128-unit dense layer).
        (
            cnn_cfg(
                [block(16, 2), block(32, 2), block(64, 2), block(128, 1, pool=1)],
                dense=[128],
                head_pool="avg",
            ),
            [70, 35, 17],
        ),
        (
            merge(default_config(), yaml.safe_load((REPO / "presets/fer2013-cpu.yaml").read_text()))["cnn"],
            [145, 72, 36],
        ),
        (  # the CPU preset's CNN before its first block went from 24 to 16 filters
            cnn_cfg(
                [block(24, 2), block(48, 2), block(96, 2), block(192, 1, pool=1)],
                dense=[128],
                head_pool="avg",
            ),
            [147, 74, 37],
        ),
        (merge(default_config(), TINY)["cnn"], [16, 8, 4]),
        (
            cnn_cfg([block(16), block(32, 2), block(64)], separable=True, head_pool="avg", dense=[]),
            None,
        ),
    ],
)
def test_widths_follow_the_ratios(cnn, widths):
    target = sizing.cnn_parameters(cnn)
    if widths is None:  # 5,479 parameters: one first-layer unit alone is 2,300
        with pytest.raises(ValueError, match=r"dnn\.hidden_ratios \[1\.0, 0\.5, 0\.25\] cannot be met"):
            models.match_dnn_widths(target, DNN["hidden_ratios"])
        return
    assert models.match_dnn_widths(target, DNN["hidden_ratios"]) == widths


def test_follows_ratios_by_hand():
    assert sizing.follows_ratios([70, 35, 17], [1, 0.5, 0.25]) == pytest.approx(70)  # s in (69, 71)
    assert sizing.follows_ratios([12, 30, 15], [1, 0.5, 0.25]) is None
    assert sizing.follows_ratios([2, 31, 16], [1, 0.5, 0.25]) is None
    assert sizing.follows_ratios([3, 1], [1, 0.1]) is not None  # 1 stands for anything below 1


def test_summary_states_widths_and_ratios():
    assert sizing.width_texts([70, 35, 17], [2.0, 1.0, 0.5]) == {
        "dnn_widths": "70 35 17",
        "dnn_width_ratios": "1 : 0.5 : 0.243",
        "dnn_hidden_ratios": "1 : 0.5 : 0.25",
    }


def test_large_dnn_keeps_the_width_ratios():
    widths = models.match_dnn_widths(13_562_411, [1.0, 0.5, 0.25])
    assert widths[1] / widths[0] == pytest.approx(0.5, abs=0.01)
    assert widths[2] / widths[0] == pytest.approx(0.25, abs=0.01)


def test_wider_cnn_gives_wider_dnn():
    narrow = cnn_cfg([block(16), block(32)], dense=[32])
    wide = cnn_cfg([block(32), block(64)], dense=[32])
    w_narrow = models.match_dnn_widths(models.build_cnn(narrow).count_params(), DNN["hidden_ratios"])
    w_wide = models.match_dnn_widths(models.build_cnn(wide).count_params(), DNN["hidden_ratios"])
    assert w_wide[0] > w_narrow[0]


def test_unreachable_target_is_a_clear_error():
    with pytest.raises(ValueError, match=r"dnn\.hidden_ratios .* 1000 parameters .*cnn\.blocks.* within 1%"):
        models.match_dnn_widths(1000, [1.0, 0.5])


def test_check_config_names_the_keys():
    config = merge(default_config(), TINY)
    assert sizing.check_config(config) == [16, 8, 4]
    config["cnn"]["dense"] = [16]  # 28,799 parameters: 12-6-3 has 27,850, 13-7-3 30,184
    with pytest.raises(ValueError, match=r"dnn\.hidden_ratios.*cnn\.blocks, cnn\.separable, cnn\.head_pool"):
        sizing.check_config(config)


def test_cnn_layers_follow_the_contract():
    cfg = cnn_cfg([block(8, convs=2), block(12, dropout=0.2)], dense=[16])
    model = models.build_cnn(cfg, AUGMENT)
    names = [layer.name for layer in model.layers]
    convs = [n for n in names if re.fullmatch(r"block\d+_conv\d+", n)]
    assert convs == ["block1_conv1", "block1_conv2", "block2_conv1"]
    assert names[:3] == ["image", "augment", "rescaling"]
    assert names[-2:] == ["logits", "probs"]
    logits = model.get_layer("logits")
    assert logits.units == 7 and logits.activation.__name__ == "linear"
    assert model.get_layer("probs").dtype_policy.compute_dtype == "float32"
    assert model.input_shape == (None, 48, 48, 1)
    x = np.random.default_rng(0).uniform(0, 255, (3, 48, 48, 1)).astype("float32")
    probs = np.asarray(model(x, training=False))
    assert probs.shape == (3, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    # Augmentation is active only in training: inference is deterministic.
    np.testing.assert_array_equal(probs, np.asarray(model(x, training=False)))


def test_separable_convs_after_the_first_and_avg_head():
    from keras import layers

    model = models.build_cnn(cnn_cfg([block(8, convs=2), block(16)], separable=True, head_pool="avg"))
    assert type(model.get_layer("block1_conv1")) is layers.Conv2D
    assert isinstance(model.get_layer("block1_conv2"), layers.SeparableConv2D)
    assert isinstance(model.get_layer("block2_conv1"), layers.SeparableConv2D)
    assert isinstance(model.get_layer("head_pool"), layers.GlobalAveragePooling2D)


def test_dnn_has_the_same_augmentation_and_outputs():
    cnn = models.build_cnn(cnn_cfg([block(8)]), AUGMENT)
    dnn = models.build_dnn([20, 10], DNN, AUGMENT)
    preprocessing = [layer.get_config() for layer in cnn.layers[1:3]]
    for config in preprocessing:
        config.pop("name")
    dnn_preprocessing = [layer.get_config() for layer in dnn.layers[1:3]]
    for config in dnn_preprocessing:
        config.pop("name")
    assert preprocessing == dnn_preprocessing
    assert {k: preprocessing[0][k] for k in ("flip", "shift", "rotation", "zoom")} == {
        k: AUGMENT[k] for k in ("flip", "shift", "rotation", "zoom")
    }
    assert [layer.name for layer in dnn.layers][-2:] == ["logits", "probs"]
    assert dnn.get_layer("dense1").units == 20 and dnn.get_layer("dense2").units == 10
    off = models.build_dnn([20], DNN, dict(AUGMENT, enabled=False))
    assert not any(layer.name.startswith("augment") for layer in off.layers)


def test_count_flops_by_hand():
    cfg = cnn_cfg([block(4, convs=2), block(8, pool=1)], dense=[10], head_pool="flatten")
    model = models.build_cnn(cfg)
    conv = 2 * 48 * 48 * 9 * 1 * 4 + 2 * 48 * 48 * 9 * 4 * 4 + 2 * 24 * 24 * 9 * 4 * 8
    dense = 2 * (24 * 24 * 8) * 10 + 2 * 10 * 7
    assert models.count_flops(model) == conv + dense
    sep = models.build_cnn(cnn_cfg([block(4), block(8, pool=1)], separable=True, dense=[]))
    # block2_conv1 is separable: depthwise 3x3 on 4 channels, then pointwise 4 -> 8.
    expected = 2 * 48 * 48 * 9 * 4 + 2 * 24 * 24 * 9 * 4 + 2 * 24 * 24 * 4 * 8 + 2 * (24 * 24 * 8) * 7
    assert models.count_flops(sep) == expected


@pytest.mark.parametrize(
    "path", ["scripts/fer_workflow/models/build.py", "scripts/fer_workflow/models/training.py"]
)
def test_model_and_training_code_is_backend_agnostic(path):
    source = (REPO / path).read_text()
    assert not re.search(r"^\s*(import|from)\s+tensorflow", source, re.MULTILINE)
    assert "tf." not in source


def test_default_config_trains_a_matched_pair():
    config = merge(default_config(), TINY)
    target = models.build_cnn(config["cnn"]).count_params()
    widths = models.match_dnn_widths(target, config["dnn"]["hidden_ratios"], config["dnn"]["batch_norm"])
    assert abs(models.dnn_parameters(widths, True) - target) <= 0.01 * target


@pytest.mark.parametrize("preset", ["fer2013-gpu.yaml", "hw3-report.yaml"])
def test_presets_validate(preset):
    config = merge(default_config(), yaml.safe_load((REPO / "presets" / preset).read_text()))
    validate(config, str(REPO / "config.schema.yaml"))
    cnn = models.build_cnn(config["cnn"], config["train"]["augment"])
    widths = models.match_dnn_widths(
        cnn.count_params(), config["dnn"]["hidden_ratios"], config["dnn"]["batch_norm"]
    )
    assert abs(models.dnn_parameters(widths, config["dnn"]["batch_norm"]) / cnn.count_params() - 1) <= 0.01


def test_hw3_report_cnn_has_the_study_size():
    config = merge(default_config(), yaml.safe_load((REPO / "presets" / "hw3-report.yaml").read_text()))
    assert config["train"]["optimizer"] == "adadelta" and config["train"]["learning_rate"] == 0.1
    assert config["train"]["epochs"] == 100 and config["train"]["steps_per_epoch"] == 400
    assert config["train"]["batch_size"] == 32 and config["cnn"]["dense_dropout"] == 0.5
    assert all(b["dropout"] == 0 for b in config["cnn"]["blocks"])
    params = models.build_cnn(config["cnn"]).count_params()
    assert abs(params - 13.56e6) <= 0.01 * 13.56e6


def test_residual_blocks_add_their_input_before_the_last_relu():
    from fer_workflow.explain import saliency

    cnn = cnn_cfg([block(16, 2), block(16, 2), block(32), block(64, 2)], head_pool="avg", residual=True)
    model = models.build_cnn(cnn, AUGMENT)
    names = {layer.name for layer in model.layers}
    assert {"block1_add", "block2_add", "block4_add", "block1_shortcut", "block4_shortcut_bn"} <= names
    assert "block2_shortcut" not in names and "block3_add" not in names  # identity; one conv: none
    add = model.get_layer("block2_add")
    assert add.input[1] is model.get_layer("block1_pool").output  # the block's input itself
    assert add.input[0] is model.get_layer("block2_bn2").output
    assert model.get_layer("block2_relu2").input is add.output
    # Grad-CAM's last conv layer is still the last block's ReLU, not a shortcut.
    assert saliency.gradcam_layer(model).name == "block4_relu2"
    plain = models.build_cnn(dict(cnn, residual=False), AUGMENT)
    assert not any("add" in layer.name or "shortcut" in layer.name for layer in plain.layers)
    assert model.count_params() - plain.count_params() == 1 * 16 + 4 * 16 + 32 * 64 + 4 * 64


def test_study_model_is_the_cnn_or_its_matched_dnn():
    """train_model builds its model by name: the CNN, or the DNN sized to it."""
    config = merge(default_config(), TINY)
    assert MODEL_NAMES == ("cnn", "dnn")
    cnn, extra, facts = models.build_study_model("cnn", config["cnn"], config["dnn"])
    assert cnn.name == "cnn" and (extra, facts) == ({}, None)
    dnn, extra, facts = models.build_study_model("dnn", config["cnn"], config["dnn"])
    assert dnn.name == "dnn" and facts["matched_to_cnn_parameters"] == cnn.count_params()
    assert extra["matched_to_cnn_parameters"] == cnn.count_params()
    assert abs(dnn.count_params() - cnn.count_params()) <= 0.01 * cnn.count_params()
    hidden = [layer.units for layer in dnn.layers if re.fullmatch(r"dense\d+", layer.name)]
    assert facts["hidden_widths"] == hidden and len(hidden) == len(config["dnn"]["hidden_ratios"])


@pytest.mark.parametrize("name", ["resnet", "CNN", "", "dnn2"])
def test_an_unknown_model_name_is_refused_naming_the_known_ones(name):
    """A third name was once silently built as a DNN; now it is an error."""
    config = merge(default_config(), TINY)
    with pytest.raises(ValueError) as error:
        models.build_study_model(name, config["cnn"], config["dnn"])
    assert f"unknown model {name!r}" in str(error.value)
    assert "cnn and dnn" in str(error.value) and "docs/development.md" in str(error.value)
