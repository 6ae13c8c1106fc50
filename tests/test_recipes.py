"""Each model's recipe: ``train`` with that model's ``train_overrides`` merged
over it, and nothing else changed."""

import copy
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, default_config, tiny_config
from fer_workflow.data.readers import Raw
from fer_workflow.models import recipes


def test_without_overrides_both_models_train_with_train():
    config = default_config()
    assert config["train_overrides"] == {"cnn": {}, "dnn": {}}  # the default: no override
    for model in ("cnn", "dnn"):
        assert recipes.recipe(config, model) == config["train"]
    del config["train_overrides"]  # a config written before the key existed
    assert recipes.recipe(config, "dnn") == config["train"]


def test_an_override_changes_its_model_only_and_merges_groups_key_by_key():
    config = tiny_config(train_overrides={"dnn": {"learning_rate": 0.01, "augment": {"enabled": False}}})
    before = copy.deepcopy(config)
    dnn, cnn = recipes.recipe(config, "dnn"), recipes.recipe(config, "cnn")
    assert cnn == config["train"]
    assert dnn["learning_rate"] == 0.01 and dnn["augment"] == {**config["train"]["augment"], "enabled": False}
    assert {k: v for k, v in dnn.items() if k not in ("learning_rate", "augment")} == {
        k: v for k, v in config["train"].items() if k not in ("learning_rate", "augment")
    }
    assert list(dnn) == list(config["train"])  # same key order: unchanged params stay unchanged
    dnn["augment"]["flip"] = False  # a new dict: the config is left as it was
    assert config == before


@pytest.mark.slow
def test_train_preset_trains_the_dnn_with_the_dnns_recipe(tmp_path):
    rng = np.random.default_rng(0)
    empty = np.zeros((0, 48, 48), np.uint8)
    x, y = rng.integers(0, 256, (70, 48, 48)).astype(np.uint8), (np.arange(70) % 7).astype(np.int8)
    Raw(x, y, empty, np.zeros(0, np.int8), np.zeros(0, np.int64)).save(tmp_path / "raw.npz")
    label = f"test-recipes-{os.getpid()}"
    sets = ["train.mixed_precision=false", "train_overrides.dnn.learning_rate=0.0123"]
    cmd = [sys.executable, "benchmarks/train_preset.py", "--raw", str(tmp_path / "raw.npz"), "--model", "dnn"]
    cmd += ["--epochs", "1", "--threads", "2", "--label", label, *(f"--set={s}" for s in sets)]
    try:
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    finally:
        shutil.rmtree(f"/tmp/train_preset_{label}", ignore_errors=True)  # its backup folder
    assert proc.returncode == 0, proc.stderr[-3000:]
    # The epoch line shows the rate it trained at: the DNN's, not train's 0.002.
    assert "epoch 1/1" in proc.stdout and "lr 0.0123" in proc.stdout, proc.stdout
    result = json.loads(proc.stdout.split("RESULT ", 1)[1])
    assert (result["kept_epoch"], result["epoch_chosen_on"]) == (1, "validation")  # early stopping is on
