"""Class probabilities of a trained model on the validation and test splits.

A model takes raw 0..255 pixels (it rescales itself) and returns softmax
probabilities. Predictions are stored once per model in
``results/eval/predictions_{model}.npz`` with, per split, the plain
probabilities and those of the horizontally flipped faces, so that metrics,
confusion matrices and the submission can use flip test-time augmentation
(TTA) without running the model again. They are written and read with
``arrays.save`` / ``arrays.load`` (a dict of arrays, as ``predict_dataset``
returns).
"""

import numpy as np

from . import NUM_CLASSES
from .data import SPLITS, as_model_input


def flip_horizontal(images):
    """Mirror (n, 48, 48) images left to right (a face's expression is symmetric enough)."""
    return np.asarray(images)[:, :, ::-1]


def predict_probs(model, images, batch_size=256):
    """Probabilities (n, 7) float32 of ``model`` on uint8 images (n, 48, 48).

    The model is called directly in inference mode, batch by batch, so memory
    stays bounded for any split size (as fast as ``model.predict`` on 2,048
    faces on CPU, without its progress bar in the log). An empty split gives
    an empty (0, 7) array.
    """
    from keras import ops  # imported here: metrics and plots load this module without Keras

    images = np.asarray(images)
    out = np.zeros((len(images), NUM_CLASSES), dtype=np.float32)
    for start in range(0, len(images), int(batch_size)):
        batch = as_model_input(images[start : start + batch_size])
        probs = ops.convert_to_numpy(model(batch, training=False)).astype(np.float32)
        if probs.shape != (len(batch), NUM_CLASSES):
            raise ValueError(f"model returned shape {probs.shape}, expected ({len(batch)}, {NUM_CLASSES})")
        out[start : start + len(batch)] = probs
    return out


def predict_dataset(model, dataset, batch_size=256):
    """The contract's arrays: val_probs, val_probs_flip, test_probs, test_probs_flip.

    Only the validation and test images are read: the training split is never
    predicted (and so can never be mistaken for test data).
    """
    out = {}
    for key, images in (("val", dataset.x_val), ("test", dataset.x_test)):
        out[f"{key}_probs"] = predict_probs(model, images, batch_size)
        out[f"{key}_probs_flip"] = predict_probs(model, flip_horizontal(images), batch_size)
    return out


def split_probs(predictions, split, tta_flip=False):
    """Probabilities of one split (``validation`` or ``test``), optionally flip-averaged.

    Flip TTA averages the probabilities of each face and its mirror image.
    """
    key = SPLITS[split]
    probs = predictions[f"{key}_probs"]
    if tta_flip:
        probs = (probs + predictions[f"{key}_probs_flip"]) / 2
    return probs


def submission(dataset, predictions, tta_flip=True):
    """Kaggle's ``id,label`` table: one row per test image, label the most probable class.

    Ids come from ``dataset.test_ids`` (the ids of test.csv, in its order);
    labels are ints 0..6.
    """
    import pandas as pd  # only the submission needs pandas here

    probs = split_probs(predictions, "test", tta_flip)
    if len(probs) != len(dataset.test_ids):
        raise ValueError(
            f"{len(probs)} test predictions for {len(dataset.test_ids)} test ids; "
            "the predictions do not belong to this dataset (rerun predict_model)"
        )
    if len(probs) == 0:
        raise ValueError("no test images: configure data.test to write a submission")
    labels = probs.argmax(axis=1).astype("int64")
    return pd.DataFrame({"id": np.asarray(dataset.test_ids, dtype="int64"), "label": labels})
