"""Reading, validating and splitting faces: readers (the formats), votes (FER+),
near_duplicates, synthetic (the built-in faces), dataset (the split and the Dataset),
choose (which faces a figure or a measure looks at).

The package's own names are those of ``dataset`` (``fer_workflow.data.dataset``),
so ``from fer_workflow import data`` reads as before. They load on first use,
so importing one of the other modules here loads only that one."""

from fer_workflow import lazy_facade

# The public names of dataset (tests/test_layout.py checks the list).
NAMES = (
    "Dataset",
    "OPTIONAL_ARRAYS",
    "QUALITY_CHECKS",
    "SPLITS",
    "SPLIT_CHECKS",
    "as_model_input",
    "class_count_table",
    "conflicting_groups",
    "copies_in",
    "deduplicate",
    "duplicate_groups",
    "load",
    "make_dataset",
    "quality_counts",
    "quality_table",
    "save",
    "split_quality_counts",
    "stratified_split",
)
SUBMODULES = (
    "choose",
    "dataset",
    "near_duplicates",
    "readers",
    "rows",
    "synthetic",
    "votes",
)


__getattr__, __dir__ = lazy_facade(__name__, "dataset", NAMES, SUBMODULES)
