"""Rule plot_samples: a grid of training faces, a few per class."""

from fer_workflow import data, plots, runtime
from fer_workflow.plots import samples as sample_plots

runtime.setup(snakemake)
dataset = data.load(snakemake.input.dataset)
fig = sample_plots.sample_grid(
    dataset.x_train, dataset.y_train, per_class=snakemake.params.per_class, seed=snakemake.params.seed
)
plots.save(fig, snakemake.output.figure)
