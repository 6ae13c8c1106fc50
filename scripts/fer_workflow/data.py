"""The prepared data set: one compact ``.npz`` file with every split.

Images are ``uint8`` arrays of shape (n, 48, 48); labels are ``int8`` in
FER2013 order (see ``fer_workflow.CLASS_NAMES``), -1 where unknown (test
images without labels). ``train_index`` / ``val_index`` give each image's
row in the original training file (0-based), so per-image side data such as
the synthetic cue masks can be looked up.
"""

from dataclasses import dataclass, fields

import numpy as np


@dataclass
class Dataset:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_ids: np.ndarray
    train_index: np.ndarray
    val_index: np.ndarray

    @property
    def has_test_labels(self):
        return len(self.y_test) > 0 and bool(np.all(self.y_test >= 0))

    def split(self, name):
        """Images and labels of one split: ``train``, ``validation`` or ``test``."""
        key = {"train": "train", "validation": "val", "test": "test"}[name]
        return getattr(self, f"x_{key}"), getattr(self, f"y_{key}")


def save(dataset, path):
    """Write a Dataset to ``path`` (compressed npz)."""
    np.savez_compressed(path, **{f.name: getattr(dataset, f.name) for f in fields(Dataset)})


def load(path):
    """Read a Dataset written by ``save``."""
    with np.load(path) as npz:
        return Dataset(**{f.name: npz[f.name] for f in fields(Dataset)})


def as_model_input(images):
    """uint8 (n, 48, 48) images to the float32 (n, 48, 48, 1) tensor the models take.

    Pixel values stay in 0..255: each model starts with a Rescaling layer, so
    a saved model takes raw pixels.
    """
    return np.asarray(images, dtype=np.float32)[..., None]
