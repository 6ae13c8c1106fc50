"""Rule split_data: leak-free stratified validation split, class counts, data quality.
The FER+ votes (if any) go with their faces."""

import logging

import pandas as pd

from fer_workflow import config_check, data, runtime
from fer_workflow.data import readers, votes

runtime.setup(snakemake)
params = snakemake.params
raw = readers.Raw.load(snakemake.input.raw)
# data.drop_not_faces: rows whose FER+ plurality is "not a face" or "unknown" (None: keep all).
not_faces = votes.dropped_rows(raw, params.drop_not_faces)
dataset, dropped = data.make_dataset(
    raw.x_train,
    raw.y_train,
    raw.x_test,
    raw.y_test,
    raw.test_ids,
    validation_fraction=params.validation_fraction,
    seed=params.seed,
    drop_duplicates=params.drop_duplicates,
    exclude=not_faces,
    max_diff=params.near_duplicate_max_diff,
)
dataset = votes.attach(dataset, raw.votes_train, raw.votes_test)
# Before anything is written: an activations.image_index past the validation
# split, or evaluate.split test without test labels, fails here, not after training.
config_check.check_dataset(dataset, params.checks.image_index, params.checks.evaluate_split)
max_diff = params.near_duplicate_max_diff
counts = data.quality_counts(raw.x_train, raw.y_train, raw.x_test, max_diff)
counts.update(data.split_quality_counts(dataset, dropped, raw.x_train, raw.y_train, max_diff))
vote_counts = votes.raw_quality_counts(raw, not_faces)  # empty without votes
quality = pd.concat([data.quality_table(counts), votes.quality_table(vote_counts)], ignore_index=True)
counts.update(vote_counts)
for name, count in counts.items():
    logging.info("%-26s %7d", name, count)
class_counts = data.class_count_table(dataset)
logging.info("images per class:\n%s", class_counts.to_string(index=False))
data.save(dataset, snakemake.output.dataset)
class_counts.to_csv(snakemake.output.counts, index=False)
quality.to_csv(snakemake.output.quality, index=False)
