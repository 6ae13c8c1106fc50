"""Rule plot_filters: gradient-ascent images for the first filters of one conv
layer (the {layer} wildcard), all optimised together in one batch, and the
class the CNN predicts for each image."""

import time

from fer_workflow import filters, plots, runtime
from fer_workflow.plots import explain

runtime.setup(snakemake, tensorflow=True)
params = snakemake.params
layer = snakemake.wildcards.layer

model = runtime.load_model(snakemake.input.model)
# Fails naming filters.layer and listing the conv layers if the layer is absent.
extractor = filters.feature_extractor(model, layer, key="filters.layer")
start = time.perf_counter()
images, activations = filters.ascend(
    extractor,
    params.n_filters,
    steps=params.steps,
    learning_rate=params.learning_rate,
    jitter=params.jitter,
    tv_weight=params.tv_weight,
    border=params.border,
    seed=params.seed,
)
print(f"{params.n_filters} filters of {layer}, {params.steps} steps: {time.perf_counter() - start:.1f} s")
shown = filters.to_uint8(images)
table = filters.classify(model, shown, activations)
print(table.to_string(index=False))
table.to_csv(snakemake.output.classes, index=False, float_format="%.6g")
counts = filters.class_counts(table)
print("filter images per predicted class:", counts.to_dict())
plots.save(explain.filter_grid(shown, table, layer), snakemake.output.figure)
plots.save(explain.filter_class_histogram(counts, layer), snakemake.output.histogram)
