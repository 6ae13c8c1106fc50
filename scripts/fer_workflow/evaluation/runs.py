"""Runs side by side: every run under ``results/`` (the built-in run in
``results/`` itself, each preset in ``results/<preset>/``) has its own
``metrics.csv``; ``compare`` puts their rows in one table."""

from pathlib import Path

import pandas as pd

# Columns of the comparison, in order (those a run's metrics.csv lacks stay empty).
COLUMNS = [
    "run",
    "model",
    "parameters",
    "epochs",
    "val_accuracy",
    "val_accuracy_low",
    "val_accuracy_high",
    "val_accuracy_flip",
    "macro_f1",
    "test_accuracy",
]


def find(root="results"):
    """The metrics tables of the run in ``root`` and of the runs one folder below it."""
    root = Path(root)
    return [p for p in [root / "metrics.csv", *sorted(root.glob("*/metrics.csv"))] if p.exists()]


def compare(paths, root="results"):
    """One row per (run, model); ``run`` is the folder relative to ``root``
    (``results`` itself for the built-in run)."""
    frames = []
    for path in map(Path, paths):
        table = pd.read_csv(path)
        name = path.parent.relative_to(root).as_posix() if path.parent != Path(root) else Path(root).name
        frames.append(table.assign(run=name))
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True).reindex(columns=COLUMNS)


def markdown(table):
    """The comparison as a Markdown table: accuracy with its 95% interval."""
    # Imported here: tables imports scipy (through metrics), and the Snakefile
    # imports this module (for find) at every start, dry runs included.
    from fer_workflow.evaluation import tables  # scipy: only where the table is made

    shown = pd.DataFrame(
        {
            "run": table["run"],
            "model": table["model"],
            "parameters": [f"{p:,}" for p in table["parameters"]],
            "epochs": table["epochs"],
            "val. accuracy (95% CI)": [
                tables.with_interval(v, lo, hi)
                for v, lo, hi in zip(
                    table["val_accuracy"], table["val_accuracy_low"], table["val_accuracy_high"], strict=True
                )
            ],
            "with flip TTA": table["val_accuracy_flip"],
            "macro-F1": table["macro_f1"],
            "test accuracy": table["test_accuracy"],
        }
    )
    return tables.markdown_table(shown) + "\n"
