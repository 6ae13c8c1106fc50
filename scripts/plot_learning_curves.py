"""Rule plot_learning_curves: CNN vs. DNN accuracy and loss per epoch."""

from fer_workflow import runtime

runtime.setup(snakemake)  # noqa: F821 (snakemake is injected)

import pandas as pd  # noqa: E402

from fer_workflow import plots  # noqa: E402
from fer_workflow.plots import training as training_plots  # noqa: E402

names = snakemake.params.models  # noqa: F821
histories = {n: pd.read_csv(p) for n, p in zip(names, snakemake.input.histories, strict=True)}  # noqa: F821
parameters = {
    n: training_plots.read_parameters(p) for n, p in zip(names, snakemake.input.summaries, strict=True)
}  # noqa: F821
plots.save(training_plots.learning_curves(histories, parameters), snakemake.output.figure)  # noqa: F821
