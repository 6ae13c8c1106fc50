"""Reading, validating and splitting faces: readers (the formats), votes (FER+),
near_duplicates, synthetic (the built-in faces), dataset (the split and the Dataset).

The package's own names are those of ``dataset`` (``fer_workflow.data.dataset``),
so ``from fer_workflow import data`` reads as before. They load on first use,
so importing one of the other modules here loads only that one."""

import importlib

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


def __getattr__(name):
    if name in NAMES:
        return getattr(importlib.import_module("fer_workflow.data.dataset"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(NAMES))
