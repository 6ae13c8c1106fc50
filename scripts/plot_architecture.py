"""Rule plot_architecture: a box diagram of one model's layers with output
shapes and parameter counts."""

import logging

from fer_workflow import models, plots, runtime
from fer_workflow.plots import evaluation

runtime.setup(snakemake, tensorflow=True)

model = models.load_model(snakemake.input.model)
for row in evaluation.layer_rows(model):
    logging.info("%-32s %-24s %-16s %10s", row["title"], row["type"], row["shape"], f"{row['params']:,}")
plots.save(evaluation.architecture_figure(model, snakemake.wildcards.model), snakemake.output.figure)
