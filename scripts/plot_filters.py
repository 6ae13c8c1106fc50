"""Rule plot_filters: gradient-ascent images for the first filters of one conv
layer (the {layer} wildcard), all optimised together in one batch, and the
class the CNN predicts for each image."""

import logging
import time

from fer_workflow import filters, models, plots, runtime
from fer_workflow.plots import explain

runtime.setup(snakemake, tensorflow=True)
params = snakemake.params
layer = snakemake.wildcards.layer

model = models.load_model(snakemake.input.model)
# Fails naming filters.layer and listing the conv layers if the layer is absent.
extractor = filters.feature_extractor(model, layer)
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
logging.info(
    "%d filters of %s, %d steps: %.1f s", params.n_filters, layer, params.steps, time.perf_counter() - start
)
shown = filters.to_uint8(images)
table = filters.classify(model, shown, activations)
logging.info("filter images:\n%s", table.to_string(index=False))
table.to_csv(snakemake.output.classes, index=False, float_format="%.6g")
counts = filters.class_counts(table)
logging.info("filter images per predicted class: %s", counts.to_dict())
plots.save(explain.filter_grid(shown, table, layer), snakemake.output.figure)
plots.save(explain.filter_class_histogram(counts, layer), snakemake.output.histogram)
