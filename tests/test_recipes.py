"""Each model's recipe: ``train`` with that model's ``train_overrides`` merged
over it, and nothing else changed."""

import copy

from conftest import default_config, tiny_config
from fer_workflow import recipes


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
