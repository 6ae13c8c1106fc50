"""Latency of the shipped CNN in Keras, ONNX Runtime and LiteRT on this machine's cores.

    python benchmarks/export_latency.py                  # the shipped model, 2 threads
    python benchmarks/export_latency.py --model results/models/cnn.keras --threads 2

Exports the model (``export.export_model``: float32, no augmentation layers)
to a temporary folder, then times, for batch 1 and batch 32 of FER2013-sized
faces (random pixels: the time does not depend on them): Keras ``model(x)``
(eager, as ``predict.predict_probs`` calls it), Keras ``predict_on_batch``
(compiled, as ``classify.classify_crops`` calls it), ONNX Runtime and the
LiteRT interpreter, each with ``--threads`` threads. Each figure is the
median of ``--repeats`` timed calls after warm-up calls; it prints the
milliseconds per face, faces a second, and each runtime's speed-up over
Keras ``model(x)``. The load average before and after says how busy the
cores were (other processes slow every runtime).
"""

import argparse
import os
import platform
import subprocess
import tempfile
import time

import numpy as np

from common import REPO  # noqa: E402
from fer_workflow import runtime  # noqa: E402
from fer_workflow.use import export, shipped  # noqa: E402


def timed(call, x, repeats, warmup=5):
    """Median seconds of ``call(x)`` over ``repeats`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        call(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call(x)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(REPO / shipped.SHIPPED_MODEL))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    runtime.configure_backend(threads=args.threads, seed=0)
    from fer_workflow import models

    model = models.load_model(args.model)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    load = os.getloadavg()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{load[0]:.2f} before; commit {commit}; {args.threads} threads per runtime; "
          f"model {os.path.relpath(args.model, REPO)}")  # fmt: skip
    print(f"versions: {export.versions()}")
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path, litert_path = os.path.join(tmp, "m.onnx"), os.path.join(tmp, "m.tflite")
        export.export_model(model, onnx_path, litert_path)
        runners = {
            "keras model(x)": lambda x: np.asarray(model(x, training=False)),
            "keras predict_on_batch": model.predict_on_batch,
            "onnxruntime": export.load(onnx_path, args.threads).predict_on_batch,
            "litert": export.load(litert_path, args.threads).predict_on_batch,
        }
        rng = np.random.default_rng(0)
        print(f"{'runtime':<24} {'batch':>5} {'ms/face':>9} {'faces/s':>9} {'vs model(x)':>12}")
        for batch in args.batches:
            x = rng.uniform(0, 255, (batch, 48, 48, 1)).astype(np.float32)
            base = None
            for name, call in runners.items():
                seconds = timed(call, x, args.repeats)
                base = base or seconds
                print(f"{name:<24} {batch:>5} {1000 * seconds / batch:>9.3f} {batch / seconds:>9.0f} "
                      f"{base / seconds:>11.2f}x")  # fmt: skip
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
