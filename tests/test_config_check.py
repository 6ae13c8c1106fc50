"""Config mistakes are caught when the workflow starts (before any job runs),
numbers given as strings are accepted, an unknown key names the closest
valid key, and what only the data can judge fails in split_data."""

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import REPO, TINY, default_config, merge, tiny_config
from fer_workflow import CONV_LAYER_PATTERN, config_check, conv_layer_names, data, models
from fer_workflow.config_check import ConfigError
from fer_workflow.data import synthetic
from fer_workflow.models import sizing

SCHEMA = yaml.safe_load((REPO / "config.schema.yaml").read_text())
PRESETS = sorted((REPO / "presets").glob("*.yaml"))


def checked(config):
    """``config_check.check`` on a copy; returns the coerced copy."""
    return config_check.check(copy.deepcopy(config), SCHEMA)


def failure(config):
    with pytest.raises(ConfigError) as info:
        checked(config)
    return str(info.value)


# ---- numbers written as strings --------------------------------------------------------


def test_strings_become_numbers_where_the_schema_wants_them():
    config = tiny_config(
        train={"epochs": "3", "learning_rate": "1e-3", "augment": {"enabled": "false", "shift": "0.1"}},
        cnn={"dense": ["21"]},
        dnn={"hidden_ratios": ["1", "0.5"]},
        seed="7",
    )
    out = checked(config)
    assert out["train"]["epochs"] == 3 and isinstance(out["train"]["epochs"], int)
    assert out["train"]["learning_rate"] == pytest.approx(1e-3)
    assert out["train"]["augment"] == {**out["train"]["augment"], "enabled": False, "shift": 0.1}
    assert out["cnn"]["dense"] == [21] and out["dnn"]["hidden_ratios"] == [1, 0.5]
    assert out["seed"] == 7
    assert out["data"]["format"] == "synthetic"  # strings stay strings where strings are wanted


def test_yaml_exponent_without_dot_is_a_number():
    text = "train:\n  learning_rate: 1e-3\n"
    assert yaml.safe_load(text)["train"]["learning_rate"] == "1e-3"  # PyYAML's reading
    out = checked(merge(tiny_config(), yaml.safe_load(text)))
    assert out["train"]["learning_rate"] == pytest.approx(0.001)


@pytest.mark.parametrize(
    "override, line",
    [
        ({"train": {"epochs": "three"}}, "train.epochs: 'three' is not of type 'integer'"),
        ({"train": {"epochs": "2.5"}}, "train.epochs: '2.5' is not of type 'integer'"),
        ({"train": {"learning_rate": "nan"}}, "train.learning_rate: 'nan' is not of type 'number'"),
        ({"train": {"epochs": "0"}}, "train.epochs: 0 is less than the minimum of 1"),
    ],
)
def test_strings_that_are_not_valid_numbers_are_still_rejected(override, line):
    assert line in failure(tiny_config(**override))


# ---- short schema errors --------------------------------------------------------------


def test_unknown_key_names_the_closest_valid_key():
    message = failure(tiny_config(train={"epoch": 3}))
    assert "train.epoch: unknown key; did you mean `epochs`?" in message
    assert len(message.splitlines()) <= 3, message
    assert len(message) < 600, message


@pytest.mark.parametrize(
    "override, key, suggestion",
    [
        ({"filter": {"layer": "block1_conv1"}}, "filter", "filters"),
        ({"data": {"validaton_fraction": 0.2}}, "data.validaton_fraction", "validation_fraction"),
        ({"train": {"augment": {"fliip": True}}}, "train.augment.fliip", "flip"),
        ({"cnn": {"blocks": [{**TINY["cnn"]["blocks"][0], "filter": 8}]}}, "cnn.blocks[0].filter", "filters"),
        # Each model's recipe override takes the train keys, and only those.
        (
            {"train_overrides": {"dnn": {"learning_rat": 0.1}}},
            "train_overrides.dnn.learning_rat",
            "learning_rate",
        ),
        (
            {"train_overrides": {"cnn": {"augment": {"fliip": True}}}},
            "train_overrides.cnn.augment.fliip",
            "flip",
        ),
        ({"train_overrides": {"dnnn": {}}}, "train_overrides.dnnn", "dnn"),
    ],
)
def test_unknown_keys_everywhere(override, key, suggestion):
    message = failure(merge(tiny_config(), override))
    assert f"{key}: unknown key; did you mean `{suggestion}`?" in message


def test_a_recipe_override_is_partial_and_checked_like_train():
    partial = {"learning_rate": "1e-3", "augment": {"enabled": "false"}, "reduce_lr": {"patience": 0}}
    out = checked(tiny_config(train_overrides={"dnn": partial}))
    assert out["train_overrides"]["dnn"] == {
        "learning_rate": pytest.approx(1e-3),
        "augment": {"enabled": False},
        "reduce_lr": {"patience": 0},
    }
    message = failure(tiny_config(train_overrides={"dnn": {"epochs": 0}}))
    epochs = SCHEMA["$defs"]["recipe"]["properties"]["epochs"]["description"]
    assert message.splitlines()[1:] == [
        f"  train_overrides.dnn.epochs: 0 is less than the minimum of 1 -- {epochs}"
    ]
    # train itself must still give every key, in its groups too.
    config = tiny_config()
    del config["train"]["augment"]["flip"]
    assert "train.augment.flip: missing (required key)" in failure(config)


def test_misspelt_choice_names_the_closest_choice():
    message = failure(tiny_config(train={"optimizer": "adamm"}))
    assert (
        "train.optimizer: 'adamm' is not one of ['adam', 'adamw', 'adadelta', 'sgd']; did you mean `adam`?"
        in message
    )


def test_unknown_key_without_a_close_match_lists_the_keys():
    message = failure(tiny_config(train={"zzzz": 1}))
    assert "train.zzzz: unknown key; (keys of train: augment, batch_size," in message


def test_every_object_in_the_schema_rejects_unknown_keys():
    def objects(node, path="config"):
        if isinstance(node, dict):
            if node.get("type") == "object" or "properties" in node:
                yield path, node
            for key, value in node.items():
                yield from objects(value, f"{path}.{key}")
        elif isinstance(node, list):
            for value in node:
                yield from objects(value, path)

    found = list(objects(SCHEMA))
    assert len(found) > 10
    for path, node in found:
        if "properties" in node and "type" in node:
            assert node.get("additionalProperties") is False, path


def test_every_schema_definition_is_used():
    text = (REPO / "config.schema.yaml").read_text()
    assert SCHEMA["$defs"]
    for name in SCHEMA["$defs"]:
        assert f'$ref: "#/$defs/{name}"' in text, name


def test_schema_error_names_the_key_in_one_line():
    message = failure(tiny_config(data={"validation_fraction": 2}))
    assert message.splitlines()[1:] == [
        "  data.validation_fraction: 2 is greater than or equal to the maximum of 0.5 -- "
        + SCHEMA["properties"]["data"]["properties"]["validation_fraction"]["description"]
    ]


def schema_keys(node, path=""):
    """(key path, schema) of every key a config can have, at every level: the
    properties of each object, the fields of list items (``cnn.blocks[].filters``)
    and the schema of free-named keys (``saliency.regions.<name>``). Not the
    keywords of ``if``/``then``, which name keys already listed. A ``$ref``
    (``train``, ``train_overrides.dnn``) is followed, as config_check follows it."""
    node = config_check._resolve(node, SCHEMA)
    for key, sub in node.get("properties", {}).items():
        yield f"{path}.{key}" if path else key, sub
        yield from schema_keys(sub, f"{path}.{key}" if path else key)
    if isinstance(node.get("items"), dict):
        yield from schema_keys(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield f"{path}.<name>", node["additionalProperties"]
        yield from schema_keys(node["additionalProperties"], f"{path}.<name>")


def test_every_key_in_the_schema_says_what_it_means():
    keys = dict(schema_keys(SCHEMA))
    assert {"seed", "cnn.blocks", "cnn.blocks[].filters", "train.reduce_lr.patience"} <= set(keys)
    assert {"train_overrides.dnn.augment.flip", "train_overrides.cnn.learning_rate"} <= set(keys)
    assert "saliency.regions.<name>" in keys and len(keys) > 100
    missing = [
        path
        for path, sub in keys.items()
        if not (isinstance(sub.get("description"), str) and sub["description"].strip())
    ]
    assert not missing, f"keys without a description in config.schema.yaml: {missing}"


@pytest.mark.parametrize(
    "override, path",
    [
        ({"train": {"batch_size": 0}}, ["train", "batch_size"]),  # {$ref: posint, description: ...}
        ({"cnn": {"blocks": [{**TINY["cnn"]["blocks"][0], "filters": 0}]}}, ["cnn", "blocks", 0, "filters"]),
        ({"train": {"optimizer": "adamm"}}, ["train", "optimizer"]),
        ({"train": {"mixed_precision": "fp8"}}, ["train", "mixed_precision"]),  # oneOf
        ({"saliency": {"regions": {"mouth": [[1, 2, 3]]}}}, ["saliency", "regions", "mouth"]),
    ],
)
def test_schema_error_says_what_the_key_means(override, path):
    message = failure(merge(tiny_config(), override))
    description = config_check.description_at(SCHEMA, path)
    assert description and len(message.splitlines()) == 2, message
    line = message.splitlines()[1]
    assert line.startswith(f"  {config_check.key_path(path)}"), line
    assert line.endswith(f" -- {description}"), line


def test_schema_error_on_batch_size_names_the_key_and_its_meaning():
    message = failure(tiny_config(train={"batch_size": 0}))
    assert message.splitlines()[1] == (
        "  train.batch_size: 0 is less than the minimum of 1 -- Training images per optimizer step (at least 1)."
    )


@pytest.mark.parametrize(
    "value, problem",
    [
        (-1, "-1 is less than the minimum of 0"),
        (65, "65 is greater than the maximum of 64"),
        (12.5, "12.5 is not of type 'integer'"),
        ("twelve", "'twelve' is not of type 'integer'"),
    ],
)
def test_near_duplicate_max_diff_out_of_range_is_rejected_naming_the_key(value, problem):
    description = SCHEMA["properties"]["data"]["properties"]["near_duplicate_max_diff"]["description"]
    message = failure(tiny_config(data={"near_duplicate_max_diff": value}))
    assert message.splitlines()[1:] == [f"  data.near_duplicate_max_diff: {problem} -- {description}"]


@pytest.mark.parametrize("value, expected", [(0, 0), (64, 64), ("12", 12)])
def test_near_duplicate_max_diff_in_range_is_accepted(value, expected):
    assert (
        checked(tiny_config(data={"near_duplicate_max_diff": value}))["data"]["near_duplicate_max_diff"]
        == expected
    )


def test_description_of_a_list_item_is_the_lists():
    lists = SCHEMA["properties"]["dnn"]["properties"]["hidden_ratios"]["description"]
    assert config_check.description_at(SCHEMA, ["dnn", "hidden_ratios", 1]) == lists
    assert "hidden_ratios" in failure(tiny_config(dnn={"hidden_ratios": [1.0, -1]}))
    assert config_check.description_at(SCHEMA, []) is None
    assert config_check.description_at(SCHEMA, ["train", "no_such_key"]) is None


def test_missing_key_is_named_with_its_meaning():
    config = tiny_config()
    del config["train"]["epochs"]
    message = failure(config)
    epochs = SCHEMA["$defs"]["recipe"]["properties"]["epochs"]["description"]
    assert message.splitlines()[1:] == [f"  train.epochs: missing (required key) -- {epochs}"]


# ---- what the schema cannot see -------------------------------------------------------------


def test_conv_layer_names_and_parameters_match_the_built_cnn():
    configs = [default_config()["cnn"], TINY["cnn"] | {"separable": False, "dense_dropout": 0.3}]
    configs += [
        preset["cnn"] for preset in map(yaml.safe_load, map(Path.read_text, PRESETS)) if "cnn" in preset
    ]
    configs.append({**default_config()["cnn"], "separable": True, "head_pool": "flatten", "dense": [32, 16]})
    for cnn in configs:
        cnn = {**default_config()["cnn"], **cnn}
        model = models.build_cnn(cnn)
        assert config_check.config_conv_layer_names(cnn) == [
            layer.name for layer in model.layers if layer.name.startswith("block") and "_conv" in layer.name
        ]
        assert conv_layer_names(model) == config_check.config_conv_layer_names(cnn)
        assert sizing.cnn_parameters(cnn) == model.count_params()


def test_schema_spells_conv_layer_names_as_the_library():
    """The schema cannot import fer_workflow.CONV_LAYER_PATTERN, so it repeats it: the same pattern."""
    assert SCHEMA["$defs"]["layer_name"]["pattern"] == f"^{CONV_LAYER_PATTERN}$"
    gradcam = SCHEMA["properties"]["saliency"]["properties"]["gradcam_layer"]
    assert gradcam["pattern"] == f"^(last|{CONV_LAYER_PATTERN})$"


def test_synthetic_validation_size_matches_the_split():
    for n_train, fraction in [(70, 0.1), (420, 0.1), (4000, 0.1), (1000, 0.3)]:
        config = tiny_config(synthetic={"n_train": n_train}, data={"validation_fraction": fraction})
        labels = np.repeat(np.arange(7), synthetic.class_counts(n_train))
        _, val = data.stratified_split(labels, fraction, seed=1)
        assert config_check.synthetic_validation_size(config) == len(val)


def test_default_config_and_presets_pass(tmp_path, monkeypatch):
    checked(default_config())
    checked(tiny_config())
    monkeypatch.chdir(tmp_path)  # presets name resources/fer2013/*.csv.gz: make them exist
    (tmp_path / "resources" / "fer2013").mkdir(parents=True)
    for name in ("train.csv.gz", "test.csv.gz"):
        (tmp_path / "resources" / "fer2013" / name).write_bytes(b"")
    (tmp_path / "resources" / "ferplus").mkdir(parents=True)  # and the FER+ votes
    (tmp_path / "resources" / "ferplus" / "fer2013new_training.csv").write_bytes(b"")
    for preset in PRESETS:
        checked(merge(default_config(), yaml.safe_load(preset.read_text())))


def files(tmp_path, *names):
    for name in names:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.suffix:
            path.mkdir(exist_ok=True)
        else:
            path.write_text("")


# Each start-up check: (config override, files to create, the message).
START_CHECKS = [
    (
        {"filters": {"layer": "block3_conv1"}},
        [],
        "filters.layer: the configured CNN has no layer 'block3_conv1' (2 blocks); "
        "its conv layers are block1_conv1, block2_conv1",
    ),
    (
        {"activations": {"layer": "block1_conv2"}},
        [],
        "activations.layer: the configured CNN has no layer 'block1_conv2'",
    ),
    (
        {"filters": {"n_filters": 20}},
        [],
        "filters.n_filters: 20 is more than the 12 filters of block2_conv1 (cnn.blocks[1].filters)",
    ),
    (
        {"synthetic": {"n_test": 0}, "evaluate": {"split": "test"}},
        [],
        "evaluate.split: 'test' needs test labels, but synthetic.n_test is 0",
    ),
    (
        {
            "data": {"format": "label_feature_csv", "train": "in/train.csv", "test": "in/test.csv"},
            "evaluate": {"split": "test"},
        },
        ["in/train.csv", "in/test.csv"],
        "evaluate.split: 'test' needs test labels, but data.test_labels is empty",
    ),
    (
        {"data": {"format": "label_feature_csv", "train": "in/train.csv"}, "evaluate": {"split": "test"}},
        ["in/train.csv"],
        "evaluate.split: 'test' needs test labels, but data.test is empty",
    ),
    (
        {"data": {"format": "folder", "train": "in/train", "test": "in/test"}, "evaluate": {"split": "test"}},
        ["in/train/happy", "in/test/happy", "in/test/loose.png"],
        "evaluate.split: 'test' needs test labels, but in/test has images outside class folders (e.g. loose.png)",
    ),
    (
        {"data": {"format": "label_feature_csv", "train": "in/nope.csv"}},
        [],
        "data.train: in/nope.csv not found",
    ),
    (
        {"data": {"format": "label_feature_csv", "train": "in/train.csv", "test": "in/test.csv.gz"}},
        ["in/train.csv"],
        "data.test: in/test.csv.gz not found",
    ),
    (
        {
            "data": {
                "format": "label_feature_csv",
                "train": "in/train.csv",
                "test": "in/test.csv",
                "test_labels": "in/l.csv",
            }
        },
        ["in/train.csv", "in/test.csv"],
        "data.test_labels: in/l.csv not found",
    ),
    (
        {"data": {"format": "label_feature_csv", "train": "in/train.csv", "test_labels": "in/l.csv"}},
        ["in/train.csv", "in/l.csv"],
        "data.test_labels: given, but data.test is empty",
    ),
    (
        {"data": {"format": "folder", "train": "in/train.csv"}},
        ["in/train.csv"],
        "data.train: in/train.csv is not a folder",
    ),
    (
        {"data": {"format": "label_feature_csv", "train": "in/train"}},
        ["in/train/happy"],
        "data.train: in/train is a folder, format label_feature_csv wants a CSV file",
    ),
    (
        {"cnn": {"blocks": [{**TINY["cnn"]["blocks"][0], "pool": 4}] * 3}},
        [],
        "cnn.blocks[2].pool: the 48x48 image is pooled to nothing by block 3",
    ),
    (
        {"dnn": {"hidden_ratios": [1.0]}},
        [],
        "dnn.hidden_ratios: dnn.hidden_ratios [1.0] cannot be met by a DNN with",
    ),
    (
        {"saliency": {"gradcam_layer": "block3_conv1"}},
        [],
        "saliency.gradcam_layer: the configured CNN has no layer 'block3_conv1' (2 blocks)",
    ),
    (
        {"activations": {"image_index": 43}},
        [],
        "activations.image_index: 43 is past the validation split of the built-in data (43 images, so 0..42)",
    ),
    (
        {"data": {"format": "label_feature_csv", "train": "in/train.csv"}, "train": {"targets": "votes"}},
        ["in/train.csv"],
        "train.targets: votes needs FER+ votes, but data.votes is empty",
    ),
    (
        {"data": {"format": "label_feature_csv", "train": "in/train.csv", "drop_not_faces": True}},
        ["in/train.csv"],
        "data.drop_not_faces: needs FER+ votes, but data.votes is empty",
    ),
    (
        {"data": {"format": "label_feature_csv", "train": "in/train.csv", "votes": "in/v.csv"}},
        ["in/train.csv"],
        "data.votes: in/v.csv not found",
    ),
    (
        {"data": {"format": "folder", "train": "in/train", "votes": "in/v.csv"}},
        ["in/train/happy", "in/v.csv"],
        "data.votes: votes are matched to images by their position in the file, but format folder",
    ),
    # hw3, the old name of label_feature_csv, is checked as that format.
    (
        {
            "data": {"format": "hw3", "train": "in/train.csv", "test": "in/test.csv"},
            "evaluate": {"split": "test"},
        },
        ["in/train.csv", "in/test.csv"],
        "evaluate.split: 'test' needs test labels, but data.test_labels is empty",
    ),
    (
        {"data": {"format": "hw3", "train": "in/train.csv", "test_labels": "in/l.csv"}},
        ["in/train.csv", "in/l.csv"],
        "data.test_labels: given, but data.test is empty",
    ),
]


@pytest.mark.parametrize("override, create, message", START_CHECKS)
def test_start_up_check(tmp_path, monkeypatch, override, create, message):
    monkeypatch.chdir(tmp_path)
    files(tmp_path, *create)
    config = merge(tiny_config(), {"data": {"train": "", "test": "", "test_labels": ""}})
    text = failure(merge(config, override))
    assert text.startswith("Config values that would fail later:\n  "), text
    assert message in text, text


def test_fer2013_ignores_data_test(tmp_path, monkeypatch):
    """A preset's data.test (the label_feature_csv test file) does not matter for fer2013.csv."""
    monkeypatch.chdir(tmp_path)
    files(tmp_path, "fer2013.csv")
    config = tiny_config(
        data={"format": "fer2013", "train": "fer2013.csv", "test": "resources/fer2013/test.csv.gz"},
        evaluate={"split": "test"},
    )
    assert checked(config)["data"]["format"] == "fer2013"


def test_check_dataset_after_the_split():
    ds = data.Dataset(
        x_train=np.zeros((5, 48, 48), np.uint8),
        y_train=np.zeros(5, np.int8),
        x_val=np.zeros((3, 48, 48), np.uint8),
        y_val=np.zeros(3, np.int8),
        x_test=np.zeros((2, 48, 48), np.uint8),
        y_test=np.full(2, -1, np.int8),
        test_ids=np.arange(2),
        train_index=np.arange(5),
        val_index=np.arange(5, 8),
    )
    config_check.check_dataset(ds, 2, "validation")
    with pytest.raises(
        ConfigError, match=r"activations.image_index: 3 is past the validation split \(3 images"
    ):
        config_check.check_dataset(ds, 3, "validation")
    with pytest.raises(ConfigError, match="evaluate.split: 'test' needs test labels, but the 2 test images"):
        config_check.check_dataset(ds, 0, "test")


# ---- through Snakemake: dry runs in a temporary copy ---------------------------------------


@pytest.mark.slow
def test_workflow_start_up_checks(workflow):
    """A dry run stops at start with the short messages (no schema dump)."""
    bad = tiny_config(filters={"layer": "block5_conv1"}, train={"epoch": 3})
    proc = workflow.run("-n", config=bad, check=False)
    assert proc.returncode != 0
    assert "train.epoch: unknown key; did you mean `epochs`?" in proc.output
    assert "$defs" not in proc.output and len(proc.output.splitlines()) < 25, proc.output
    bad = tiny_config(filters={"layer": "block5_conv1"}, evaluate={"split": "test"}, synthetic={"n_test": 0})
    proc = workflow.run("-n", config=bad, check=False)
    assert proc.returncode != 0
    assert "filters.layer: the configured CNN has no layer 'block5_conv1'" in proc.output
    assert "evaluate.split: 'test' needs test labels, but synthetic.n_test is 0" in proc.output
    assert not workflow.path("results").exists()


@pytest.mark.slow
def test_workflow_missing_input_file_is_named_at_start(workflow):
    config = tiny_config(data={"format": "label_feature_csv", "train": "in/nope.csv"})
    proc = workflow.run("-n", config=config, check=False)
    assert proc.returncode != 0
    assert "data.train: in/nope.csv not found" in proc.output


@pytest.mark.slow
def test_config_numbers_on_the_command_line(workflow):
    """--config delivers the values inside braces as strings; they are numbers."""
    workflow.write_config(tiny_config(), "tiny.yaml")
    args = ("-n", "--configfile=tiny.yaml", "--config")
    proc = workflow.run(
        *args, "train={epochs: 3, learning_rate: 1e-3, augment: {enabled: false}}", check=False
    )
    assert proc.returncode == 0, proc.output
    proc = workflow.run(*args, "train={epochs: 0}", check=False)  # compared as a number
    assert proc.returncode != 0
    assert "train.epochs: 0 is less than the minimum of 1" in proc.output


@pytest.mark.slow
def test_image_index_past_the_validation_split_fails_in_split_data(workflow):
    rng = np.random.default_rng(0)
    rows = [f"{i % 7},{' '.join(map(str, rng.integers(0, 256, 2304)))}" for i in range(70)]
    workflow.path("in").mkdir()
    workflow.path("in/train.csv").write_text("label,feature\n" + "\n".join(rows) + "\n")
    config = tiny_config(
        data={"format": "label_feature_csv", "train": "in/train.csv"}, activations={"image_index": 500}
    )
    proc = workflow.run(config=config, check=False)
    assert proc.returncode != 0
    assert "activations.image_index: 500 is past the validation split (7 images, so 0..6)" in proc.output
    assert not workflow.path("results/data/dataset.npz").exists()
    assert not workflow.path("results/models").exists()  # training never started
    # Changing the index does not re-split (or retrain) once the data is split.
    workflow.run("--", "results/data/dataset.npz", config=merge(config, {"activations": {"image_index": 0}}))
    again = merge(config, {"activations": {"image_index": 3}})
    assert workflow.dry_run_jobs("--", "results/data/dataset.npz", config=again) == {}
