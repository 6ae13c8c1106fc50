"""Rule plot_architecture: a box diagram of one model's layers with output
shapes and parameter counts."""

from fer_workflow import plots, runtime
from fer_workflow.plots import evaluation

runtime.setup(snakemake, tensorflow=True)

model = runtime.load_model(snakemake.input.model)
for row in evaluation.layer_rows(model):
    print(f"{row['title']:<32} {row['type']:<24} {row['shape']:<16} {row['params']:>10,}")
plots.save(evaluation.architecture_figure(model, snakemake.wildcards.model), snakemake.output.figure)
