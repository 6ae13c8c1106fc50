"""Library of the FER workflow: data, models, training, metrics, explanations, plots.

Every rule script in ``scripts/`` is a thin adapter around functions here;
they are tested without Snakemake in ``tests/``.
"""

# FER2013 label order.
CLASS_NAMES = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
NUM_CLASSES = len(CLASS_NAMES)
IMAGE_SIZE = 48
NUM_PIXELS = IMAGE_SIZE * IMAGE_SIZE

# The study's models, a fixed pair: the CNN and the DNN sized to its parameter
# count (models.build_study_model builds either; Keras-free, so the rules'
# {model} wildcard uses it too). A third model is no config value: see
# docs/development.md, "Adding a model".
MODEL_NAMES = ("cnn", "dnn")

# Conv layer names, made by models.build_cnn: block<i>_conv<j>, counted from 1.
# The one spelling (Keras-free, so the Snakefile's {layer} wildcard uses it too);
# config.schema.yaml cannot import it and repeats it (tests/test_config_check.py checks).
CONV_LAYER_PATTERN = r"block[1-9][0-9]*_conv[1-9][0-9]*"


def conv_layer_name(block, conv):
    """Name of conv ``conv`` of block ``block`` (both from 1): ``block<i>_conv<j>``."""
    return f"block{block}_conv{conv}"


def conv_layer_names(model):
    """Names of a built model's conv layers (``block<i>_conv<j>``), in order:
    the one list of them that saliency, filters and activations use."""
    import re

    return [layer.name for layer in model.layers if re.fullmatch(CONV_LAYER_PATTERN, layer.name)]


def lazy_facade(package, module, names, submodules):
    """``__getattr__`` and ``__dir__`` of a facade package (PEP 562): ``names``
    load from ``package.module`` on first use, ``submodules`` import on first use,
    so importing one module of the package loads no other."""
    import importlib

    def getattr_(name):
        if name in names:
            return getattr(importlib.import_module(f"{package}.{module}"), name)
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def dir_():
        return sorted(set(vars(importlib.import_module(package))) | set(names))

    return getattr_, dir_


def __getattr__(name):
    """``from fer_workflow import Classifier``, imported on first use (``api``), so
    that importing the package (the Snakefile does) stays free of OpenCV and Keras."""
    if name == "Classifier":
        from fer_workflow.use.api import Classifier

        return Classifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
