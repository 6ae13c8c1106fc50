"""A trained model's record: the facts about it as JSON, written next to the
model by train_model (``results/models/{model}.json``) and read by every rule
that needs them (the metrics table, the learning curves).

``summary.txt`` holds the same counts for people to read; programs read the
record. Keras-free: reading a record needs neither Keras nor TensorFlow.
"""

import json

import numpy as np

# Every record has these keys; ``dnn`` only the DNN's.
FIELDS = [
    "model",
    "parameters",
    "trainable_parameters",
    "flops",
    "widths",
    "epochs",
    "best_epoch",
    "train_seconds",
    "precision_policy",
    "seed",
    "recipe",
]
COUNTS = ["parameters", "trainable_parameters", "flops", "epochs", "best_epoch", "seed"]


def history_stats(history):
    """Epochs trained, best epoch (1-based, highest val_accuracy) and training seconds."""
    if len(history) == 0:
        raise ValueError("training history is empty")
    best = int(history["epoch"].iloc[int(np.argmax(history["val_accuracy"].to_numpy()))])
    return {
        "epochs": len(history),
        "best_epoch": best,
        "train_seconds": float(history["seconds"].sum()),
    }


def layer_widths(model):
    """{layer name: output channels} of the conv and dense layers, in order (logits included)."""
    widths = {}
    for layer in model.layers:
        width = getattr(layer, "filters", None) or getattr(layer, "units", None)
        if width:
            widths[layer.name] = int(width)
    return widths


def describe(model, history, *, flops, precision_policy, seed, recipe, dnn=None):
    """The record of ``model`` after training (a dict, ``FIELDS`` in order).

    ``flops``: forward-pass FLOPs per image (``models.count_flops``);
    ``precision_policy``: the dtype policy it trained under
    (``training.set_precision``); ``recipe``: the training recipe it trained
    with (``recipes.recipe``: ``train`` with the model's ``train_overrides``),
    so that the CNN's and the DNN's records show where they differ; ``dnn``:
    for the DNN, its hidden widths and the CNN parameter count they were
    solved for.
    """
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    facts = {
        "model": model.name,
        "parameters": int(model.count_params()),
        "trainable_parameters": trainable,
        "flops": int(flops),
        "widths": layer_widths(model),
        **history_stats(history),
        "precision_policy": str(precision_policy),
        "seed": int(seed),
        "recipe": recipe,
    }
    if dnn is not None:
        facts["dnn"] = dnn
    return facts


def write(facts, path):
    with open(path, "w") as f:
        json.dump(facts, f, indent=2)
        f.write("\n")


def read(path):
    """The record at ``path``; ValueError naming the file if it is not one."""
    try:
        with open(path) as f:
            facts = json.load(f)
    except ValueError as error:
        raise ValueError(f"{path}: not a model record (invalid JSON: {error}); rerun train_model") from None
    if not isinstance(facts, dict):
        raise ValueError(f"{path}: not a model record (a JSON object expected); rerun train_model")
    missing = [key for key in FIELDS if key not in facts]
    if missing:
        raise ValueError(f"{path}: not a model record (no {', '.join(missing)}); rerun train_model")
    wrong = [key for key in COUNTS if not isinstance(facts[key], int) or isinstance(facts[key], bool)]
    if wrong:
        raise ValueError(
            f"{path}: not a model record ({', '.join(wrong)} not whole numbers); rerun train_model"
        )
    return facts
