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
    lines = [
        "| run | model | parameters | epochs | val. accuracy (95% CI) | with flip TTA | macro-F1 | test accuracy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples():
        test = "" if pd.isna(row.test_accuracy) else f"{row.test_accuracy:.3f}"
        lines.append(
            f"| {row.run} | {row.model} | {row.parameters:,} | {row.epochs} | {row.val_accuracy:.3f} "
            f"({row.val_accuracy_low:.3f}-{row.val_accuracy_high:.3f}) | {row.val_accuracy_flip:.3f} | "
            f"{row.macro_f1:.3f} | {test} |"
        )
    return "\n".join(lines) + "\n"
