"""Rule score_saliency: saliency checked against ground truth on validation
faces, for every compared method: mass inside the synthetic cue masks (when
the data has masks) and the deletion test (most salient vs. random pixels
hidden)."""

import logging

import pandas as pd

from fer_workflow import data, models, runtime
from fer_workflow.explain import saliency

runtime.setup(snakemake, tensorflow=True)
params = snakemake.params

dataset = data.load(snakemake.input.dataset)
mask_file = getattr(snakemake.input, "masks", None)
masks = saliency.validation_masks(mask_file, dataset) if mask_file else None

chosen = saliency.choose_images(dataset.y_val, params.n_images, params.seed)
images, labels = dataset.x_val[chosen], dataset.y_val[chosen]
model = models.load_model(snakemake.input.model)
tables = []
for method in params.methods:
    maps = saliency.compute(model, images, labels, method=method, seed=params.seed, **params.method_options)
    scores = saliency.score(
        model,
        images,
        labels,
        maps,
        masks=None if masks is None else masks[chosen],
        fraction=params.deletion_fraction,
        seed=params.seed,
    )
    tables.append(scores.assign(method=method)[["method", "metric", "value", "description"]])
scores = pd.concat(tables, ignore_index=True)
logging.info("saliency scores:\n%s", scores.to_string(index=False))
scores.to_csv(snakemake.output.scores, index=False)
