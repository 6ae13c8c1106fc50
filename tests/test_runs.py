"""Runs side by side: results_dir keeps each preset's outputs in its own
folder, and compare_runs tabulates every run under results/."""

import pandas as pd
import pytest
import yaml

from conftest import REPO
from fer_workflow.evaluation import runs


def metrics_csv(path, accuracy):
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "model": ["cnn", "dnn"],
            "parameters": [1000, 1010],
            "epochs": [3, 2],
            "val_accuracy": [accuracy, 0.25],
            "val_accuracy_low": [accuracy - 0.05, 0.2],
            "val_accuracy_high": [accuracy + 0.05, 0.3],
            "val_accuracy_flip": [accuracy + 0.01, 0.26],
            "macro_f1": [0.5, 0.1],
            "test_accuracy": [float("nan"), float("nan")],
        }
    ).to_csv(path, index=False)


def test_compare_lists_every_run_under_results(tmp_path):
    root = tmp_path / "results"
    metrics_csv(root / "metrics.csv", 0.9)
    metrics_csv(root / "fer2013-cpu" / "metrics.csv", 0.65)
    (root / "empty").mkdir()  # a folder without a finished run is left out
    found = runs.find(root)
    assert [p.relative_to(root).as_posix() for p in found] == ["metrics.csv", "fer2013-cpu/metrics.csv"]
    table = runs.compare(found, root)
    assert list(table.columns) == runs.COLUMNS
    assert table[["run", "model"]].values.tolist() == [
        ["results", "cnn"],
        ["results", "dnn"],
        ["fer2013-cpu", "cnn"],
        ["fer2013-cpu", "dnn"],
    ]
    assert table["val_accuracy"].tolist() == [0.9, 0.25, 0.65, 0.25]
    text = runs.markdown(table)
    assert "| fer2013-cpu | cnn | 1,000 | 3 | 0.650 [0.600, 0.700] | 0.660 | 0.500 |  |" in text
    assert runs.compare([], root).empty


@pytest.mark.parametrize("name", ["fer2013-cpu", "fer2013-gpu", "hw3-report"])
def test_each_preset_writes_to_its_own_folder(name):
    preset = yaml.safe_load((REPO / "presets" / f"{name}.yaml").read_text())
    assert preset["results_dir"] == f"results/{name}"


@pytest.mark.slow
def test_two_runs_coexist_and_are_compared(completed_tiny_workflow, tmp_path):
    wf = completed_tiny_workflow.clone(tmp_path / "wf")
    before = {p: p.stat().st_mtime_ns for p in wf.path("results").rglob("*") if p.is_file()}
    other = {**wf.config, "results_dir": "results/other", "seed": 7}
    wf.run("--", "results/other/data/dataset.npz", config=other)
    assert wf.path("results/other/data/data_quality.csv").exists()
    assert wf.path("results/other/logs/split_data.log").exists()
    # The first run is untouched and still complete.
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())
    assert "Nothing to be done" in wf.run("-n", config=wf.config).output
    # Every target of the other run lies in its folder.
    planned = wf.run("-n", "--printshellcmds", config=other).output
    assert "results/other/models/cnn.keras" in planned and "results/models/cnn.keras" not in planned
    wf.run("--", "results/runs.md", config=wf.config)
    table = pd.read_csv(wf.path("results/runs.csv"))
    assert table["run"].tolist() == ["results", "results"]  # only the first run has metrics yet
    assert (
        table["val_accuracy"].tolist() == pd.read_csv(wf.path("results/metrics.csv"))["val_accuracy"].tolist()
    )
