"""Rule evaluate_faithfulness: deletion and insertion AUCs (blur) and ROAD
(noisy linear imputation, both orders) per saliency method and for a random
pixel order, with the model-randomisation sanity check, on validation faces
spread over the classes; each method against the random order face by face;
the per-face results for the findings; and from the same maps the saliency
scores (the deletion test at one fraction, the mass in the cue masks of the
built-in faces)."""

import logging

import pandas as pd

from fer_workflow import arrays, data, models, plots, runtime
from fer_workflow.data import choose
from fer_workflow.evaluation import metrics
from fer_workflow.explain import faithfulness, saliency
from fer_workflow.plots import explain

runtime.setup(snakemake, tensorflow=True)
params = snakemake.params
knobs = params.faithfulness

model = models.load_model(snakemake.input.model)
dataset = data.load(snakemake.input.dataset)
# The CNN's validation probabilities (plain, not flip-averaged), as predict_model stored them.
_, val_probs = metrics.split_labels_and_probs(dataset, arrays.load(snakemake.input.predictions), "validation")
chosen = choose.spread_over_classes(dataset.y_val, knobs["n_images"], params.seed)
logging.info("%d validation faces", len(chosen))
mask_file = getattr(snakemake.input, "masks", None)
cue_masks = saliency.validation_masks(mask_file, dataset)[chosen] if mask_file else None
trained_maps = {}


def maps_of(net, images, classes, method):
    maps = saliency.compute(net, images, classes, method=method, seed=params.seed, **params.method_options)
    if net is model:  # kept for the scores; the re-initialised network's are not
        trained_maps[method] = maps
    return maps


images, classes = dataset.x_val[chosen], val_probs[chosen].argmax(axis=1)
table, mean_curves, faces = faithfulness.evaluate(
    model,
    images,
    classes,
    maps_of,
    knobs["methods"],
    steps=knobs["steps"],
    blur_sigma=knobs["blur_sigma"],
    seed=params.seed,
    threshold=knobs["sanity_threshold"],
    regions=params.regions,
    rows=chosen,
    road_fractions=knobs["road_fractions"],
    road_noise=knobs["road_noise"],
)
logging.info("faithfulness:\n%s", table.to_string(index=False))
table.to_csv(snakemake.output.table, index=False)
arrays.save(snakemake.output.faces, faces)
plots.save(
    explain.faithfulness_curves(mean_curves, table, road_fractions=knobs["road_fractions"]),
    snakemake.output.figure,
)
scores = pd.concat(
    [
        faithfulness.scores(
            model, images, classes, maps, cue_masks, params.deletion_fraction, params.seed
        ).assign(method=method)[["method", "metric", "value", "description"]]
        for method, maps in trained_maps.items()
    ],
    ignore_index=True,
)
logging.info("saliency scores:\n%s", scores.to_string(index=False))
scores.to_csv(snakemake.output.scores, index=False)
