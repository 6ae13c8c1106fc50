"""Rule generate_synthetic: built-in faces in the label_feature_csv format, their cue masks
and simulated FER+ votes."""

import logging

import numpy as np

from fer_workflow import CLASS_NAMES, runtime
from fer_workflow.data import synthetic

runtime.setup(snakemake)
out, params = snakemake.output, snakemake.params
train, test = synthetic.write_all(
    params.n_train,
    params.n_test,
    params.seed,
    train_path=out.train,
    test_path=out.test,
    test_labels_path=out.test_labels,
    masks_path=out.masks,
    votes_path=out.votes,
)
for name, (_, labels, _) in (("train", train), ("test", test)):
    counts = np.bincount(labels, minlength=len(CLASS_NAMES))
    logging.info(
        "%s: %d faces; %s",
        name,
        len(labels),
        ", ".join(f"{c} {n}" for c, n in zip(CLASS_NAMES, counts, strict=True)),
    )
