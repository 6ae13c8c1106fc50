"""Rule calibrate_model: fit one temperature on the validation split (plain
predictions), the ECE and NLL before and after on validation and, where the
test labels are known, on test; the reliability diagrams."""

import logging

from fer_workflow import arrays, data, plots, runtime
from fer_workflow.evaluation import calibration, metrics
from fer_workflow.plots import evaluation

runtime.setup(snakemake)

dataset = data.load(snakemake.input.dataset)
predictions = arrays.load(snakemake.input.predictions)
y_val, val_probs = metrics.split_labels_and_probs(dataset, predictions, "validation")
splits = [("validation", y_val, val_probs)]
test_labels = test_probs = None
if dataset.has_test_labels:
    test_labels, test_probs = metrics.split_labels_and_probs(dataset, predictions, "test")
    splits.append(("test", test_labels, test_probs))
record = calibration.calibrate(val_probs, y_val, test_probs, test_labels)
logging.info("calibration:\n%s", "\n".join(f"  {k}: {v}" for k, v in record.items()))
t = record["temperature"]
panels = []
for split, labels, probs in splits:
    for when, p in (("before", probs), (f"after (T = {t:.2f})", calibration.apply_temperature(probs, t))):
        bins = calibration.reliability_bins(p, labels) | {"ece": calibration.ece(p, labels)}
        panels.append((f"{split}, {when}", bins))
calibration.write(record, snakemake.output.calibration)
plots.save(evaluation.reliability_figure(panels, snakemake.wildcards.model, t), snakemake.output.figure)
