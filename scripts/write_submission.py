"""Rule write_submission: the chosen model's test predictions in Kaggle's
`id,label` form, optionally averaged with the flipped faces' (flip TTA)."""

from fer_workflow import arrays, data, predict, runtime

runtime.setup(snakemake)

dataset = data.load(snakemake.input.dataset)
predictions = arrays.load(snakemake.input.predictions)
submission = predict.submission(
    dataset, predictions, tta_flip=snakemake.params.tta_flip, tta_shift=snakemake.params.tta_shift > 0
)
print(f"{snakemake.params.model}: {len(submission)} test predictions (flip TTA: {snakemake.params.tta_flip})")
print(submission["label"].value_counts().sort_index().to_string())
submission.to_csv(snakemake.output.submission, index=False)
