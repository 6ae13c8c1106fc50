"""Every rule of the workflow in reduced precision: a float16 CNN with XLA
(the GPU presets' switches) and a bfloat16 DNN (the CPU preset's on a CPU
with bfloat16 units). A file of its own, so that the second test worker
runs it beside test_explain_workflow once the shared tiny run exists."""

import re

import numpy as np
import pandas as pd
import pytest
from test_explain_workflow import check_filter_classes, explain_rules

from conftest import merge
from fer_workflow import models

pytestmark = pytest.mark.slow


def test_every_rule_runs_with_the_gpu_switches_and_bfloat16(completed_tiny_workflow, tmp_path):
    """The GPU presets train with mixed_float16 and XLA, the CPU preset with
    bfloat16 where the CPU has it; every rule of the workflow must work with
    those switches, on CPU too (RandomAffine once crashed in float16 training,
    plot_filters on the saved float16 and bfloat16 models).

    One copy of the shared tiny run (and one epoch, enough to train in that
    precision) with both: the CNN, which every explanation rule reads, in
    float16 with XLA (the GPU switches, where half precision is the most
    fragile: gradients of saliency and filter ascent); the DNN in bfloat16.
    A bfloat16 CNN's pieces are tested one by one: its training with the
    augmentation under XLA (test_augment), its layers (test_layers), filter
    ascent and classes on the saved model (test_filters). The data rules do
    not read the recipe and stay done; train_model and every rule after it
    runs again."""

    wf = completed_tiny_workflow.clone(tmp_path / "wf")
    # What the copy skips is only what training does not feed (the data rules):
    # what runs is all that --forcerun train_model plans.
    forced = wf.run("-n", "--forcerun", "train_model", config=wf.config).output
    config = merge(
        wf.config,
        {
            "train": {"epochs": 1},
            "train_overrides": {
                "cnn": {"mixed_precision": True, "jit_compile": True},
                "dnn": {"mixed_precision": "bfloat16"},
            },
        },
    )
    planned = set(re.findall(r"^rule (\w+):", wf.run("-n", config=config).output, flags=re.MULTILINE))
    proc = wf.run(config=config)
    ran = set(re.findall(r"^(?:local)?rule (\w+):", proc.output, flags=re.MULTILINE))
    assert explain_rules() <= planned and {"train_model", "write_submission"} <= planned
    assert planned <= ran
    assert planned == set(re.findall(r"^rule (\w+):", forced, flags=re.MULTILINE))
    for name, dtype in (("cnn", "float16"), ("dnn", "bfloat16")):
        model = models.load_model(wf.path(f"results/models/{name}.keras"))
        first = next(layer for layer in model.layers if type(layer).__name__ in ("Conv2D", "Dense"))
        assert first.compute_dtype == dtype, name
    layer = config["filters"]["layer"]
    table = pd.read_csv(wf.path(f"results/eval/filter_classes_{layer}.csv"))
    check_filter_classes(table, config["filters"]["n_filters"])
    metrics = pd.read_csv(wf.path("results/metrics.csv"))
    assert metrics["val_accuracy"].between(0, 1).all()
    table = pd.read_csv(wf.path("results/eval/faithfulness.csv"))
    # Every method with a non-constant map on some face has its AUCs (and random always).
    scored = table[table["n_valid"] > 0]
    assert scored["method"].iloc[-1] == "random"
    assert np.isfinite(scored[["deletion_auc", "insertion_auc"]]).all().all()
