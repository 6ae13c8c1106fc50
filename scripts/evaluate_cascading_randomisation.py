"""Rule evaluate_cascading_randomisation: every saliency method's maps as the
CNN's layers are re-initialised one at a time from the logits down, compared
with the trained model's maps (Spearman, SSIM, bootstrap intervals)."""

import logging
import time

from fer_workflow import arrays, data, models, plots, runtime
from fer_workflow.data import choose
from fer_workflow.evaluation import metrics
from fer_workflow.explain import randomisation, saliency
from fer_workflow.plots import explain

runtime.setup(snakemake, tensorflow=True)
params = snakemake.params

model = models.load_model(snakemake.input.model)
dataset = data.load(snakemake.input.dataset)
_, val_probs = metrics.split_labels_and_probs(dataset, arrays.load(snakemake.input.predictions), "validation")
chosen = choose.spread_over_classes(dataset.y_val, params.n_images, params.seed)
logging.info("%d validation faces, layers top first: %s", len(chosen), randomisation.layer_groups(model))


def maps_of(net, images, classes, method):
    return saliency.compute(net, images, classes, method=method, seed=params.seed, **params.method_options)


start = time.perf_counter()
table, shown = randomisation.evaluate(
    model, dataset.x_val[chosen], val_probs[chosen].argmax(axis=1), maps_of, params.methods, seed=params.seed
)
logging.info(
    "cascading randomisation, %.1f s:\n%s", time.perf_counter() - start, table.to_string(index=False)
)
table.to_csv(snakemake.output.table, index=False, float_format="%.6g")
figure = explain.cascading_randomisation(table, shown, face=dataset.x_val[chosen[0]])
plots.save(figure, snakemake.output.figure)
