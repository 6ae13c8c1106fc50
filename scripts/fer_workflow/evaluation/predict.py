"""Class probabilities of a trained model on the validation and test splits.

A model takes raw 0..255 pixels (it rescales itself) and returns softmax
probabilities. Predictions are stored once per model in
``results/eval/predictions_{model}.npz`` with, per split, the plain
probabilities and those of the horizontally flipped faces (and, with
``predict.tta_shift``, the mean over the faces moved a few pixels up, down,
left and right, plain and flipped), so that metrics, confusion matrices and
the submission can use test-time augmentation (TTA) without running the
model again. They are written and read with
``arrays.save`` / ``arrays.load`` (a dict of arrays, as ``predict_dataset``
returns).
"""

import numpy as np

from fer_workflow import NUM_CLASSES
from fer_workflow.data.dataset import SPLITS, as_model_input


def flip_horizontal(images):
    """Mirror (n, 48, 48) images left to right (a face's expression is symmetric enough)."""
    return np.asarray(images)[:, :, ::-1]


def shift_images(images, dy, dx):
    """(n, 48, 48) images moved ``dy`` pixels down and ``dx`` right (negative:
    up, left); the edge rows and columns repeat into the gap, as the training
    augmentation fills (``RandomAffine``, nearest edge pixel)."""
    images = np.asarray(images)
    pad = max(abs(dy), abs(dx))
    if pad == 0:
        return images
    height, width = images.shape[1:3]
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad)), mode="edge")
    return padded[:, pad - dy : pad - dy + height, pad - dx : pad - dx + width]


def shift_offsets(shift):
    """(dy, dx) of the shifted test-time views: ``shift`` pixels up, down, left and right."""
    return [(-shift, 0), (shift, 0), (0, -shift), (0, shift)] if shift else []


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


def predict_dataset(model, dataset, shift=0, batch_size=256):
    """The contract's arrays: val_probs, val_probs_flip, test_probs, test_probs_flip;
    with ``shift`` > 0 also ``{val,test}_probs_shift`` and ``_probs_shift_flip``,
    the mean probabilities of the four views moved ``shift`` pixels (plain and
    mirrored).

    Only the validation and test images are read: the training split is never
    predicted (and so can never be mistaken for test data).
    """
    out = {}
    for key, images in (("val", dataset.x_val), ("test", dataset.x_test)):
        for suffix, views in (("", images), ("_flip", flip_horizontal(images))):
            out[f"{key}_probs{suffix}"] = predict_probs(model, views, batch_size)
            if shift:
                moved = [
                    predict_probs(model, shift_images(views, dy, dx), batch_size)
                    for dy, dx in shift_offsets(shift)
                ]
                out[f"{key}_probs_shift{suffix}"] = np.mean(moved, axis=0, dtype=np.float32)
    return out


def split_probs(predictions, split, tta_flip=False, tta_shift=False):
    """Probabilities of one split (``validation`` or ``test``), optionally test-time augmented.

    Flip TTA averages the probabilities of each face and its mirror image;
    shift TTA adds the four shifted views (each view weighs the same: the
    face and its four shifts, five views, or ten with flip).
    """
    key = SPLITS[split]
    suffixes = ["", "_flip"] if tta_flip else [""]
    if tta_shift and f"{key}_probs_shift" not in predictions:
        raise ValueError(
            "tta_shift: the predictions hold no shifted views (they were predicted with shift 0)"
        )
    views = len(shift_offsets(1)) if tta_shift else 0
    total = sum(predictions[f"{key}_probs{suffix}"] for suffix in suffixes)
    if views:
        total = total + views * sum(predictions[f"{key}_probs_shift{suffix}"] for suffix in suffixes)
    return total / (len(suffixes) * (1 + views))


def submission(dataset, predictions, tta_flip=True, tta_shift=False):
    """Kaggle's ``id,label`` table: one row per test image, label the most probable class.

    Ids come from ``dataset.test_ids`` (the ids of test.csv, in its order);
    labels are ints 0..6.
    """
    import pandas as pd  # only the submission needs pandas here

    probs = split_probs(predictions, "test", tta_flip, tta_shift)
    if len(probs) != len(dataset.test_ids):
        raise ValueError(
            f"{len(probs)} test predictions for {len(dataset.test_ids)} test ids; "
            "the predictions do not belong to this dataset (rerun predict_model)"
        )
    if len(probs) == 0:
        raise ValueError("the dataset has no test images to write a submission for")
    labels = probs.argmax(axis=1).astype("int64")
    return pd.DataFrame({"id": np.asarray(dataset.test_ids, dtype="int64"), "label": labels})
