"""Rule aggregate_replicates: validation scores of every (model, seed)
replicate, their mean, spread and the paired CNN - DNN difference
(results/replicates.csv, results/replicates.md, results/figures/replicates.png)."""

import logging

from fer_workflow import arrays, data, plots, runtime
from fer_workflow.evaluation import metrics, replicates
from fer_workflow.plots import replicates as replicate_plots

runtime.setup(snakemake)
params = snakemake.params
dataset = data.load(snakemake.input.dataset)
# Predictions come in expand() order: model-major, then seed.
pairs = [(m, s) for m in params.models for s in params.seeds]
rows = []
for (model, seed), path in zip(pairs, snakemake.input.predictions, strict=True):
    y_val, probs = metrics.split_labels_and_probs(dataset, arrays.load(path), "validation")
    rows.append(replicates.seed_row(model, seed, y_val, probs.argmax(axis=1)))
table = replicates.aggregate(rows, params.models)
text = replicates.markdown(table, params.models)
logging.info("replicates:\n%s", text)
table.to_csv(snakemake.output.csv, index=False)
with open(snakemake.output.md, "w") as f:
    f.write(text)
plots.save(replicate_plots.replicates_figure(table, params.models), snakemake.output.figure)
