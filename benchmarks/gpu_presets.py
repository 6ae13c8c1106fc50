"""One prepared GPU check: time the GPU presets and try recipes for the CPU
preset, all as parallel jobs on one accelerator, within a fixed wall time.

Made for a lent GPU machine that has JAX but no TensorFlow (Keras runs under
KERAS_BACKEND=jax with the keras wheel carried). The training data travels
packed: the FER2013 training images as row-wise pixel differences, xz
compressed (49 MB instead of 66), made here by

    python benchmarks/gpu_presets.py pack --raw results/data/raw.npz --to .device

and on the GPU machine

    python benchmarks/gpu_presets.py run --packed .device --out "$OUT" --seconds 330

which unpacks the images, starts every job in JOBS at once (each a
benchmarks/train_preset.py process on its own slice of GPU memory, stopped
after the epoch crossing --seconds), and prints each job's epoch lines and a
summary table of the RESULT lines. The small CPU-preset CNNs cannot fill an
H200, so running them beside the two large presets costs little; the summary
says that the epoch times were measured with all jobs sharing the GPU.
"""

import argparse
import json
import lzma
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from fer_workflow import arrays

HERE = Path(__file__).resolve().parent
CPU, GPU, HW3 = "presets/fer2013-cpu.yaml", "presets/fer2013-gpu.yaml", "presets/hw3-report.yaml"
COSINE = ["train.schedule=cosine", "train.warmup_epochs=2", "train.early_stopping.patience=0"]

# label, preset, overrides, epochs (None: the preset's)
JOBS = [
    ("gpu-preset", GPU, [], None),
    ("hw3-report", HW3, [], 3),
    ("cpu-preset", CPU, [], None),
    ("cpu-45ep", CPU, [], 45),
    ("cpu-cosine", CPU, COSINE, None),
    ("cpu-cosine-45ep", CPU, COSINE, 45),
    ("cpu-sgd-cosine", CPU, [*COSINE, "train.optimizer=sgd", "train.learning_rate=0.01"], None),
    ("cpu-cosine-classweight", CPU, [*COSINE, "train.class_weight=true"], None),
]

# Second round: variations of the best first-round recipe (cosine, 45 epochs).
C45 = [*COSINE, "train.epochs=45"]
LESS_DROPOUT = (
    "cnn.blocks=[{filters: 16, convs: 2, kernel: 3, batch_norm: true, pool: 2, dropout: 0.0},"
    " {filters: 32, convs: 2, kernel: 3, batch_norm: true, pool: 2, dropout: 0.05},"
    " {filters: 64, convs: 2, kernel: 3, batch_norm: true, pool: 2, dropout: 0.1},"
    " {filters: 128, convs: 1, kernel: 3, batch_norm: true, pool: 1, dropout: 0.2}]"
)
ROUND2 = [
    ("r2-cosine-45ep", CPU, C45, None),
    ("r2-lr0.004", CPU, [*C45, "train.learning_rate=0.004"], None),
    ("r2-no-smoothing", CPU, [*C45, "train.label_smoothing=0.0"], None),
    ("r2-less-dropout", CPU, [*C45, LESS_DROPOUT, "cnn.dense_dropout=0.3"], None),
    (
        "r2-strong-aug",
        CPU,
        [*C45, "train.augment.shift=0.15", "train.augment.zoom=0.15", "train.augment.rotation=0.07"],
        None,
    ),
    ("r2-adamw", CPU, [*C45, "train.optimizer=adamw", "train.weight_decay=0.01"], None),
    ("r2-batch128", CPU, [*C45, "train.batch_size=128", "train.learning_rate=0.004"], None),
    ("r2-dense256", CPU, [*C45, "cnn.dense=[256]"], None),
]
ROUNDS = {"1": JOBS, "2": ROUND2}


def pack(raw_path, to):
    """x_train as per-row pixel differences (uint8, wrapping), xz; labels as .npy."""
    raw = arrays.load(raw_path, ["x_train", "y_train"])
    x, y = raw["x_train"], raw["y_train"]
    to = Path(to)
    to.mkdir(parents=True, exist_ok=True)
    flat = x.reshape(len(x), -1).astype(np.int16)
    delta = np.diff(flat, axis=1, prepend=0).astype(np.uint8)
    with lzma.open(to / "fer2013_train.xz", "wb", preset=6) as f:
        f.write(delta.tobytes())
    np.save(to / "fer2013_labels.npy", y)


def unpack(packed, raw_path):
    """Inverse of ``pack``: writes a raw.npz with an empty test set."""
    packed = Path(packed)
    y = np.load(packed / "fer2013_labels.npy")
    with lzma.open(packed / "fer2013_train.xz") as f:
        delta = np.frombuffer(f.read(), np.uint8).reshape(len(y), 48 * 48)
    x = np.cumsum(delta, axis=1, dtype=np.uint64).astype(np.uint8).reshape(len(y), 48, 48)
    empty = {
        "x_test": np.zeros((0, 48, 48), np.uint8),
        "y_test": np.zeros(0, np.int8),
        "test_ids": np.zeros(0, np.int64),
    }
    arrays.save(raw_path, {"x_train": x, "y_train": y, **empty}, compressed=False)


def run(packed, out, seconds, jobs):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    raw = "/tmp/fer2013_raw.npz"
    start = time.perf_counter()
    unpack(packed, raw)
    print(f"unpacked in {time.perf_counter() - start:.1f} s", flush=True)
    env = dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false", PYTHONUNBUFFERED="1")
    env.setdefault("KERAS_BACKEND", "jax")
    procs = {}
    for label, preset, sets, epochs in jobs:
        cmd = [sys.executable, str(HERE / "train_preset.py"), "--raw", raw, "--configfile", preset]
        cmd += ["--label", label, "--max-seconds", str(seconds)]
        cmd += [arg for s in sets for arg in ("--set", s)]
        cmd += ["--epochs", str(epochs)] if epochs else []
        log = open(out / f"{label}.log", "w")
        procs[label] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log)
    results = []
    for label, (proc, log) in procs.items():
        proc.wait()
        log.close()
        lines = (out / f"{label}.log").read_text().splitlines()
        found = [json.loads(line[len("RESULT ") :]) for line in lines if line.startswith("RESULT ")]
        print(f"--- {label}: exit {proc.returncode}")
        shown = [line for line in lines if line.startswith(("epoch ", label, "best", "RESULT"))]
        print("\n".join(shown[-60:]))
        if proc.returncode:
            print("\n".join(lines[-15:]))
        results += found
    (out / "results.json").write_text(json.dumps(results, indent=1))
    print(f"\nall {len(jobs)} jobs ran at once on one GPU; wall {time.perf_counter() - start:.0f} s")
    print("label | epochs | first epoch s | epoch s (median) | images/s | best val acc (epoch)")
    for r in results:
        print(
            f"{r['label']} | {r['epochs']} | {r['first_epoch_s']} | {r['epoch_s']} | "
            f"{r['train_images_per_s']} | {r['best_val_accuracy']} ({r['best_epoch']})"
        )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--raw", required=True)
    p.add_argument("--to", required=True)
    r = sub.add_parser("run")
    r.add_argument("--packed", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--seconds", type=float, default=330)
    r.add_argument("--round", choices=sorted(ROUNDS), default="1", help="which job list")
    r.add_argument("--only", nargs="*", help="labels of the round's jobs to run (default: all)")
    r.add_argument("--epochs", type=int, help="override every job's epochs (for a quick local check)")
    args = parser.parse_args()
    if args.command == "pack":
        pack(args.raw, args.to)
    else:
        jobs = [j for j in ROUNDS[args.round] if not args.only or j[0] in args.only]
        if args.epochs:
            jobs = [(label, preset, sets, args.epochs) for label, preset, sets, _ in jobs]
        run(args.packed, args.out, args.seconds, jobs)


if __name__ == "__main__":
    main()
