"""Rule plot_learning_curves: CNN vs. DNN accuracy and loss per epoch, the kept epochs ringed."""

import pandas as pd

from fer_workflow import plots, runtime
from fer_workflow.models import record
from fer_workflow.plots import training as training_plots

runtime.setup(snakemake)
names = snakemake.params.models
histories = {n: pd.read_csv(p) for n, p in zip(names, snakemake.input.histories, strict=True)}
records = {n: record.read(p) for n, p in zip(names, snakemake.input.records, strict=True)}
parameters = {n: facts["parameters"] for n, facts in records.items()}
kept = {n: facts["kept_epoch"] for n, facts in records.items()}
plots.save(training_plots.learning_curves(histories, parameters, kept), snakemake.output.figure)
