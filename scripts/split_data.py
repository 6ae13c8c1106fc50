"""Rule split_data: stratified validation split and class counts."""

import logging

from fer_workflow import config_check, data, readers, runtime

runtime.setup(snakemake)
params = snakemake.params
raw = readers.Raw.load(snakemake.input.raw)
dataset, dropped = data.make_dataset(
    raw.x_train,
    raw.y_train,
    raw.x_test,
    raw.y_test,
    raw.test_ids,
    validation_fraction=params.validation_fraction,
    seed=params.seed,
    drop_duplicates=params.drop_duplicates,
)
# Before anything is written: an activations.image_index past the validation
# split, or evaluate.split test without test labels, fails here, not after training.
config_check.check_dataset(dataset, params.checks.image_index, params.checks.evaluate_split)
if params.drop_duplicates:
    logging.info("dropped %d duplicate training rows (conflicting-label groups entirely)", dropped)
counts = data.class_count_table(dataset)
logging.info("images per class:\n%s", counts.to_string(index=False))
data.save(dataset, snakemake.output.dataset)
counts.to_csv(snakemake.output.counts, index=False)
