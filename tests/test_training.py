"""Training: history, resume after SIGKILL, same seed same numbers, the rule."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, merge
from fer_workflow.models import record, resume, training

# A tiny training run in a fresh process (seeds and Keras state start clean):
# 140 random faces whose class shows as a bright corner patch. With KILL_AT=k
# the process SIGKILLs itself right after epoch k's backup is written.
CHILD = textwrap.dedent(
    """
    import logging, os, signal, sys
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    import numpy as np
    from fer_workflow import runtime
    seed = int(os.environ.get("SEED", "7"))
    runtime.configure_backend(threads=2, seed=seed)
    import keras
    from fer_workflow import models
    from fer_workflow.models import training
    from fer_workflow.data import Dataset

    def faces(n, rng):
        y = rng.integers(0, 7, n).astype("int8")
        x = rng.integers(0, 120, (n, 48, 48)).astype("uint8")
        x[:, :12, :12] = (60 + 25 * y)[:, None, None]
        return x, y

    rng = np.random.default_rng(0)
    n = int(os.environ.get("N", "140"))
    (xt, yt), (xv, yv) = faces(n, rng), faces(42, rng)
    empty = np.zeros((0, 48, 48), "uint8")
    data = Dataset(xt, yt, xv, yv, empty, np.zeros(0, "int8"), np.zeros(0, "int64"), np.arange(n), np.arange(42))
    cnn = {{"blocks": [{{"filters": 4, "convs": 1, "kernel": 3, "batch_norm": True, "pool": 4, "dropout": 0.1}}],
           "separable": False, "head_pool": "flatten", "dense": [8], "dense_dropout": 0.2}}
    lr = float(os.environ.get("LR", "0.01"))
    train = {{"epochs": 4, "batch_size": 32, "optimizer": "adam", "learning_rate": lr, "momentum": 0.9,
             "weight_decay": 0.0, "steps_per_epoch": 0, "label_smoothing": 0.1,
             "reduce_lr": {{"factor": 0.5, "patience": 1, "min_lr": 1e-4}}, "early_stopping": {{"patience": 3}},
             "augment": {{"enabled": True, "flip": True, "shift": 0.05, "rotation": 0.02, "zoom": 0.05}},
             "mixed_precision": False, "jit_compile": False}}
    model = models.build_cnn(cnn, train["augment"])
    if os.environ.get("NO_RESEED"):  # what resuming did before: the streams restart
        training.reseed = lambda *args: None
    kill_at = int(os.environ.get("KILL_AT", "0"))

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    history = training.train(model, data, train, seed, sys.argv[1], callbacks=[Kill()])
    history.to_csv(sys.argv[2], index=False)
    np.savez(sys.argv[3], *model.get_weights())
    """
)


@pytest.fixture
def child(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD.format())

    def run(name, kill_at=0, seed=7, backup="backup", **extra_env):
        env = dict(
            os.environ,
            KILL_AT=str(kill_at),
            SEED=str(seed),
            PYTHONHASHSEED="0",
            TF_CPP_MIN_LOG_LEVEL="3",
            **extra_env,
        )
        args = [str(tmp_path / backup), str(tmp_path / f"{name}.csv"), str(tmp_path / f"{name}.npz")]
        proc = subprocess.run(
            [sys.executable, str(script), *args], capture_output=True, text=True, env=env, timeout=600
        )
        proc.history = tmp_path / f"{name}.csv"
        proc.weights = tmp_path / f"{name}.npz"
        return proc

    run.backup = tmp_path / "backup"
    run.path = lambda backup: tmp_path / backup
    return run


def weights(path):
    with np.load(path) as npz:
        return [npz[f"arr_{i}"] for i in range(len(npz.files))]


@pytest.mark.slow
def test_history_and_same_seed_same_numbers(child):
    first = child("first")
    assert first.returncode == 0, first.stderr[-3000:]
    history = pd.read_csv(first.history)
    assert list(history.columns) == training.HISTORY_COLUMNS
    assert history["epoch"].tolist() == [1, 2, 3, 4]
    assert history["accuracy"].between(0, 1).all() and (history["seconds"] > 0).all()
    assert (history["learning_rate"] <= 0.01 + 1e-9).all()
    for epoch in range(1, 5):
        assert f"epoch {epoch}/4 " in first.stdout
    assert "val_accuracy" in first.stdout and "lr 0.01" in first.stdout
    # The backup stays until the caller has written the outputs.
    assert json.loads((child.backup / "state.json").read_text())["epoch"] == 4
    resume.clear_backup(child.backup)

    second = child("second")
    assert second.returncode == 0, second.stderr[-3000:]
    cols = [c for c in training.HISTORY_COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(history[cols], pd.read_csv(second.history)[cols])
    for a, b in zip(weights(first.weights), weights(second.weights), strict=True):
        np.testing.assert_array_equal(a, b)


def h5_arrays(path):
    """Every array in a Keras ``.weights.h5`` file (layers and optimizer), by name."""
    import h5py

    arrays = {}
    with h5py.File(path) as f:
        f.visititems(
            lambda name, obj: arrays.update({name: obj[()]}) if isinstance(obj, h5py.Dataset) else None
        )
    return arrays


@pytest.mark.slow
def test_resume_gives_the_same_run(child):
    """Killed after epoch 2 of 4 and resumed, the run equals an uninterrupted
    one bit for bit: history, final (best-epoch) weights, and the last
    epoch's weights with the optimizer's slots. Shuffling, augmentation and
    dropout draw from (seed, epoch) alone, and the backup holds the
    optimizer's state, the learning rate and the early-stopping /
    learning-rate-reduction state. (Same machine, same threads: TensorFlow's
    CPU kernels are deterministic there, see
    test_history_and_same_seed_same_numbers.) Without reseeding the
    augmentation and dropout streams at each epoch, the resumed run drifts."""
    env = {"LR": "0.001"}  # at 0.01 this tiny CNN dies in epoch 1 and ignores the random streams
    full = child("full", backup="full", **env)
    assert full.returncode == 0, full.stderr[-3000:]
    assert child("killed", kill_at=2, **env).returncode == -signal.SIGKILL
    resumed = child("resumed", **env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from backup after epoch 2" in resumed.stdout
    expected, history = pd.read_csv(full.history), pd.read_csv(resumed.history)
    # The learning rate is halved after the kill: the restored ReduceLROnPlateau state matters.
    np.testing.assert_allclose(expected["learning_rate"], [0.001, 0.001, 0.0005, 0.00025], rtol=1e-6)
    cols = [c for c in training.HISTORY_COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(history[cols], expected[cols], check_exact=True)
    for a, b in zip(weights(resumed.weights), weights(full.weights), strict=True):
        np.testing.assert_array_equal(a, b)
    last, expected_last = (
        h5_arrays(child.backup / "epoch4.weights.h5"),
        h5_arrays(child.path("full") / "epoch4.weights.h5"),
    )
    assert sorted(last) == sorted(expected_last) and any(name.startswith("optimizer") for name in last)
    for name, array in expected_last.items():
        np.testing.assert_array_equal(last[name], array, err_msg=name)

    # The same without reseeding (the streams restart at the resume): it drifts.
    no_reseed = {**env, "NO_RESEED": "1"}
    drift_full = child("drift_full", backup="drift_full", **no_reseed)
    assert child("drift_killed", kill_at=2, backup="drift", **no_reseed).returncode == -signal.SIGKILL
    drift = child("drift", backup="drift", **no_reseed)
    a, b = pd.read_csv(drift_full.history), pd.read_csv(drift.history)
    pd.testing.assert_frame_equal(a[cols][:2], b[cols][:2], check_exact=True)
    assert not np.allclose(a["loss"][2:], b["loss"][2:], rtol=1e-4, atol=0)


def test_epoch_order_depends_on_seed_and_epoch_only():
    a = training.epoch_order(70, 3, seed=1)
    assert sorted(a) == list(range(70))
    np.testing.assert_array_equal(a, training.epoch_order(70, 3, seed=1))
    assert not np.array_equal(a, training.epoch_order(70, 4, seed=1))
    assert not np.array_equal(a, training.epoch_order(70, 3, seed=2))
    # steps_per_epoch x batch = 32 < 70: a pass is 2 epochs of 32 distinct images.
    first, second = (training.epoch_order(70, e, seed=1, epoch_size=32) for e in (0, 1))
    assert len(first) == len(second) == 32 and len(set(first) | set(second)) == 64
    # 112 > 70: every image once, 42 of them twice.
    counts = np.bincount(training.epoch_order(70, 5, seed=1, epoch_size=112), minlength=70)
    assert set(counts) == {1, 2} and counts.sum() == 112


def test_reseed_sets_every_random_stream():
    from fer_workflow import models

    augment = {"enabled": True, "flip": True, "shift": 0.1, "rotation": 0.0, "zoom": 0.0, "cutout": 0.2}
    cnn = {
        "blocks": [{"filters": 2, "convs": 1, "kernel": 3, "batch_norm": False, "pool": 4, "dropout": 0.5}],
        "separable": False,
        "head_pool": "avg",
        "dense": [],
        "dense_dropout": 0.5,
    }
    model = models.build_cnn(cnn, augment)
    states = training.seed_states(model)
    assert len(states) == 4  # augmentation, cutout and two dropout layers
    x = np.random.default_rng(0).uniform(0, 255, (4, 48, 48, 1)).astype("float32")
    training.reseed(model, 5, 2)
    first = np.asarray(model(x, training=True))
    assert not np.array_equal(first, np.asarray(model(x, training=True)))  # the streams moved on
    training.reseed(model, 5, 2)
    np.testing.assert_array_equal(first, np.asarray(model(x, training=True)))
    training.reseed(model, 5, 3)
    assert not np.array_equal(first, np.asarray(model(x, training=True)))


@pytest.mark.slow
def test_resume_after_sigkill(child):
    killed = child("killed", kill_at=2)
    assert killed.returncode == -signal.SIGKILL
    assert not killed.history.exists()
    state = json.loads((child.backup / "state.json").read_text())
    assert state["epoch"] == 2 and len(state["history"]) == 2
    assert "early_stopping" in state and "reduce_lr" in state

    resumed = child("resumed")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from backup after epoch 2" in resumed.stdout
    assert "epoch 1/4" not in resumed.stdout and "epoch 2/4" not in resumed.stdout
    assert "epoch 3/4" in resumed.stdout and "epoch 4/4" in resumed.stdout
    history = pd.read_csv(resumed.history)
    assert history["epoch"].tolist() == [1, 2, 3, 4]
    # Epochs 1-2 come from the backup unchanged.
    np.testing.assert_allclose(history["loss"][:2], [row["loss"] for row in state["history"]])
    assert len(weights(resumed.weights)) > 0


@pytest.mark.slow
def test_backup_of_other_settings_is_discarded(child):
    assert child("killed", kill_at=1).returncode == -signal.SIGKILL
    other = child("other", seed=8)
    assert other.returncode == 0, other.stderr[-3000:]
    assert "discarding backup" in other.stdout and "resuming" not in other.stdout
    assert "epoch 1/4" in other.stdout


def test_summary_text_ends_with_parameter_counts():
    from fer_workflow import models

    model = models.build_dnn([10], {"batch_norm": True, "dropout": 0.0})
    text = training.summary_text(model, {"matched_to_cnn_parameters": 123})
    lines = text.strip().splitlines()
    assert "dense1" in text and "logits" in text
    assert lines[-3] == f"parameters: {model.count_params()}"
    # Batch-norm moving statistics are not trainable.
    assert lines[-2] == f"trainable_parameters: {model.count_params() - 20}"
    assert lines[-1] == "matched_to_cnn_parameters: 123"


def test_learning_curves_figure():
    from fer_workflow.plots import training as training_plots

    def history(acc):
        return pd.DataFrame(
            {"epoch": [1, 2], "loss": [2, 1], "accuracy": acc, "val_loss": [2, 1.5], "val_accuracy": acc}
        )

    fig = training_plots.learning_curves(
        {"cnn": history([0.3, 0.6]), "dnn": history([0.2, 0.3])}, {"cnn": 1234, "dnn": 1240}
    )
    acc_ax, loss_ax = fig.axes[:2]
    assert len(acc_ax.lines) == 4 and len(loss_ax.lines) == 4
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert any("1,234" in label for label in labels) and any("1,240" in label for label in labels)
    # The legend covers no curve: it lies outside both panels.
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    assert not any(box.overlaps(ax.get_window_extent(renderer)) for ax in (acc_ax, loss_ax))
    # The kept epoch (the record's kept_epoch) is ringed on the validation accuracy curve.
    histories = {"cnn": history([0.3, 0.6]), "dnn": history([0.2, 0.3])}
    fig = training_plots.learning_curves(histories, {"cnn": 1234, "dnn": 1240}, kept={"cnn": 1, "dnn": 2})
    acc_ax = fig.axes[0]
    rings = {
        line.get_label(): line.get_xydata().tolist() for line in acc_ax.lines if "kept" in line.get_label()
    }
    assert rings == {
        "CNN (1,234 parameters), kept epoch 1": [[1, 0.3]],
        "DNN (1,240 parameters), kept epoch 2": [[2, 0.3]],
    }


@pytest.mark.slow
def test_workflow_trains_both_models_matched(completed_tiny_workflow):
    wf = completed_tiny_workflow
    for model in ("cnn", "dnn"):
        assert wf.path(f"results/models/{model}.keras").stat().st_size > 0
        history = pd.read_csv(wf.path(f"results/models/{model}.history.csv"))
        assert list(history.columns) == training.HISTORY_COLUMNS
        assert history["epoch"].tolist() == list(range(1, wf.config["train"]["epochs"] + 1))
        assert not wf.path(f"results/models/.{model}.backup").exists()
        log = wf.path(f"results/logs/train_{model}.log").read_text()
        assert f"epoch {wf.config['train']['epochs']}/" in log
        assert wf.path(f"results/timings/train_{model}.tsv").exists()
    cnn, dnn = (record.read(wf.path(f"results/models/{model}.json")) for model in ("cnn", "dnn"))
    assert abs(dnn["parameters"] - cnn["parameters"]) <= 0.01 * cnn["parameters"]
    # TINY's CNN: the DNN's widths follow dnn.hidden_ratios exactly.
    assert dnn["dnn"] == {
        "hidden_widths": [16, 8, 4],
        "hidden_ratios": [1.0, 0.5, 0.25],
        "matched_to_cnn_parameters": cnn["parameters"],
    }
    assert cnn["widths"] == {"block1_conv1": 8, "block2_conv1": 12, "dense1": 21, "logits": 7}
    assert cnn["seed"] == wf.config["seed"] and cnn["precision_policy"] == "float32"
    assert cnn["flops"] > dnn["flops"] > 2 * 2304 * 16
    # The summary says the same for people.
    summary = wf.path("results/models/dnn.summary.txt").read_text()
    assert f"parameters: {dnn['parameters']}\n" in summary
    assert f"matched_to_cnn_parameters: {cnn['parameters']}" in summary
    assert "dnn_widths: 16 8 4\n" in summary and "dnn_width_ratios: 1 : 0.5 : 0.25\n" in summary
    assert "dnn_hidden_ratios: 1 : 0.5 : 0.25\n" in summary
    assert wf.path("results/figures/learning_curves.png").stat().st_size > 0


@pytest.mark.slow
def test_workflow_resumes_a_killed_training_job(completed_tiny_workflow, tmp_path):
    """SIGKILL the whole Snakemake process group once the CNN's first epoch is
    backed up; the rerun (--rerun-incomplete) continues after that epoch.
    (A copy of the shared tiny run: its data is split; 3 epochs retrain the CNN.)"""
    workflow = completed_tiny_workflow.clone(tmp_path / "wf")
    config = merge(workflow.config, {"train": {"epochs": 3}})
    target = "results/models/cnn.keras"
    assert workflow.dry_run_jobs("--", target, config=config) == {"train_model": 1}
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        "1",
        target,
        "--configfile",
        str(workflow.write_config(config)),
    ]
    env = dict(os.environ, PYTHONHASHSEED="0", TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.Popen(
        cmd,
        cwd=workflow.root,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    state = workflow.path("results/models/.cnn.backup/state.json")
    deadline = time.time() + 300
    while not state.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    if not state.exists() or json.loads(state.read_text())["epoch"] >= 3:
        pytest.skip("training finished before it could be killed")
    epoch = json.loads(state.read_text())["epoch"]
    # A killed Snakemake leaves its lock behind; the user unlocks, then reruns.
    workflow.run("--unlock", config=config)
    workflow.run("--rerun-incomplete", "--", target, config=config)
    log = workflow.path("results/logs/train_cnn.log").read_text()
    assert f"resuming from backup after epoch {epoch}" in log
    assert f"epoch {epoch}/3" not in log and "epoch 3/3" in log
    history = pd.read_csv(workflow.path("results/models/cnn.history.csv"))
    assert history["epoch"].tolist() == [1, 2, 3]
    assert not state.parent.exists()


@pytest.mark.parametrize("steps", [7, 2])  # 112 images per epoch > 70; 32 < 70
def test_every_epoch_has_steps_per_epoch_steps(tmp_path, steps):
    import yaml

    from fer_workflow import models
    from fer_workflow.data import Dataset

    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 255, (70, 48, 48)).astype("uint8"), rng.integers(0, 7, 70).astype("int8")
    empty = np.zeros((0, 48, 48), "uint8")
    data = Dataset(
        x, y, x[:20], y[:20], empty, np.zeros(0, "int8"), np.zeros(0, "int64"), np.arange(70), np.arange(20)
    )
    train_cfg = yaml.safe_load((REPO / "config.yaml").read_text())["train"]
    train_cfg.update(epochs=3, batch_size=16, steps_per_epoch=steps)
    cnn = {
        "blocks": [{"filters": 2, "convs": 1, "kernel": 3, "batch_norm": False, "pool": 4, "dropout": 0.0}]
    }
    model = models.build_cnn(
        {**cnn, "separable": False, "head_pool": "avg", "dense": [], "dense_dropout": 0.0}
    )
    history = training.train(model, data, train_cfg, 0, tmp_path / "backup")
    assert len(history) == 3
    assert int(np.asarray(model.optimizer.iterations)) == 3 * steps


def train_with_snapshots(tmp_path, **train):
    """A tiny in-process training run with the recipe changed by ``train``:
    (history, record.history_stats of it, {epoch: weights at its end}, the model)."""
    import keras
    import yaml

    from fer_workflow import models
    from fer_workflow.data import Dataset

    # Random labels: validation accuracy wanders instead of climbing every epoch.
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 255, (64, 48, 48)).astype("uint8"), rng.integers(0, 7, 64).astype("int8")
    xv, yv = rng.integers(0, 255, (28, 48, 48)).astype("uint8"), rng.integers(0, 7, 28).astype("int8")
    empty = np.zeros((0, 48, 48), "uint8")
    data = Dataset(
        x, y, xv, yv, empty, np.zeros(0, "int8"), np.zeros(0, "int64"), np.arange(64), np.arange(28)
    )
    train_cfg = yaml.safe_load((REPO / "config.yaml").read_text())["train"]
    train_cfg.update(batch_size=16, learning_rate=0.05, mixed_precision=False, **train)
    cnn = {"blocks": [{"filters": 2, "convs": 1, "kernel": 3, "batch_norm": True, "pool": 4, "dropout": 0.0}]}
    model = models.build_cnn(
        {**cnn, "separable": False, "head_pool": "avg", "dense": [], "dense_dropout": 0.0}
    )
    weights = {}

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights[epoch + 1] = self.model.get_weights()

    history = training.train(model, data, train_cfg, 0, tmp_path / "backup", callbacks=[Snapshot()])
    return history, record.history_stats(history, training.restores_best(train_cfg)), weights, model


def same_weights(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))


def test_early_stopping_keeps_the_best_epoch_and_says_validation_chose_it(tmp_path):
    history, stats, weights, model = train_with_snapshots(tmp_path, epochs=8, early_stopping={"patience": 1})
    last = int(history["epoch"].iloc[-1])
    assert last < 8, "expected early stopping on the wandering validation accuracy"
    assert stats["epoch_chosen_on"] == "validation"
    assert stats["kept_epoch"] == stats["best_val_epoch"] < last  # stopped after a worse epoch
    assert history["val_accuracy"].max() == history["val_accuracy"][stats["kept_epoch"] - 1]
    # The weights training ends with (and train_model saves) are the kept epoch's, not the last's.
    assert same_weights(model.get_weights(), weights[stats["kept_epoch"]])
    assert not same_weights(model.get_weights(), weights[last])


def test_a_fixed_number_of_epochs_keeps_the_last_and_says_nothing_chose_it(tmp_path):
    history, stats, weights, model = train_with_snapshots(tmp_path, epochs=3, early_stopping={"patience": 0})
    assert history["epoch"].tolist() == [1, 2, 3]
    assert (stats["kept_epoch"], stats["epoch_chosen_on"]) == (3, "none")
    assert same_weights(model.get_weights(), weights[3])


def test_cosine_schedule_warms_up_then_decays_to_zero():
    cfg = {"learning_rate": 0.01, "epochs": 10, "schedule": "cosine", "warmup_epochs": 2}
    lr = training.learning_rate(cfg, steps_per_epoch=5)
    values = [float(lr(step)) for step in (0, 10, 30, 50)]
    assert values[0] == pytest.approx(0.001)  # a tenth of the rate at the start
    assert values[1] == pytest.approx(0.01)  # the full rate after the warm-up
    assert values[2] == pytest.approx(0.005, rel=1e-3)  # half-way through the decay
    assert values[3] == pytest.approx(0.0, abs=1e-9)
    assert training.learning_rate({**cfg, "schedule": "plateau"}, 5) == 0.01


def test_balanced_class_weights():
    weights = training.class_weights(np.array([0, 0, 0, 1, 3, 3]), True)
    assert weights[0] == pytest.approx(6 / (3 * 3)) and weights[1] == pytest.approx(6 / 3)
    assert weights[2] == 0.0  # absent class
    assert sum(weights[c] * n for c, n in ((0, 3), (1, 1), (3, 2))) == pytest.approx(6)
    assert training.class_weights([0, 1], False) is None


def test_training_follows_the_cosine_schedule_with_class_weights(tmp_path):
    import yaml

    from fer_workflow import models
    from fer_workflow.data import Dataset

    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 255, (64, 48, 48)).astype("uint8"), rng.integers(0, 7, 64).astype("int8")
    empty = np.zeros((0, 48, 48), "uint8")
    data = Dataset(
        x, y, x[:16], y[:16], empty, np.zeros(0, "int8"), np.zeros(0, "int64"), np.arange(64), np.arange(16)
    )
    train_cfg = yaml.safe_load((REPO / "config.yaml").read_text())["train"]
    train_cfg.update(epochs=4, batch_size=16, schedule="cosine", warmup_epochs=1, class_weight=True)
    cnn = {
        "blocks": [{"filters": 2, "convs": 1, "kernel": 3, "batch_norm": False, "pool": 4, "dropout": 0.0}]
    }
    model = models.build_cnn(
        {**cnn, "separable": False, "head_pool": "avg", "dense": [], "dense_dropout": 0.0}
    )
    history = training.train(model, data, train_cfg, 0, tmp_path / "backup")
    schedule = training.learning_rate(train_cfg, steps_per_epoch=4)
    # The rate at each epoch's start is the schedule's at that step; ReduceLROnPlateau is off.
    np.testing.assert_allclose(
        history["learning_rate"], [float(schedule(4 * e)) for e in range(4)], rtol=1e-5
    )
    assert history["learning_rate"][0] == pytest.approx(train_cfg["learning_rate"] / 10)
    assert np.isfinite(history["loss"]).all()
