"""Training: the same recipe for both models, resumable after a kill.

Only the ``keras`` API is used, so training runs under any Keras backend.
Inputs stay in memory as NumPy float32 arrays; Keras slices the batches, so
there is no per-batch Python work. The test split is never touched here.

Resuming (``fer_workflow.models.resume``): after every epoch the run is backed up;
a later ``train`` call of the same run continues after the last finished
epoch.

Exact resume: a resumed run gives the same history and weights as an
uninterrupted one. Everything random in an epoch is a function of
``(seed, epoch)`` alone, so the backup needs no random-number state: the
order of the training images (``epoch_order``) and the state of every
``SeedGenerator`` of the model (augmentation, dropout; ``reseed``) are set at
the start of each epoch. So each epoch is its own ``fit`` call, over the
images in that epoch's order; early stopping and learning-rate reduction
keep their state across the calls (``_persistent``).
"""

import logging
import time

import keras
import numpy as np
import pandas as pd

from fer_workflow import NUM_CLASSES
from fer_workflow.data import votes
from fer_workflow.data.dataset import as_model_input
from fer_workflow.models import resume

log = logging.getLogger(__name__)

HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds"]


def cpu_has_bf16(cpuinfo="/proc/cpuinfo"):
    """Whether this CPU does bfloat16 arithmetic (AVX512_BF16 or AMX flags, Linux).

    Without them oneDNN has no bfloat16 kernels to use, and a mixed_bfloat16
    model runs far slower than float32."""
    try:
        with open(cpuinfo) as f:
            flags = set(f.read().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def set_precision(train_cfg):
    """Global dtype policy; call before building the model. ``mixed_precision``
    true or float16: mixed_float16 (GPU); bfloat16: mixed_bfloat16 (a CPU with
    AVX512_BF16 or AMX); auto: mixed_bfloat16 where the CPU has those, else
    float32; false: float32. Weights stay float32 either way. Returns the policy."""
    mixed = train_cfg["mixed_precision"]
    if mixed == "auto":
        mixed = "bfloat16" if cpu_has_bf16() else False
    policy = "mixed_bfloat16" if mixed == "bfloat16" else "mixed_float16" if mixed else "float32"
    keras.mixed_precision.set_global_policy(policy)
    return policy


def learning_rate(train_cfg, steps_per_epoch):
    """The optimizer's learning rate: a number (``schedule: plateau``, lowered by
    ReduceLROnPlateau) or, for ``schedule: cosine``, a linear warm-up over
    ``warmup_epochs`` from a tenth of ``learning_rate`` to it, then a cosine
    decay to zero at the last epoch (Loshchilov & Hutter 2017, SGDR)."""
    lr = float(train_cfg["learning_rate"])
    if train_cfg.get("schedule", "plateau") == "plateau":
        return lr
    total = int(train_cfg["epochs"]) * steps_per_epoch
    warmup = min(int(train_cfg.get("warmup_epochs", 0)) * steps_per_epoch, total - 1)
    return keras.optimizers.schedules.CosineDecay(
        lr / 10 if warmup else lr, total - warmup, warmup_target=lr if warmup else None, warmup_steps=warmup
    )


def make_optimizer(train_cfg, steps_per_epoch=1):
    name, lr = train_cfg["optimizer"], learning_rate(train_cfg, steps_per_epoch)
    if name == "adam":
        return keras.optimizers.Adam(lr)
    if name == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=float(train_cfg["weight_decay"]))
    if name == "adadelta":
        return keras.optimizers.Adadelta(lr)
    if name == "sgd":
        return keras.optimizers.SGD(lr, momentum=float(train_cfg["momentum"]), nesterov=True)
    raise ValueError(f"optimizer: unknown optimizer {name!r}")


def compile_model(model, train_cfg, steps_per_epoch=1):
    """Compile with the recipe's optimizer, smoothed cross-entropy and accuracy."""
    # JAX always compiles (jit_compile=False there means slow op-by-op execution).
    jit = bool(train_cfg["jit_compile"]) or keras.backend.backend() == "jax"
    model.compile(
        optimizer=make_optimizer(train_cfg, steps_per_epoch),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=float(train_cfg["label_smoothing"])),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        jit_compile=jit,
    )


def class_weights(labels, enabled):
    """Balanced class weights n / (classes * count) for ``fit``, or None when off."""
    if not enabled:
        return None
    counts = np.bincount(np.asarray(labels, np.int64), minlength=NUM_CLASSES)
    present = counts > 0
    weights = np.where(present, len(labels) / (present.sum() * np.maximum(counts, 1)), 0.0)
    return {i: float(w) for i, w in enumerate(weights)}


def _persistent(callback_class):
    """``callback_class`` whose state is set up once, at construction, and kept
    across ``fit`` calls (one per epoch here): Keras resets it in
    ``on_train_begin``. Restoring the best weights at the end is left to
    ``train``, which calls ``restore_best`` after the last epoch."""

    class _Persistent(callback_class):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            super().on_train_begin()

        def on_train_begin(self, logs=None):
            pass

        def on_train_end(self, logs=None):
            pass

    _Persistent.__name__ = callback_class.__name__
    return _Persistent


def restores_best(train_cfg):
    """Whether ``train`` ends with the weights of the epoch with the highest
    val_accuracy (early stopping on: restored whether or not it stopped
    early, so validation chose the epoch) rather than the last epoch's (a
    number of epochs fixed in advance). ``record.history_stats`` says which
    epoch that is."""
    return int(train_cfg["early_stopping"]["patience"]) > 0


def epoch_order(n, epoch, seed, epoch_size=None):
    """Indices of the training images for ``epoch`` (0-based), in order.

    A function of ``(seed, epoch)`` only, so a resumed run sees the same
    images in the same order as an uninterrupted one. Without
    ``epoch_size``: a permutation of all ``n``. With it (steps_per_epoch x
    batch_size), a pass over the data is ``m`` epochs long (``m`` = n /
    epoch_size rounded, at least 1): every image ``total // n`` times plus a
    random subset once more (or, if the pass is shorter than the data, a
    random subset), shuffled; the epoch is its slice of the pass.
    """
    if not epoch_size:
        return np.random.default_rng([seed, epoch]).permutation(n)
    m = max(1, round(n / epoch_size))
    total = m * epoch_size
    rng = np.random.default_rng([seed, epoch // m, 1])  # one generator per pass
    index = np.concatenate([np.tile(np.arange(n), total // n), rng.permutation(n)[: total % n]])
    index = index[rng.permutation(total)]
    part = epoch % m
    return index[part * epoch_size : (part + 1) * epoch_size]


def seed_states(model):
    """The state variables of the model's ``SeedGenerator``s (augmentation, dropout)."""
    return [v for v in model.variables if v.name == "seed_generator_state"]


def reseed(model, seed, epoch):
    """Set every random stream of the model to a state that depends only on
    ``(seed, epoch)`` and its position in the model, so that the epoch draws
    the same augmentation and dropout whether or not the run was resumed."""
    for i, state in enumerate(seed_states(model)):
        value = int(np.random.SeedSequence([seed, epoch, i]).generate_state(1)[0] % 2**31)
        state.assign(np.array([value, 0]).astype(state.dtype))


class _EpochLog(keras.callbacks.Callback):
    """Appends each epoch's row (``HISTORY_COLUMNS``) to ``history`` and logs it."""

    def __init__(self, epochs, history):
        super().__init__()
        self.epochs, self.history = epochs, history

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
        self.lr = resume.current_learning_rate(self.model)

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **{k: float(logs[k]) for k in HISTORY_COLUMNS[1:5]}}
        row.update(learning_rate=self.lr, seconds=round(time.perf_counter() - self.start, 3))
        self.history.append(row)
        log.info(
            "epoch %d/%d %.1fs loss %.4f accuracy %.4f val_loss %.4f val_accuracy %.4f lr %.3g",
            epoch + 1,
            self.epochs,
            row["seconds"],
            row["loss"],
            row["accuracy"],
            row["val_loss"],
            row["val_accuracy"],
            row["learning_rate"],
        )


def train(model, dataset, train_cfg, seed, backup_dir, callbacks=()):
    """Train ``model`` on the dataset's training split, validating each epoch.

    Resumes from ``backup_dir`` if it holds a backup of the same run; leaves
    the backup there (call ``resume.clear_backup`` after writing the outputs). With
    early stopping on, the weights of the best validation epoch are restored
    at the end. ``callbacks`` run after each epoch's backup is saved (each
    epoch is one ``fit`` call, so their ``on_train_begin``/``end`` run per epoch).
    Returns the history, one row per epoch, HISTORY_COLUMNS.
    """
    x_train, x_val = as_model_input(dataset.x_train), as_model_input(dataset.x_val)
    # train.targets: one-hot labels, or the FER+ vote distributions (validation stays on the labels).
    y_train = votes.training_targets(dataset, train_cfg.get("targets", "labels"))
    y_val = keras.utils.to_categorical(dataset.y_val, NUM_CLASSES).astype("float32")
    epochs = int(train_cfg["epochs"])
    steps = int(train_cfg["steps_per_epoch"]) or None
    batch = int(train_cfg["batch_size"])
    scheduled = train_cfg.get("schedule", "plateau") != "plateau"

    compile_model(model, train_cfg, steps or -(-len(x_train) // batch))
    key = resume.fingerprint(model, train_cfg, seed, dataset)
    state = resume.load_backup(backup_dir, key)

    es = rlr = None
    if restores_best(train_cfg):
        es = _persistent(keras.callbacks.EarlyStopping)(
            monitor="val_accuracy",
            mode="max",
            patience=int(train_cfg["early_stopping"]["patience"]),
            restore_best_weights=True,
        )
    if train_cfg["reduce_lr"]["patience"] > 0 and not scheduled:
        rlr = _persistent(keras.callbacks.ReduceLROnPlateau)(
            monitor="val_accuracy",
            mode="max",
            factor=float(train_cfg["reduce_lr"]["factor"]),
            patience=int(train_cfg["reduce_lr"]["patience"]),
            min_lr=float(train_cfg["reduce_lr"]["min_lr"]),
        )

    history, initial_epoch = [], 0
    if state:
        history, initial_epoch = resume.restore(state, model, es, rlr, backup_dir, scheduled)
        log.info("resuming from backup after epoch %d (%s)", initial_epoch, backup_dir)

    if state and (state["stopped"] or initial_epoch >= epochs):
        log.info("training had already finished before the interruption")
    else:
        # The backup comes after the callbacks whose state it saves.
        epoch_log = _EpochLog(epochs, history)
        backup = resume.Backup(backup_dir, key, history, es, rlr)
        callbacks = [cb for cb in (es, rlr) if cb is not None] + [epoch_log, backup, *callbacks]
        epoch_size = steps * batch if steps else None
        weights = class_weights(dataset.y_train, train_cfg.get("class_weight", False))
        for epoch in range(initial_epoch, epochs):
            order = epoch_order(len(x_train), epoch, seed, epoch_size)
            reseed(model, seed, epoch)
            model.fit(
                x_train[order],
                y_train[order],
                batch_size=batch,
                epochs=epoch + 1,
                initial_epoch=epoch,
                validation_data=(x_val, y_val),
                validation_batch_size=max(batch, 256),
                callbacks=callbacks,
                class_weight=weights,
                shuffle=False,
                verbose=0,
            )
            if model.stop_training:
                break
    if es is not None and es.best_weights is not None:
        # What Keras' EarlyStopping does at the end of training.
        model.set_weights(es.best_weights)
        log.info("kept epoch %d: the best val_accuracy, %.4f", es.best_epoch + 1, es.best)
    elif history:
        log.info("kept epoch %d: the last", history[-1]["epoch"])
    return pd.DataFrame(history, columns=HISTORY_COLUMNS)


def summary_text(model, extra=None):
    """Keras layer table, then ``parameters:`` / ``trainable_parameters:`` and extra lines."""
    lines = []
    model.summary(line_length=100, print_fn=lambda text, **kwargs: lines.append(text))
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    lines += [f"parameters: {model.count_params()}", f"trainable_parameters: {trainable}"]
    lines += [f"{key}: {value}" for key, value in (extra or {}).items()]
    return "\n".join(lines) + "\n"
