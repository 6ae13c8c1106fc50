"""The metrics as text: the Markdown and HTML pages of the metrics table
(results/metrics.md, results/metrics.html) and the sentence for a
most-confused pair. The numbers come from ``fer_workflow.metrics``."""

import numpy as np

from .calibration import METRIC_COLUMNS as CALIBRATION_COLUMNS
from .metrics import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED

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


# --- table --------------------------------------------------------------------------------------


def markdown_table(table, digits=3, column_digits=None):
    """A DataFrame as a GitHub Markdown table (floats rounded, NaN as an empty cell)."""
    column_digits = column_digits or {}

    def cell(column, value):
        if isinstance(value, float | np.floating):
            return "" if np.isnan(value) else f"{value:.{column_digits.get(column, digits)}f}"
        return str(value)

    columns = list(table.columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(cell(c, v) for c, v in zip(columns, row, strict=True)) + " |")
    return "\n".join(lines)


def _with_interval(row, column, what):
    """'validation accuracy 0.947 [0.931, 0.960]', or None when the column is missing or NaN."""
    value = row.get(column, float("nan"))
    if value is None or np.isnan(value):
        return None
    return f"{what} {value:.3f} [{row[f'{column}_low']:.3f}, {row[f'{column}_high']:.3f}]"


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


def interval_sentences(table):
    """One line per model with each score and its 95% interval (empty if the table has none)."""
    if "val_accuracy_low" not in table.columns:
        return []
    lines = []
    for row in table.to_dict("records"):
        parts = [
            _with_interval(row, "val_accuracy", "validation accuracy"),
            _with_interval(row, "macro_f1", "macro-F1"),
            _with_interval(row, "test_accuracy", "test accuracy"),
            _with_interval(row, "test_macro_f1", "test macro-F1"),
            _with_interval(
                row,
                "test_unseen_accuracy",
                f"accuracy on the {row.get('test_unseen_images', 0):.0f} test images "
                "with no copy in the training file",
            ),
        ]
        lines.append(f"{row['model']}: " + "; ".join(p for p in parts if p))
    return lines


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
    """metrics.md: the table, then each model's most-confused pairs as sentences.
    The calibration columns get their own small table (the main one is wide already)."""
    table, calibrated = split_calibration(table)
    parts = ["# Metrics", "", markdown_table(table, column_digits={"train_seconds": 1}), ""]
    if "kept_epoch" in table.columns:
        parts += [EPOCH_NOTE, ""]
    sentences = interval_sentences(table)
    if sentences:
        parts += [INTERVAL_NOTE, ""] + [f"- {line}" for line in sentences] + [""]
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
    HTML report shows the table in place (it embeds HTML results in the page)."""
    table, calibrated = split_calibration(table)
    shown = table.round(3).astype(object).where(table.notna(), "")
    parts = [f"<html><head><meta charset='utf-8'><style>{HTML_STYLE}</style></head><body>"]
    parts += ["<h2>Metrics</h2>", shown.to_html(index=False, border=0)]
    if calibrated is not None:
        shown = calibrated.round(3).astype(object).where(calibrated.notna(), "")
        parts += ["<h3>Calibration</h3>", shown.to_html(index=False, border=0), f"<p>{CALIBRATION_NOTE}</p>"]
    if "kept_epoch" in table.columns:
        parts.append(f"<p>{EPOCH_NOTE}</p>")
    sentences = interval_sentences(table)
    if sentences:
        parts += [f"<p>{INTERVAL_NOTE}</p><ul>"] + [f"<li>{line}</li>" for line in sentences] + ["</ul>"]
    for model, pairs in pairs_by_model.items():
        split = pairs["split"].iloc[0] if len(pairs) else "validation"
        parts.append(f"<h3>Most-confused pairs: {model} ({split})</h3><ol>")
        parts += [f"<li>{pair_sentence(pair)}</li>" for _, pair in pairs.iterrows()]
        parts.append("</ol>" if len(pairs) else "</ol><p>No class was confused with another.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
