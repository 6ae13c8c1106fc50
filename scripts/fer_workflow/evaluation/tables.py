"""Tables as text: the one Markdown table writer and interval format of the
workflow, the Markdown and HTML pages of the metrics table
(results/metrics.md, results/metrics.html) and the sentence for a
most-confused pair. The numbers come from ``fer_workflow.evaluation.metrics``."""

import numpy as np
import pandas as pd

from fer_workflow.evaluation.calibration import METRIC_COLUMNS as CALIBRATION_COLUMNS
from fer_workflow.evaluation.metrics import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED

# --- pairs --------------------------------------------------------------------------------------


def format_percent(rate):
    """0.25 -> '25%'; small rates keep one decimal (0.004 -> '0.4%')."""
    pct = 100 * rate
    return f"{pct:.0f}%" if pct >= 10 or pct == round(pct) else f"{pct:.1f}%"


def pair_sentence(pair):
    """'25% of Disgust predicted as Angry (12 of 48)' for one row of the pairs table."""
    return (
        f"{format_percent(pair['rate'])} of {pair['true_name']} predicted as "
        f"{pair['predicted_name']} ({pair['count']} of {pair['support']})"
    )


# --- table ---------------------------------------------------------------------------------------


def interval(low, high, digits=3):
    """A 95% interval as every table and sentence of the workflow writes it: '[0.909, 0.957]'."""
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def with_interval(value, low, high, digits=3):
    """'0.937 [0.909, 0.957]'; the value alone when the interval is missing (NaN)."""
    if np.isnan(low) or np.isnan(high):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} {interval(low, high, digits)}"


def cell_text(value, digits=3):
    """One table cell: floats rounded to ``digits``, NaN, None and pandas' NA as an empty cell."""
    if value is None or value is pd.NA or (isinstance(value, float | np.floating) and np.isnan(value)):
        return ""
    if isinstance(value, float | np.floating):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(table, digits=3, column_digits=None):
    """A DataFrame as a GitHub Markdown table (floats rounded, NaN as an empty cell):
    the one table writer of the workflow's Markdown pages."""
    column_digits = column_digits or {}
    columns = list(table.columns)
    lines = ["| " + " | ".join(map(str, columns)) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in table.itertuples(index=False):
        cells = (cell_text(v, column_digits.get(c, digits)) for c, v in zip(columns, row, strict=True))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


RECALL_PREFIX = "recall_"


def scores_for_reading(table, digits=3, column_digits=None):
    """The metrics table as a person reads it (all strings): each score that has
    ``<score>_low``/``<score>_high`` columns with its interval in one cell, the
    per-class recalls left for ``recalls_for_reading``, columns with no value
    left out. metrics.csv keeps every column."""
    column_digits = column_digits or {}
    out = {}
    for column in table.columns:
        if (
            column.startswith(RECALL_PREFIX)
            or column.endswith(("_low", "_high"))
            or table[column].isna().all()
        ):
            continue
        d = column_digits.get(column, digits)
        if f"{column}_low" in table.columns and f"{column}_high" in table.columns:
            out[column] = [
                "" if np.isnan(v) else with_interval(v, lo, hi, d)
                for v, lo, hi in zip(
                    table[column], table[f"{column}_low"], table[f"{column}_high"], strict=True
                )
            ]
        else:
            out[column] = [cell_text(v, d) for v in table[column]]
    return pd.DataFrame(out, index=table.index)


def recalls_for_reading(table, digits=3):
    """Each model's recall of each class (validation), one column per class; None without recalls."""
    columns = [c for c in table.columns if c.startswith(RECALL_PREFIX)]
    if not columns:
        return None
    out = {"model": table["model"].astype(str)} if "model" in table.columns else {}
    for column in columns:
        out[column[len(RECALL_PREFIX) :]] = [cell_text(v, digits) for v in table[column]]
    return pd.DataFrame(out, index=table.index)


EPOCH_NOTE = (
    "kept_epoch: the epoch whose weights are scored; epoch_chosen_on: validation when it was "
    "chosen as the epoch of highest validation accuracy (early stopping restored it: the validation "
    "scores are then optimistic), none when it was the last of a number of epochs fixed in advance."
)

INTERVAL_NOTE = (
    f"95% intervals in brackets: Wilson score interval for accuracies, percentile bootstrap "
    f"over images ({BOOTSTRAP_RESAMPLES} resamples, seed {BOOTSTRAP_SEED}) for macro-F1; "
    "plain predictions (no flip TTA)."
)

RECALL_HEADING = "Recall per class (validation)"
COLUMN_DIGITS = {"train_seconds": 1}


def has_intervals(table):
    return any(c.endswith("_low") for c in table.columns)


CALIBRATION_NOTE = (
    "Temperature scaling (Guo et al. 2017): one temperature T per model, fitted on the validation "
    "split (plain predictions); ECE, the expected calibration error (15 confidence bins), before and "
    "after dividing the logits by T. On validation the ECE after is optimistic (that split fitted T); "
    "test columns are empty where the test labels are unknown. The labels do not change."
)


def split_calibration(table):
    """(the table without the calibration columns, the calibration table or None)."""
    present = [c for c in CALIBRATION_COLUMNS if c in table.columns]
    if not present:
        return table, None
    return table.drop(columns=present), table[["model", *present]]


def metrics_markdown(table, pairs_by_model):
    """metrics.md: the scores (point and interval in one cell), the per-class
    recalls, then each model's most-confused pairs as sentences."""
    table, calibrated = split_calibration(table)
    parts = ["# Metrics", "", markdown_table(scores_for_reading(table, column_digits=COLUMN_DIGITS)), ""]
    if "kept_epoch" in table.columns:
        parts += [EPOCH_NOTE, ""]
    if has_intervals(table):
        parts += [INTERVAL_NOTE, ""]
    recalls = recalls_for_reading(table)
    if recalls is not None:
        parts += [f"## {RECALL_HEADING}", "", markdown_table(recalls), ""]
    if calibrated is not None:
        parts += ["## Calibration", "", markdown_table(calibrated), "", CALIBRATION_NOTE, ""]
    for model, pairs in pairs_by_model.items():
        split = pairs["split"].iloc[0] if len(pairs) else "validation"
        parts.append(f"## Most-confused pairs: {model} ({split})")
        parts.append("")
        if len(pairs) == 0:
            parts.append("No class was confused with another.")
        parts += [f"{int(pair['rank'])}. {pair_sentence(pair)}" for _, pair in pairs.iterrows()]
        parts.append("")
    return "\n".join(parts)


HTML_STYLE = """
body { font-family: sans-serif; margin: 1em; color: #222; }
table { border-collapse: collapse; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th { background: #f0f0f0; }
td:first-child, th:first-child { text-align: left; font-weight: bold; }
"""


def metrics_html(table, pairs_by_model):
    """metrics.html: the same content as metrics.md as one small page, so the
    HTML report shows the tables in place (it embeds HTML results in the page)."""
    table, calibrated = split_calibration(table)
    parts = [f"<html><head><meta charset='utf-8'><style>{HTML_STYLE}</style></head><body>"]
    scores = scores_for_reading(table, column_digits=COLUMN_DIGITS)
    parts += ["<h2>Metrics</h2>", scores.to_html(index=False, border=0)]
    if "kept_epoch" in table.columns:
        parts.append(f"<p>{EPOCH_NOTE}</p>")
    if has_intervals(table):
        parts.append(f"<p>{INTERVAL_NOTE}</p>")
    recalls = recalls_for_reading(table)
    if recalls is not None:
        parts += [f"<h3>{RECALL_HEADING}</h3>", recalls.to_html(index=False, border=0)]
    if calibrated is not None:
        shown = calibrated.round(3).astype(object).where(calibrated.notna(), "")
        parts += ["<h3>Calibration</h3>", shown.to_html(index=False, border=0), f"<p>{CALIBRATION_NOTE}</p>"]
    for model, pairs in pairs_by_model.items():
        split = pairs["split"].iloc[0] if len(pairs) else "validation"
        parts.append(f"<h3>Most-confused pairs: {model} ({split})</h3><ol>")
        parts += [f"<li>{pair_sentence(pair)}</li>" for _, pair in pairs.iterrows()]
        parts.append("</ol>" if len(pairs) else "</ol><p>No class was confused with another.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
