"""Rule write_submission: the chosen model's test predictions in Kaggle's
`id,label` form, optionally averaged with the flipped faces' (flip TTA)."""

import logging

from fer_workflow import arrays, data, runtime
from fer_workflow.evaluation import predict

runtime.setup(snakemake)

dataset = data.load(snakemake.input.dataset)
predictions = arrays.load(snakemake.input.predictions)
submission = predict.submission(
    dataset, predictions, tta_flip=snakemake.params.tta_flip, tta_shift=snakemake.params.tta_shift > 0
)
logging.info(
    "%s: %d test predictions (flip TTA: %s, shift TTA: %s px)",
    snakemake.params.model,
    len(submission),
    snakemake.params.tta_flip,
    snakemake.params.tta_shift,
)
logging.info("test predictions per label:\n%s", submission["label"].value_counts().sort_index().to_string())
submission.to_csv(snakemake.output.submission, index=False)
