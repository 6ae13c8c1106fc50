"""`snakemake --dag` and `--rulegraph` work for every supported data format."""

import pandas as pd
import pytest

from conftest import merge, tiny_config
from fer_workflow.models import recipes, record

FORMATS = {
    "synthetic": {},
    "label_feature_csv": {"train": "in/train.csv.gz", "test": "in/test.csv.gz"},
    "fer2013": {"train": "in/fer2013.csv"},
    "folder": {"train": "in/train", "test": "in/test"},
    "label_feature_csv-no-test": {"train": "in/train.csv"},
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_dag_and_rulegraph(workflow, fmt):
    paths = FORMATS[fmt]
    for rel in paths.values():  # the DAG needs the inputs to exist, not to be valid
        target = workflow.path(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.mkdir() if "." not in target.name else target.write_text("")
    config = tiny_config(data={"format": fmt.split("-")[0], **paths})

    rulegraph = workflow.run("--rulegraph", config=config).stdout
    assert rulegraph.startswith("digraph")
    for rule in ["read_data", "split_data", "train_model", "metrics_table", "plot_saliency", "all"]:
        assert f'label = "{rule}"' in rulegraph, rule
    assert ('label = "generate_synthetic"' in rulegraph) == (fmt == "synthetic")
    # Without test data there is nothing to predict.
    assert ('label = "write_submission"' in rulegraph) == (fmt != "label_feature_csv-no-test")

    dag = workflow.run("--dag", config=config).stdout
    assert dag.startswith("digraph")
    assert "model: cnn" in dag and "model: dnn" in dag


@pytest.mark.slow
def test_a_recipe_override_retrains_its_model_alone(completed_tiny_workflow, tmp_path):
    """train_overrides.dnn is a parameter of the DNN's training only (and of what
    reads the DNN); the CNN's model is not stale. (A copy of the shared tiny
    run: both models are trained there, with TINY's 2 epochs.)"""
    workflow = completed_tiny_workflow.clone(tmp_path / "wf")
    config = workflow.config
    models = ["results/models/cnn.json", "results/models/dnn.json"]
    figures = [f"results/figures/architecture_{m}.png" for m in ("cnn", "dnn")]
    targets = ["--", *models, *figures, "results/figures/learning_curves.png"]
    assert workflow.dry_run_jobs(*targets, config=config) == {}
    dnn_recipe = {"learning_rate": 0.01, "augment": {"enabled": False}, "early_stopping": {"patience": 0}}
    changed = merge(config, {"train_overrides": {"dnn": dnn_recipe}})
    assert workflow.dry_run_jobs(*targets, config=changed) == {
        "train_model": 1,
        "plot_architecture": 1,
        "plot_learning_curves": 1,
    }
    assert workflow.dry_run_jobs("--", models[0], config=changed) == {}
    assert workflow.dry_run_jobs("--", models[1], config=changed) == {"train_model": 1}
    # The CNN's own override retrains the CNN; the DNN's size follows the CNN's
    # architecture, not its recipe, so the DNN stays.
    cnn_changed = merge(config, {"train_overrides": {"cnn": {"label_smoothing": 0.1}}})
    assert workflow.dry_run_jobs("--", models[0], config=cnn_changed) == {"train_model": 1}
    assert workflow.dry_run_jobs("--", models[1], config=cnn_changed) == {}

    cnn_before = workflow.path("results/models/cnn.keras").stat().st_mtime_ns
    workflow.run(*targets, config=changed)
    assert workflow.path("results/models/cnn.keras").stat().st_mtime_ns == cnn_before
    cnn, dnn = (record.read(workflow.path(path)) for path in models)
    assert cnn["recipe"] == recipes.recipe(changed, "cnn") == changed["train"]
    assert dnn["recipe"] == recipes.recipe(changed, "dnn")
    assert dnn["recipe"]["learning_rate"] == 0.01 and dnn["recipe"]["augment"]["enabled"] is False
    # The CNN's early stopping restored its best epoch (the best validation
    # accuracy of its history); the DNN's recipe has none: its last epoch.
    history = pd.read_csv(workflow.path("results/models/cnn.history.csv"))
    best = int(history["epoch"][history["val_accuracy"].idxmax()])
    assert (cnn["kept_epoch"], cnn["epoch_chosen_on"]) == (best, "validation")
    epochs = config["train"]["epochs"]
    assert (dnn["epochs"], dnn["kept_epoch"], dnn["epoch_chosen_on"]) == (epochs, epochs, "none")
    assert workflow.dry_run_jobs(*targets, config=changed) == {}
