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
    "kept_epoch",
    "epoch_chosen_on",
    "best_val_epoch",
    "train_seconds",
    "precision_policy",
    "seed",
    "recipe",
]
COUNTS = ["parameters", "trainable_parameters", "flops", "epochs", "kept_epoch", "best_val_epoch", "seed"]
# What chose the kept epoch: validation accuracy, or nothing (fixed in advance).
CHOSEN_ON = ("validation", "none")


def history_stats(history, restored_best):
    """Epochs trained, the kept epoch and what chose it, the best-validation
    epoch and the training seconds (epochs 1-based).

    ``kept_epoch`` is the epoch whose weights were saved. With
    ``restored_best`` (early stopping restored the weights of the epoch with
    the highest val_accuracy, ``training.restores_best``) it is that epoch,
    whether or not training stopped early, and the validation split chose it
    (``epoch_chosen_on: validation``: its validation scores are optimistic).
    Otherwise it is the last epoch, fixed in advance by the epoch count
    (``none``). ``best_val_epoch``: the epoch with the highest val_accuracy
    (the first of ties: early stopping counts only a gain), kept or not.
    """
    if len(history) == 0:
        raise ValueError("training history is empty")
    epochs = history["epoch"].to_numpy()
    best = int(epochs[int(np.argmax(history["val_accuracy"].to_numpy()))])
    return {
        "epochs": len(history),
        "kept_epoch": best if restored_best else int(epochs[-1]),
        "epoch_chosen_on": CHOSEN_ON[0] if restored_best else CHOSEN_ON[1],
        "best_val_epoch": best,
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


def facts(model, history, *, restored_best, flops, precision_policy, seed, recipe, dnn=None):
    """The record of ``model`` after training (a dict, ``FIELDS`` in order).

    ``restored_best``: training ended with the best val_accuracy epoch's
    weights (``training.restores_best``; see ``history_stats``); ``flops``: forward-pass FLOPs per image (``models.count_flops``);
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
        **history_stats(history, restored_best),
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
    if facts["epoch_chosen_on"] not in CHOSEN_ON:
        raise ValueError(
            f"{path}: not a model record (epoch_chosen_on {facts['epoch_chosen_on']!r}, "
            f"not one of {', '.join(CHOSEN_ON)}); rerun train_model"
        )
    return facts
