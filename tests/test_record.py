"""A trained model's record: written with the model's real facts, read back
whole, and a missing or garbled record is an error that names the file."""

import json

import pandas as pd
import pytest

from conftest import default_config
from fer_workflow.models import recipes, record

HISTORY = pd.DataFrame(
    {
        "epoch": [1, 2, 3, 4],
        "loss": [2.0, 1.5, 1.2, 1.1],
        "accuracy": [0.2, 0.3, 0.4, 0.5],
        "val_loss": [2.0, 1.6, 1.4, 1.5],
        "val_accuracy": [0.2, 0.35, 0.4, 0.38],
        "learning_rate": [1e-3] * 4,
        "seconds": [10.0, 9.5, 9.5, 11.25],
    }
)
# The DNN's recipe with an override, as train_model gets it.
RECIPE = recipes.recipe(
    {**default_config(), "train_overrides": {"dnn": {"learning_rate": 0.01, "augment": {"enabled": False}}}},
    "dnn",
)


def test_history_stats_of_a_run_whose_best_epoch_was_restored():
    # Early stopping restored epoch 3 (the best val_accuracy) after epoch 4:
    # the saved weights are epoch 3's, chosen on the validation split.
    assert record.history_stats(HISTORY, restored_best=True) == {
        "epochs": 4,
        "kept_epoch": 3,
        "epoch_chosen_on": "validation",
        "best_val_epoch": 3,
        "train_seconds": 40.25,
    }
    with pytest.raises(ValueError, match="history is empty"):
        record.history_stats(HISTORY.iloc[:0], restored_best=True)


def test_history_stats_of_a_fixed_number_of_epochs():
    # No early stopping: the last epoch is saved, fixed in advance; the best
    # validation epoch is still recorded, under its own name.
    stats = record.history_stats(HISTORY, restored_best=False)
    assert (stats["kept_epoch"], stats["epoch_chosen_on"], stats["best_val_epoch"]) == (4, "none", 3)
    # Ties: the first of the best epochs, as early stopping counts only a gain.
    tied = HISTORY.assign(val_accuracy=[0.2, 0.4, 0.4, 0.3])
    assert record.history_stats(tied, restored_best=True)["kept_epoch"] == 2


def test_record_of_a_dnn_holds_its_facts(tmp_path):
    from fer_workflow import models

    widths = [10, 5]
    model = models.build_dnn(widths, {"batch_norm": True, "dropout": 0.0})
    dnn = {"hidden_widths": widths, "hidden_ratios": [1.0, 0.5], "matched_to_cnn_parameters": 23_000}
    facts = record.facts(
        model,
        HISTORY,
        restored_best=False,
        flops=models.count_flops(model),
        precision_policy="float32",
        seed=7,
        recipe=RECIPE,
        dnn=dnn,
    )
    assert list(facts)[: len(record.FIELDS)] == record.FIELDS
    # 2304 -> 10 -> 5 -> 7 dense layers; batch norm after each hidden one (moving
    # statistics not trainable); no bias before batch norm.
    parameters = 2304 * 10 + 4 * 10 + 10 * 5 + 4 * 5 + 5 * 7 + 7
    assert facts["parameters"] == model.count_params() == parameters
    assert facts["trainable_parameters"] == parameters - 2 * (10 + 5)
    assert facts["flops"] == 2 * (2304 * 10 + 10 * 5 + 5 * 7)
    assert facts["widths"] == {"dense1": 10, "dense2": 5, "logits": 7}
    assert (facts["epochs"], facts["kept_epoch"], facts["epoch_chosen_on"]) == (4, 4, "none")
    assert (facts["best_val_epoch"], facts["train_seconds"]) == (3, 40.25)
    assert facts["precision_policy"] == "float32" and facts["seed"] == 7 and facts["model"] == "dnn"
    # The recipe it trained with, overrides merged in, for a reader to compare with the CNN's.
    assert facts["recipe"] == RECIPE and facts["recipe"]["learning_rate"] == 0.01

    path = tmp_path / "dnn.json"
    record.write(facts, path)
    assert record.read(path) == facts
    assert json.loads(path.read_text())["dnn"]["hidden_widths"] == [10, 5]


def test_record_of_a_cnn_lists_its_conv_widths():
    from fer_workflow import models

    cnn = {
        "blocks": [
            {"filters": 4, "convs": 2, "kernel": 3, "batch_norm": True, "pool": 2, "dropout": 0.0},
            {"filters": 6, "convs": 1, "kernel": 3, "batch_norm": False, "pool": 2, "dropout": 0.0},
        ],
        "separable": True,
        "head_pool": "avg",
        "dense": [8],
        "dense_dropout": 0.0,
    }
    model = models.build_cnn(cnn)
    recipe = default_config()["train"]
    facts = record.facts(
        model,
        HISTORY,
        restored_best=True,
        flops=123,
        precision_policy="mixed_bfloat16",
        seed=0,
        recipe=recipe,
    )
    assert (facts["kept_epoch"], facts["epoch_chosen_on"]) == (3, "validation")
    assert facts["widths"] == {
        "block1_conv1": 4,
        "block1_conv2": 4,
        "block2_conv1": 6,
        "dense1": 8,
        "logits": 7,
    }
    assert facts["flops"] == 123 and facts["precision_policy"] == "mixed_bfloat16"
    assert "dnn" not in facts


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("parameters: 1234\n", "invalid JSON"),
        ("[1, 2]", "a JSON object expected"),
        ('{"model": "cnn", "parameters": 1234}', "no trainable_parameters, flops"),
        (None, "parameters not whole numbers"),
        ("chosen_on", "epoch_chosen_on 'early', not one of validation, none"),
    ],
)
def test_a_garbled_record_names_the_file(tmp_path, text, reason):
    path = tmp_path / "cnn.json"
    if text is None:  # every field, but the count is text
        path.write_text(json.dumps({**dict.fromkeys(record.FIELDS, 1), "parameters": "1,234"}))
    elif text == "chosen_on":  # every field right but what chose the kept epoch
        path.write_text(json.dumps({**dict.fromkeys(record.FIELDS, 1), "epoch_chosen_on": "early"}))
    else:
        path.write_text(text)
    with pytest.raises(ValueError, match="not a model record") as error:
        record.read(path)
    assert str(path) in str(error.value) and reason in str(error.value)


def test_a_missing_record_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="cnn.json"):
        record.read(tmp_path / "cnn.json")
