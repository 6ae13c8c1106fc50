"""Rule plot_saliency_by_class: the mean saliency map of each class over its
correctly classified validation faces, drawn over that class's mean face
with the face-region boxes (on the built-in faces, the outlines of their cue
masks), and the share of saliency mass per region."""

import logging

import numpy as np

from fer_workflow import NUM_CLASSES, arrays, data, models, plots, runtime
from fer_workflow.data import choose
from fer_workflow.evaluation import metrics
from fer_workflow.explain import regions, saliency
from fer_workflow.plots import explain

runtime.setup(snakemake, tensorflow=True)
params = snakemake.params
by_class = params.by_class

model = models.load_model(snakemake.input.model)
dataset = data.load(snakemake.input.dataset)
# The CNN's validation probabilities (plain, not flip-averaged), as predict_model stored them.
_, val_probs = metrics.split_labels_and_probs(dataset, arrays.load(snakemake.input.predictions), "validation")
predicted = val_probs.argmax(axis=1)
chosen = choose.correct_per_class(dataset.y_val, predicted, by_class["max_per_class"], params.seed)
images, labels = dataset.x_val[chosen], dataset.y_val[chosen].astype(np.int64)
logging.info(
    "%d correctly classified validation faces, per class %s",
    len(chosen),
    np.bincount(labels, minlength=NUM_CLASSES).tolist(),
)

maps = saliency.compute(
    model, images, labels, method=by_class["method"], seed=params.seed, **params.method_options
)
# Each map normalised to unit mass first, so every face weighs the same in its class's mean.
maps = maps / (maps.sum(axis=(1, 2), keepdims=True) + 1e-12)
counts = np.bincount(labels, minlength=NUM_CLASSES)
mean_faces = np.stack(
    [images[labels == c].mean(axis=0) if counts[c] else np.zeros((48, 48)) for c in range(NUM_CLASSES)]
)
mean_maps = np.stack(
    [maps[labels == c].mean(axis=0) if counts[c] else np.zeros((48, 48)) for c in range(NUM_CLASSES)]
)

table = regions.region_table(maps, labels, params.regions)
logging.info("saliency mass per region:\n%s", table.to_string(index=False))
table.to_csv(snakemake.output.table, index=False)
# The built-in faces carry their own cue masks: drawn instead of the FER2013 region boxes.
mask_file = getattr(snakemake.input, "masks", None)
cues = None
if mask_file:
    masks = saliency.validation_masks(mask_file, dataset)[chosen]
    cues = {
        name: np.stack(
            [
                ((masks[labels == c] & bit) > 0).mean(axis=0) if counts[c] else np.zeros((48, 48))
                for c in range(NUM_CLASSES)
            ]
        )
        for name, bit in saliency.REGIONS.items()
    }
figure = explain.saliency_by_class(mean_faces, mean_maps, counts, params.regions, by_class["method"], cues)
plots.save(figure, snakemake.output.figure)
