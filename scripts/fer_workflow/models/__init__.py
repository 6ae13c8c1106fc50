"""The two networks and their training: build, sizing (the DNN solved to the
CNN's size), layers, augment, training, resume, record, recipes.

The package's own names are those of ``build`` (``fer_workflow.models.build``),
so ``from fer_workflow import models`` reads as before. They load on first use,
so importing one of the other modules here loads only that one."""

from fer_workflow import lazy_facade

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


__getattr__, __dir__ = lazy_facade(__name__, "build", NAMES, SUBMODULES)
