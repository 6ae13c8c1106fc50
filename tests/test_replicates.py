"""Replicate seeds: the aggregate table against hand-computed numbers, the DAG
(one training job per model and seed, one aggregation), and a tiny run."""

import re

import numpy as np
import pandas as pd
import pytest
import yaml
from snakemake.utils import validate

from conftest import REPO, default_config, merge, tiny_config
from fer_workflow.evaluation import replicates
from fer_workflow.plots import replicates as replicate_plots
from fer_workflow.plots import save

# t(0.975, 2), from a t table: the 95% interval of a mean over 3 seeds is mean +- T2 * std / sqrt(3).
T2 = 4.302653

PER_SEED = [
    {"model": "cnn", "seed": 1, "val_accuracy": 0.60, "val_macro_f1": 0.5},
    {"model": "cnn", "seed": 2, "val_accuracy": 0.62, "val_macro_f1": 0.5},
    {"model": "cnn", "seed": 3, "val_accuracy": 0.64, "val_macro_f1": 0.5},
    {"model": "dnn", "seed": 1, "val_accuracy": 0.40, "val_macro_f1": 0.2},
    {"model": "dnn", "seed": 2, "val_accuracy": 0.38, "val_macro_f1": 0.3},
    {"model": "dnn", "seed": 3, "val_accuracy": 0.42, "val_macro_f1": 0.4},
]


def test_seed_row_scores_one_replicate():
    row = replicates.seed_row("dnn", 7, [0, 0, 1, 1], [0, 1, 1, 1])
    assert row["model"] == "dnn" and row["seed"] == 7
    assert row["val_accuracy"] == pytest.approx(0.75)
    # F1: class 0 2*1/(2*1+0+1) = 2/3, class 1 2*2/(2*2+1+0) = 4/5.
    assert row["val_macro_f1"] == pytest.approx((2 / 3 + 4 / 5) / 2)


def test_t_interval_hand_computed():
    mean, std, low, high = replicates.t_interval([0.20, 0.24, 0.22])
    half = T2 * 0.02 / np.sqrt(3)  # 0.049683
    assert (mean, std) == pytest.approx((0.22, 0.02))
    assert (low, high) == pytest.approx((0.22 - half, 0.22 + half), rel=1e-6)
    mean, std, low, high = replicates.t_interval([0.5])
    assert mean == 0.5 and np.isnan(std) and np.isnan(low) and np.isnan(high)


def test_aggregate_table_hand_computed():
    table = replicates.aggregate(PER_SEED)
    assert list(table.columns) == replicates.COLUMNS
    seeds = table[table["statistic"] == "seed"]
    assert len(seeds) == 9  # 3 per model and 3 paired differences
    diff = seeds[seeds["model"] == "cnn - dnn"].set_index("seed")
    np.testing.assert_allclose(diff["val_accuracy"].loc[[1, 2, 3]], [0.20, 0.24, 0.22])
    np.testing.assert_allclose(diff["val_macro_f1"].loc[[1, 2, 3]], [0.3, 0.2, 0.1])

    half_acc = T2 * 0.02 / np.sqrt(3)  # std 0.02 for cnn, dnn and the difference
    half_f1 = T2 * 0.1 / np.sqrt(3)  # 0.248414
    expected = {
        ("cnn", "val_accuracy"): (0.62, 0.02, 0.62 - half_acc, 0.62 + half_acc),
        ("dnn", "val_accuracy"): (0.40, 0.02, 0.40 - half_acc, 0.40 + half_acc),
        ("cnn - dnn", "val_accuracy"): (0.22, 0.02, 0.22 - half_acc, 0.22 + half_acc),
        ("cnn", "val_macro_f1"): (0.5, 0.0, 0.5, 0.5),
        ("dnn", "val_macro_f1"): (0.3, 0.1, 0.3 - half_f1, 0.3 + half_f1),
        ("cnn - dnn", "val_macro_f1"): (0.2, 0.1, 0.2 - half_f1, 0.2 + half_f1),
    }
    for (model, score), values in expected.items():
        assert replicates.summary(table, model, score) == pytest.approx(values, rel=1e-6, abs=1e-12), (
            model,
            score,
        )
    # The macro-F1 difference interval straddles 0, the accuracy one does not.
    assert replicates.summary(table, "cnn - dnn", "val_macro_f1")[2] < 0
    assert replicates.summary(table, "cnn - dnn", "val_accuracy")[2] > 0


def test_aggregate_rejects_unpaired_seeds():
    with pytest.raises(ValueError, match="same seeds"):
        replicates.aggregate(PER_SEED[:-1])


def test_markdown_and_csv_and_figure(tmp_path):
    table = replicates.aggregate(PER_SEED)
    text = replicates.markdown(table)
    assert "| seed | cnn val_accuracy | dnn val_accuracy | cnn - dnn val_accuracy |" in text
    assert "| 2 | 0.6200 | 0.3800 | 0.2400 | 0.5000 | 0.3000 | 0.2000 |" in text
    assert "- cnn - dnn: val_accuracy 0.2200 ± 0.0200 [0.1703, 0.2697]" in text
    table.to_csv(tmp_path / "r.csv", index=False)
    back = pd.read_csv(tmp_path / "r.csv")
    assert back["statistic"].tolist().count("seed") == 9 and back["seed"].isna().sum() == 12
    fig = replicate_plots.replicates_figure(table)
    assert [ax.get_title().splitlines()[1] for ax in fig.axes] == [
        "cnn - dnn: +0.220 [+0.170, +0.270]",
        "cnn - dnn: +0.200 [-0.048, +0.448]",
    ]
    save(fig, tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 10_000


def test_one_seed_gives_the_mean_and_says_why_there_is_no_interval(tmp_path):
    """replicates.seeds: [1] is valid: the table and figure show the one seed's scores, not 'nan'."""
    table = replicates.aggregate([r for r in PER_SEED if r["seed"] == 1])
    text = replicates.markdown(table)
    assert "nan" not in text.lower()
    assert "trained with 1 seed (" in text
    assert "- cnn - dnn: val_accuracy 0.2000 (one seed: no spread or interval)" in text
    fig = replicate_plots.replicates_figure(table)
    assert fig.axes[0].get_title().splitlines()[1] == "cnn - dnn: +0.200 (one seed)"
    assert "nan" not in fig._suptitle.get_text()


@pytest.mark.parametrize("presets", [["fer2013-cpu.yaml", "fer2013-replicates.yaml"], ["fer2013-gpu.yaml"]])
def test_replicate_presets_validate_and_list_three_seeds(presets):
    config = default_config()
    for preset in presets:
        config = merge(config, yaml.safe_load((REPO / "presets" / preset).read_text()))
    validate(config, str(REPO / "config.schema.yaml"))
    assert len(config["replicates"]["seeds"]) == 3
    assert default_config()["replicates"]["seeds"] == []


def test_schema_rejects_bad_seeds():
    for seeds in ([1, 1], [-1], ["a"], 3):
        with pytest.raises(Exception, match="replicates|seeds"):
            validate(
                merge(default_config(), {"replicates": {"seeds": seeds}}), str(REPO / "config.schema.yaml")
            )


def test_dry_run_has_one_training_job_per_model_and_seed(workflow):
    jobs = workflow.dry_run_jobs(config=tiny_config(replicates={"seeds": [3, 7]}))
    assert jobs["train_replicate"] == 4 and jobs["predict_replicate"] == 4
    assert jobs["aggregate_replicates"] == 1
    assert jobs["train_model"] == 2  # the main models (seed) are still trained once each
    out = workflow.run("-n", "results/replicates.csv", config=tiny_config(replicates={"seeds": [3, 7]}))
    for model in ("cnn", "dnn"):
        for seed in (3, 7):
            assert f"results/replicates/{model}_seed{seed}.keras" in out.output
    # The findings state the seeds' paired difference too: write_findings reads the replicate table.
    out = workflow.run("-n", "-p", "results/findings.csv", config=tiny_config(replicates={"seeds": [3, 7]}))
    findings_job = out.output.split("rule write_findings:", 1)[1].split("\n\n", 1)[0]
    assert "results/replicates.csv" in findings_job
    # Without seeds the default target asks for no replicate.
    jobs = workflow.dry_run_jobs(config=tiny_config())
    assert "train_replicate" not in jobs and "aggregate_replicates" not in jobs


@pytest.mark.slow
def test_tiny_replicate_run(completed_tiny_workflow, tmp_path):
    # A copy of the shared tiny run: its data is split already; the seeds train their own models.
    workflow = completed_tiny_workflow.clone(tmp_path / "wf")
    config = merge(workflow.config, {"replicates": {"seeds": [1, 2]}, "train": {"epochs": 1}})
    workflow.run("results/replicates.csv", "results/figures/replicates.png", config=config)
    table = pd.read_csv(workflow.path("results/replicates.csv"))
    seeds = table[table["statistic"] == "seed"]
    assert sorted(zip(seeds["model"], seeds["seed"], strict=True)) == [
        ("cnn", 1),
        ("cnn", 2),
        ("cnn - dnn", 1),
        ("cnn - dnn", 2),
        ("dnn", 1),
        ("dnn", 2),
    ]
    for model in ("cnn", "dnn"):
        # Each seed trained its own model from the same recipe.
        h1, h2 = (
            pd.read_csv(workflow.path(f"results/replicates/{model}_seed{s}.history.csv")) for s in (1, 2)
        )
        assert len(h1) == len(h2) == 1 and h1["loss"].iloc[0] != h2["loss"].iloc[0]
        # The replicate's val accuracy is the one its history recorded for the kept epoch.
        row = seeds[(seeds["model"] == model) & (seeds["seed"] == 1)].iloc[0]
        assert row["val_accuracy"] == pytest.approx(h1["val_accuracy"].iloc[0], abs=1e-6)
    assert (workflow.path("results/figures/replicates.png")).stat().st_size > 10_000
    assert "cnn - dnn" in workflow.path("results/replicates.md").read_text()


def test_slurm_profile_gives_replicates_the_training_resources(workflow):
    """A dry run with profiles/slurm: each train_replicate job asks what train_model asks."""
    config = tiny_config(replicates={"seeds": [5]})
    proc = workflow.run("--profile", "profiles/slurm", "-n", "results/replicates.csv", config=config, cores=4)
    resources, rule = {}, None
    for line in proc.output.splitlines():
        if match := re.match(r"(?:local)?rule (\w+):$", line.strip()):
            rule = match.group(1)
        elif line.strip().startswith("resources:"):
            resources[rule] = dict(re.findall(r"(\w+)=([^,\s]+)", line))
    train = resources["train_replicate"]
    assert (train["cpus_per_task"], train["gpu"], train["mem_mb"], train["runtime"]) == (
        "4",
        "1",
        "8000",
        "480",
    )
