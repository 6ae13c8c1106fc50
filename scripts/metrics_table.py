"""Rule metrics_table: one row per model (results/metrics.csv) and its Markdown
and HTML renderings with the most-confused pairs as sentences
(results/metrics.md, results/metrics.html), with 95% intervals and the
accuracy on the test images that have no copy (exact or near) in the training file."""

import logging

import pandas as pd

from fer_workflow import arrays, data, runtime
from fer_workflow.data import readers
from fer_workflow.evaluation import calibration, metrics, tables
from fer_workflow.models import record

runtime.setup(snakemake)

dataset = data.load(snakemake.input.dataset)
# Test images with a copy anywhere in the training file (train and validation):
# identical, or every pixel within data.near_duplicate_max_diff gray levels.
test_seen = data.copies_in(
    dataset.x_test,
    readers.Raw.load(snakemake.input.raw).x_train,
    snakemake.params.near_duplicate_max_diff,
)
inputs = zip(
    snakemake.params.models,
    snakemake.input.predictions,
    snakemake.input.records,
    snakemake.input.pairs,
    snakemake.input.calibrations,
    strict=True,
)
rows, pairs = [], {}
for model, predictions, record_json, pairs_csv, calibration_json in inputs:
    row = metrics.model_row(
        model,
        record.read(record_json),
        dataset,
        arrays.load(predictions),
        test_seen=test_seen,
    )
    # Last: the temperature and the ECE before and after it (calibrate_model).
    rows.append(row | calibration.metric_columns(calibration.read(calibration_json)))
    pairs[model] = pd.read_csv(pairs_csv)

table = pd.DataFrame(rows)
markdown = tables.metrics_markdown(table, pairs)
logging.info("metrics:\n%s", markdown)
table.to_csv(snakemake.output.csv, index=False)
with open(snakemake.output.md, "w") as f:
    f.write(markdown)
with open(snakemake.output.html, "w") as f:
    f.write(tables.metrics_html(table, pairs))
