"""Rule plot_filters: regularised gradient-ascent images for the first filters
of one conv layer (the {layer} wildcard), all optimised together in one
batch, beside the validation-face crops that excite each filter most (one
forward pass); the CNN's class for each image, and for the images of a
re-initialised network (the null), and the tests of the two against each
other (``filters.class_tests``)."""

import logging
import time

from fer_workflow import data, models, plots, runtime
from fer_workflow.explain import faithfulness, filters
from fer_workflow.plots import explain

runtime.setup(snakemake, tensorflow=True)
params = snakemake.params
layer = snakemake.wildcards.layer
knobs = dict(params.ascent, seed=params.seed)

model = models.load_model(snakemake.input.model)
# Fails naming filters.layer and listing the conv layers if the layer is absent.
extractor = filters.feature_extractor(model, layer)
faces = data.load(snakemake.input.dataset).x_val


def timed(what, fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    logging.info("%s: %.1f s", what, time.perf_counter() - start)
    return out


images, activations = timed(
    f"ascent, {params.n_filters} filters of {layer}, {params.ascent['steps']} steps",
    filters.ascend,
    extractor,
    params.n_filters,
    **knobs,
)
null_model = faithfulness.randomized_copy(model, seed=params.seed + 1)
null_images, null_activations = timed(
    "ascent on the re-initialised network",
    filters.ascend,
    filters.feature_extractor(null_model, layer),
    params.n_filters,
    **knobs,
)
indices, positions, best = timed(
    f"top-crop search over {len(faces)} validation faces",
    filters.top_activations,
    extractor,
    faces,
    params.n_filters,
    k=params.n_crops,
)
field = filters.receptive_field(model, layer)
logging.info("receptive field of %s: %d pixels, stride %d", layer, field[0], field[1])
crops = filters.crops(faces, indices, positions, field)

shown, null_shown = filters.to_uint8(images), filters.to_uint8(null_images)
table = filters.measure(
    filters.classify(model, shown, activations),
    filters.image_maxima(extractor, shown),
    best[:, 0],
    filters.classify(model, null_shown, null_activations),
)
logging.info("filter images:\n%s", table.to_string(index=False))
table.to_csv(snakemake.output.classes, index=False, float_format="%.6g")
tests = filters.class_tests(table)
logging.info("tests against the re-initialised network:\n%s", tests.to_string(index=False))
tests.to_csv(snakemake.output.tests, index=False)
counts, null_counts = filters.class_counts(table), filters.class_counts(table, "null_label")
logging.info("per class: trained %s, re-initialised %s", counts.to_dict(), null_counts.to_dict())
plots.save(explain.filter_grid(shown, table, layer, crops=crops, stretch=True), snakemake.output.figure)
plots.save(explain.filter_class_histogram(counts, layer, null_counts), snakemake.output.histogram)
