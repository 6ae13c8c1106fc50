"""Training throughput of the configured CNN against this machine's matmul rate.

Builds the CNN of config.yaml (optionally merged with --configfile presets),
counts its FLOPs per image (forward, conv and dense multiply-adds x 2; a
training step is taken as 3x forward) and times Keras training steps
(``train_on_batch`` on one random batch already in memory, after warm-up
steps), each step on its own. In the same run, with the same thread pools,
it times square matrix products (``--matmul-size``) in float32 and in
bfloat16, the machine's reference rates.

The measurements are interleaved in rounds: a few float32 and bfloat16
products, then ``--steps-per-round`` training steps (then, with ``--peer``,
as many steps of the same CNN in PyTorch). Each round gives a wall-time
ratio: the round's median-step training rate over the round's median matmul
rate; the median over rounds is printed. A round lasts about a second, so
both numbers of a round see about the same load.

The rates are also counted per CPU-second (the process's CPU time, all
threads, of each round's steps and products): FLOPs per CPU-second is what
the work costs, whatever share of the cores the other processes left us.
For the default CNN with Keras' batch norm, the wall-time ratio on the
quiet machine (0.37) was close to the CPU-time ratio measured later on the
machine loaded 3-7x by other jobs (0.42), while the wall-time ratio under
that load was not robust at all (0.65: the matmul, two threads that wait
for each other, loses far more to the load than the step does); the
CPU-time matmul rate stayed within 3% from run to run. So the last two lines
are the CPU-time ratios of the median step: to the bfloat16 matmul rate
(about twice the float32 rate on a CPU with AVX512_BF16, the fair reference
for a bfloat16 step), and, last, to the float32 matmul rate.

    .venv/bin/python benchmarks/train_throughput.py
    .venv/bin/python benchmarks/train_throughput.py --configfile presets/fer2013-cpu.yaml
    .venv/bin/python benchmarks/train_throughput.py --precision bfloat16
    .venv/bin/python benchmarks/train_throughput.py --peer    # PyTorch, requirements-bench.txt
"""

import argparse
import os

import numpy as np

from common import load_config, matmul_timer  # noqa: E402

PRECISIONS = {"config": None, "float32": False, "float16": "float16", "bfloat16": "bfloat16"}


CPU_TIMES = {}


def timed_steps(step, n, name=None):
    """Seconds of each of ``n`` calls of ``step`` (each call ends synchronised);
    the process CPU seconds of the calls go to ``CPU_TIMES[name]``."""
    import time

    times = []
    cpu = time.process_time()
    for _ in range(n):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    CPU_TIMES.setdefault(name, []).append((time.process_time() - cpu) / n)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configfile", action="append", default=[], help="preset merged over config.yaml")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="e.g. train.batch_size=128"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the config's train.batch_size")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--steps-per-round", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--matmul-size", type=int, default=1536)
    parser.add_argument("--matmuls-per-round", type=int, default=3)
    parser.add_argument(
        "--precision",
        choices=list(PRECISIONS),
        default="config",
        help="train.mixed_precision: float32, or mixed float16/bfloat16 compute with float32 weights",
    )
    parser.add_argument("--jit-compile", choices=["config", "on", "off"], default="config")
    parser.add_argument("--no-augment", action="store_true", help="time the CNN without augmentation layers")
    parser.add_argument(
        "--keras-bn", action="store_true", help="Keras' unfused batch norm instead of the fused one"
    )
    parser.add_argument("--peer", action="store_true", help="also time the same CNN and recipe in PyTorch")
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from fer_workflow import runtime

    runtime.configure_backend(threads=args.threads, seed=0)
    import keras

    from fer_workflow import models
    from fer_workflow.models import recipes, training

    config = load_config(args.configfile, args.set)
    train_cfg = config["train"] = recipes.recipe(config, "cnn")  # the CNN's recipe (--peer reads it too)
    if args.jit_compile != "config":
        train_cfg["jit_compile"] = args.jit_compile == "on"
    if args.precision != "config":
        train_cfg["mixed_precision"] = PRECISIONS[args.precision]
    if args.no_augment:
        train_cfg["augment"] = dict(train_cfg["augment"], enabled=False)
    batch = args.batch_size or train_cfg["batch_size"]

    training.set_precision(train_cfg)
    model = models.build_cnn(config["cnn"], train_cfg["augment"], fused_batch_norm=not args.keras_bn)
    training.compile_model(model, train_cfg)
    flops = models.count_flops(model)

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (batch, 48, 48, 1)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 7, batch), 7).astype("float32")

    def keras_step():
        return model.train_on_batch(x, y)  # returns NumPy: the step has finished

    steps = {"keras": keras_step}
    if args.peer:
        from peer_pytorch import build_step

        steps["pytorch"] = build_step(config, batch, args.threads)
    for step in steps.values():
        timed_steps(step, args.warmup)
    matmuls = {dtype: matmul_timer(args.matmul_size, dtype) for dtype in ("float32", "bfloat16")}

    times = {name: [] for name in [*steps, *matmuls]}
    for _ in range(args.rounds):
        for dtype, once in matmuls.items():
            times[dtype].append(timed_steps(once, args.matmuls_per_round, dtype))
        for name, step in steps.items():
            times[name].append(timed_steps(step, args.steps_per_round, name))
    median = {name: np.median(rounds, axis=1) for name, rounds in times.items()}  # per round
    overall = {name: float(np.median(rounds)) for name, rounds in times.items()}
    matmul_flop = 2 * args.matmul_size**3
    step_flop = 3 * flops * batch

    def ratio(dtype):
        return float(np.median((step_flop / median["keras"]) / (matmul_flop / median[dtype])))

    n_steps = args.rounds * args.steps_per_round
    print(
        f"backend {keras.backend.backend()}, threads {args.threads}, batch {batch}, "
        f"precision {keras.mixed_precision.global_policy().name}, jit_compile {train_cfg['jit_compile']}, "
        f"augmentation {'on' if train_cfg['augment']['enabled'] else 'off'}, "
        f"batch norm {'Keras' if args.keras_bn else 'fused'}, {args.rounds} rounds of {args.steps_per_round} steps"
    )
    print(
        f"CNN: {model.count_params():,} parameters, {flops / 1e6:.1f} MFLOP/image forward "
        f"({3 * flops / 1e6:.1f} per training image)"
    )
    step_s = overall["keras"]
    print(
        f"training: {batch / step_s:.0f} images/s at the median step of {n_steps} "
        f"({1000 * step_s:.1f} ms/step, {step_flop / step_s / 1e9:.1f} GFLOP/s; "
        f"fastest step {1000 * min(min(r) for r in times['keras']):.1f} ms)"
    )
    for dtype in matmuls:
        print(
            f"matmul {args.matmul_size}x{args.matmul_size} {dtype}: {matmul_flop / overall[dtype] / 1e9:.1f} GFLOP/s "
            f"at the median product ({matmul_flop / min(min(r) for r in times[dtype]) / 1e9:.1f} fastest)"
        )
    if args.peer:
        import torch

        peer_s = overall["pytorch"]
        print(
            f"PyTorch {torch.__version__} peer (same CNN, recipe, batch, threads, augmentation "
            f"{'on' if train_cfg['augment']['enabled'] else 'off'}): {batch / peer_s:.0f} images/s at the median step "
            f"({1000 * peer_s:.1f} ms/step)"
        )
        peer_cpu = float(np.median(CPU_TIMES["pytorch"]))
        print(
            f"ratio Keras / PyTorch images/s: {float(np.median(median['pytorch'] / median['keras'])):.2f} "
            f"by wall time (median over rounds), {peer_cpu / float(np.median(CPU_TIMES['keras'])):.2f} "
            f"by CPU time ({1000 * peer_cpu:.1f} CPU-ms a PyTorch step); above 1: Keras is faster"
        )
    # Median CPU seconds per step and per product (each round's mean, then the median).
    cpu = {name: float(np.median(t)) for name, t in CPU_TIMES.items() if name}
    cpu_rate = {"keras": step_flop / cpu["keras"]} | {d: matmul_flop / cpu[d] for d in matmuls}
    print(
        f"per CPU-second: training {cpu_rate['keras'] / 1e9:.1f}, matmul float32 {cpu_rate['float32'] / 1e9:.1f}, "
        f"bfloat16 {cpu_rate['bfloat16'] / 1e9:.1f} GFLOP"
    )
    wall = {dtype: ratio(dtype) for dtype in matmuls}
    by_cpu = {dtype: cpu_rate["keras"] / cpu_rate[dtype] for dtype in matmuls}
    print(
        f"ratio training / matmul by wall time (median step, median over rounds): "
        f"float32 {wall['float32']:.2f}, bfloat16 {wall['bfloat16']:.2f}"
    )
    if abs(wall["float32"] / by_cpu["float32"] - 1) > 0.15:
        print(
            "note: the wall-time ratio is off the CPU-time ratio by more than 15%: the machine is "
            "loaded (a loaded machine slows the matmul's two threads far more than the training step)"
        )
    print(f"ratio training / bfloat16 matmul (median step, CPU time): {by_cpu['bfloat16']:.2f}")
    print(f"ratio training / float32 matmul (median step, CPU time): {by_cpu['float32']:.2f}")


if __name__ == "__main__":
    main()
