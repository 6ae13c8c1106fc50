"""Rule plot_saliency: saliency maps of the CNN for a few validation faces
spread over the classes (face, map, overlay per image)."""

import logging

from fer_workflow import arrays, data, models, plots, runtime
from fer_workflow.data import choose
from fer_workflow.evaluation import metrics
from fer_workflow.explain import saliency
from fer_workflow.plots import explain

runtime.setup(snakemake, tensorflow=True)
params = snakemake.params

model = models.load_model(snakemake.input.model)
dataset = data.load(snakemake.input.dataset)
# The CNN's validation probabilities (plain, not flip-averaged), as predict_model stored them.
_, val_probs = metrics.split_labels_and_probs(dataset, arrays.load(snakemake.input.predictions), "validation")
chosen = choose.spread_over_classes(dataset.y_val, params.n_images, params.seed)
images, labels, probs = dataset.x_val[chosen], dataset.y_val[chosen], val_probs[chosen]
logging.info("validation images %s, classes %s", chosen.tolist(), labels.tolist())

# The maps explain the true class (target: label) or the model's answer.
classes = saliency.target_classes(labels, probs, target=params.target)
maps = saliency.compute(
    model, images, classes, method=params.method, seed=params.seed, **params.method_options
)
figure = explain.saliency_grid(images, maps, labels, probs, method=params.method, target=params.target)
plots.save(figure, snakemake.output.figure)
