"""Rule plot_learning_curves: CNN vs. DNN accuracy and loss per epoch."""

import pandas as pd

from fer_workflow import plots, record, runtime
from fer_workflow.plots import training as training_plots

runtime.setup(snakemake)
names = snakemake.params.models
histories = {n: pd.read_csv(p) for n, p in zip(names, snakemake.input.histories, strict=True)}
records = zip(names, snakemake.input.records, strict=True)
parameters = {n: record.read(p)["parameters"] for n, p in records}
plots.save(training_plots.learning_curves(histories, parameters), snakemake.output.figure)
