"""Resuming a killed training run from its last finished epoch.

Keras' ``BackupAndRestore`` keeps the weights and the epoch but not the state
of early stopping and learning-rate reduction, nor the history. ``Backup``
saves all of that after every epoch into the backup folder, bound by a
``fingerprint`` to the model, the recipe, the seed and the data;
``load_backup`` with the same fingerprint gives the state back (one made with
another fingerprint is discarded) and ``restore`` puts the run where it was.
The weights file holds the optimizer's slots and step count too.

``training.train`` uses these; what makes the resumed epochs draw the same
random numbers as an uninterrupted run is there (``epoch_order``, ``reseed``).
"""

import hashlib
import json
import logging
import os
import shutil

import keras
import numpy as np

from fer_workflow import arrays

log = logging.getLogger(__name__)

STATE_FILE = "state.json"


def fingerprint(model, train_cfg, seed, dataset):
    """Hash of everything a backup depends on: architecture, recipe, seed, data."""
    h = hashlib.sha256()
    h.update(model.to_json().encode())
    h.update(json.dumps(train_cfg, sort_keys=True).encode())
    h.update(str(seed).encode())
    for array in (dataset.x_train, dataset.y_train, dataset.x_val, dataset.y_val):
        h.update(np.ascontiguousarray(array).tobytes())
    if train_cfg.get("targets") == "votes":  # trained on the votes: they are data too
        h.update(np.ascontiguousarray(dataset.votes_train).tobytes())
    return h.hexdigest()


def current_learning_rate(model):
    """The optimizer's learning rate now (a schedule's value at the current step)."""
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


class Backup(keras.callbacks.Callback):
    """Saves everything needed to resume after each epoch.

    ``history`` is the list of epoch rows the training loop appends to. Must
    come after EarlyStopping, ReduceLROnPlateau and the callback that appends
    the epoch's row in the callback list, so that it sees their state after
    the epoch.
    """

    def __init__(self, backup_dir, key, history, early_stopping, reduce_lr):
        super().__init__()
        self.dir, self.key = backup_dir, key
        self.history, self.es, self.rlr = history, early_stopping, reduce_lr

    def on_epoch_end(self, epoch, logs=None):
        self._save(epoch + 1)

    def _save(self, epoch):
        """Write this epoch's files, then commit by atomically replacing state.json."""
        os.makedirs(self.dir, exist_ok=True)
        weights = f"epoch{epoch}.weights.h5"  # weights and optimizer state
        self.model.save_weights(os.path.join(self.dir, weights))
        state = {
            "key": self.key,
            "epoch": epoch,
            "history": self.history,
            "learning_rate": current_learning_rate(self.model),
            "weights": weights,
            "stopped": bool(self.model.stop_training),
        }
        if self.es is not None:
            state["early_stopping"] = {
                k: _plain(getattr(self.es, k)) for k in ("wait", "best", "best_epoch", "stopped_epoch")
            }
            if self.es.best_weights is not None:
                best = f"epoch{epoch}.best.npz"
                arrays.save(
                    os.path.join(self.dir, best),
                    {f"arr_{i}": w for i, w in enumerate(self.es.best_weights)},
                    compressed=False,
                )
                state["early_stopping"]["best_weights"] = best
        if self.rlr is not None:
            state["reduce_lr"] = {
                k: _plain(getattr(self.rlr, k)) for k in ("wait", "best", "cooldown_counter")
            }
        tmp = os.path.join(self.dir, STATE_FILE + ".tmp")
        with open(tmp, "w") as f:
            json.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(self.dir, STATE_FILE))
        # Files of earlier epochs are no longer referenced.
        keep = {STATE_FILE, weights, state.get("early_stopping", {}).get("best_weights")}
        for name in os.listdir(self.dir):
            if name not in keep:
                os.remove(os.path.join(self.dir, name))


def _plain(value):
    """JSON-friendly number (callbacks keep NumPy scalars or None)."""
    if value is None:
        return None
    return int(value) if isinstance(value, (int, np.integer)) else float(value)


def _best_weights(state, backup_dir):
    name = state.get("early_stopping", {}).get("best_weights")
    if not name:
        return None
    saved = arrays.load(os.path.join(backup_dir, name))
    return [saved[f"arr_{i}"] for i in range(len(saved))]


def _apply_state(state, es, rlr, backup_dir):
    if es is not None and "early_stopping" in state:
        s = state["early_stopping"]
        es.wait, es.best, es.best_epoch, es.stopped_epoch = (
            s["wait"],
            s["best"],
            s["best_epoch"],
            s["stopped_epoch"],
        )
        es.best_weights = _best_weights(state, backup_dir)
    if rlr is not None and "reduce_lr" in state:
        s = state["reduce_lr"]
        rlr.wait, rlr.best, rlr.cooldown_counter = s["wait"], s["best"], s["cooldown_counter"]


def restore(state, model, early_stopping, reduce_lr, backup_dir, scheduled):
    """Put a compiled ``model`` and its callbacks back where ``state`` left them.

    Weights and optimizer slots, the learning rate (unless ``scheduled``: a
    schedule follows the restored step count), and the state of early
    stopping and learning-rate reduction. Returns the history so far (a list
    of rows) and the number of finished epochs.
    """
    # Weights and optimizer slots: the optimizer needs its variables first.
    model.optimizer.build(model.trainable_variables)
    model.load_weights(os.path.join(backup_dir, state["weights"]))
    if not scheduled:
        model.optimizer.learning_rate = state["learning_rate"]
    _apply_state(state, early_stopping, reduce_lr, backup_dir)
    return state["history"], state["epoch"]


def load_backup(backup_dir, key):
    """The saved state if ``backup_dir`` holds one made with ``key``; else None.

    A backup made with other settings or data is deleted.
    """
    path = os.path.join(backup_dir, STATE_FILE)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            state = json.load(f)
    except (OSError, ValueError):
        state = {}
    if state.get("key") != key:
        log.info("discarding backup in %s: it was made with other settings or data", backup_dir)
        shutil.rmtree(backup_dir)
        return None
    return state


def clear_backup(backup_dir):
    """Delete the backup once the final outputs are written."""
    shutil.rmtree(backup_dir, ignore_errors=True)
