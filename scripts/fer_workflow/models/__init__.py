"""The two networks and their training: build, sizing (the DNN solved to the
CNN's size), layers, augment, training, resume, record, recipes.

The package's own names are those of ``build`` (``fer_workflow.models.build``),
so ``from fer_workflow import models`` reads as before. They load on first use,
so importing one of the other modules here loads only that one."""

import importlib

# The public names of build (tests/test_layout.py checks the list).
NAMES = (
    "Cutout",
    "FusedBatchNormalization",
    "INPUT_SHAPE",
    "RandomAffine",
    "TRAINING_ONLY",
    "build_cnn",
    "build_dnn",
    "build_study_model",
    "cnn_parameters",
    "count_flops",
    "dnn_parameters",
    "inference_model",
    "load_model",
    "match_dnn_widths",
    "width_texts",
)
SUBMODULES = (
    "augment",
    "build",
    "layers",
    "recipes",
    "record",
    "resume",
    "sizing",
    "training",
)


def __getattr__(name):
    if name in NAMES:
        return getattr(importlib.import_module("fer_workflow.models.build"), name)
    if name in SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(NAMES))
