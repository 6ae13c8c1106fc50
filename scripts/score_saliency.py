"""Rule score_saliency: saliency checked against ground truth on validation
faces: mass inside the synthetic cue masks (when the data has masks) and the
deletion test (most salient vs. random pixels hidden)."""

import numpy as np

from fer_workflow import data, runtime, saliency

runtime.setup(snakemake, tensorflow=True)
params = snakemake.params

dataset = data.load(snakemake.input.dataset)
masks = None
mask_file = getattr(snakemake.input, "masks", None)
if mask_file:
    with np.load(mask_file) as npz:
        train_masks = npz["train"]
    # Masks are aligned with the rows of the original training file.
    last_row = dataset.val_index.max(initial=-1)
    if train_masks.shape[1:] != dataset.x_val.shape[1:] or last_row >= len(train_masks):
        raise ValueError(
            f"{mask_file}: masks 'train' of shape {train_masks.shape} do not cover the validation "
            f"rows (largest row {last_row}, images {dataset.x_val.shape[1:]})"
        )
    masks = train_masks[dataset.val_index]

chosen = saliency.choose_images(dataset.y_val, params.n_images, params.seed)
images, labels = dataset.x_val[chosen], dataset.y_val[chosen]
model = runtime.load_model(snakemake.input.model)
maps = saliency.compute(
    model,
    images,
    labels,
    method=params.method,
    samples=params.smooth_samples,
    noise=params.noise,
    seed=params.seed,
)
scores = saliency.score(
    model,
    images,
    labels,
    maps,
    masks=None if masks is None else masks[chosen],
    fraction=params.deletion_fraction,
    seed=params.seed,
)
print(scores.to_string(index=False))
scores.to_csv(snakemake.output.scores, index=False)
