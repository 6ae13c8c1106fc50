"""Training throughput of the configured CNN against this machine's matmul rate.

Builds the CNN of config.yaml (optionally merged with --configfile presets),
times `--steps` training steps (Keras train_on_batch on random data already
in memory, after warm-up steps; the best 10-step chunk counts), counts the CNN's FLOPs per image (forward,
conv and dense multiply-adds x 2; a training step is taken as 3x forward),
and measures, in the same run and with the same thread count, float32
matrix-multiply GFLOP/s (TensorFlow matmul of --matmul-size square matrices).
Prints images/s, achieved GFLOP/s and the ratio to matmul.

    .venv/bin/python benchmarks/train_throughput.py --threads 2
    .venv/bin/python benchmarks/train_throughput.py --configfile presets/fer2013-cpu.yaml
"""

import argparse
import os
import time

import numpy as np

from common import load_config, matmul_gflops  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configfile", action="append", default=[], help="preset merged over config.yaml")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the config's train.batch_size")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--matmul-size", type=int, default=1536)
    parser.add_argument("--jit-compile", choices=["config", "on", "off"], default="config")
    parser.add_argument("--no-augment", action="store_true", help="time the CNN without augmentation layers")
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from fer_workflow import runtime

    runtime.configure_backend(threads=args.threads, seed=0)
    import keras

    from fer_workflow import models, training

    config = load_config(args.configfile)
    train_cfg = config["train"]
    if args.jit_compile != "config":
        train_cfg["jit_compile"] = args.jit_compile == "on"
    augment = dict(train_cfg["augment"], enabled=False) if args.no_augment else train_cfg["augment"]
    batch = args.batch_size or train_cfg["batch_size"]

    training.set_precision(train_cfg)
    model = models.build_cnn(config["cnn"], augment)
    training.compile_model(model, train_cfg)
    flops = models.count_flops(model)

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (batch, 48, 48, 1)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 7, batch), 7).astype("float32")
    for _ in range(args.warmup):
        model.train_on_batch(x, y)
    # Matmul before and after training, and training in chunks of 10 steps:
    # on a shared machine the best chunk and the best matmul are the least
    # disturbed measurements; the median shows the typical rate.
    mm = matmul_gflops(args.matmul_size)
    chunks = []
    for _ in range(max(1, args.steps // 10)):
        start = time.perf_counter()
        for _ in range(10):
            loss = model.train_on_batch(x, y)
        float(np.asarray(loss[0] if isinstance(loss, list) else loss))
        chunks.append(time.perf_counter() - start)
    mm = max(mm, matmul_gflops(args.matmul_size))

    best_rate = 10 * batch / min(chunks)
    median_rate = 10 * batch / float(np.median(chunks))
    images_per_s = best_rate
    train_gflops = images_per_s * 3 * flops / 1e9
    print(
        f"backend {keras.backend.backend()}, threads {args.threads}, batch {batch}, steps {args.steps}, "
        f"jit_compile {train_cfg['jit_compile']}, augmentation {'off' if args.no_augment else 'on'}"
    )
    print(
        f"CNN: {model.count_params():,} parameters, {flops / 1e6:.1f} MFLOP/image forward "
        f"({3 * flops / 1e6:.1f} per training image)"
    )
    print(
        f"training: {images_per_s:.0f} images/s (best 10-step chunk; median {median_rate:.0f}), "
        f"{1000 * min(chunks) / 10:.1f} ms/step, {train_gflops:.1f} GFLOP/s"
    )
    print(f"matmul {args.matmul_size}x{args.matmul_size} float32: {mm:.1f} GFLOP/s (best of 20)")
    print(f"ratio training / matmul: {train_gflops / mm:.2f}")


if __name__ == "__main__":
    main()
