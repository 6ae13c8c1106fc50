"""Batched gradient ascent vs. the per-filter loop, and both vs. the machine.

    .venv/bin/python benchmarks/filter_ascent.py --threads 2 --filters 32 --steps 30 [--layer block3_conv2]

On one model and layer, in one run: the batched ascent (``fer_workflow.explain.filters``:
all filters in one batch, one compiled step) and the keras.io-shaped loop
(one filter at a time, one compiled step per call, same steps and learning
rate), timed after a warm-up step each (tracing excluded). It prints the
speed-up, the achieved GFLOP/s of each, and the float32 matrix-multiply
GFLOP/s of the same machine measured in the same run, with the ratio.

FLOP count (per image and step): the conv layers of the extractor (the model
up to ``--layer``'s batch norm and ReLU), 2*H*W*k*k*Cin*Cout each (the
formula of ``fer_workflow.models.count_flops``), counted once for the
forward pass and once more for the gradient w.r.t. the input (one transposed
convolution per layer, the same multiply-adds). Weight gradients are not
needed and not computed; batch norm, ReLU, pooling and the update are
element-wise and not counted. Both forms compute all Cout filters of the last
conv and use one per image (after batch norm and ReLU the objective is not
linear in the conv's input, so there is no own-filter shortcut). Each run's
GFLOP/s is the FLOPs it executes divided by its time; the speed-up is the
plain time ratio (same images, steps and learning rate).

Then the rule's own work at the config's knobs: the regularised ascent
(``filters.ascend`` with rotation, TV, L2 and blur; all filters batched) and
the top-crop search (``filters.top_activations``: one forward pass over
``--crop-faces`` synthetic faces), each timed once after a warm-up.

The model is the CNN of config.yaml, untrained (``--configfile`` to overlay
a preset, e.g. presets/fer2013-gpu.yaml for a VGG-sized one), built by
``fer_workflow.models.build_cnn``; the layer defaults to the config's
``filters.layer``.
"""

import argparse
import os
import time

from common import load_config, matmul_gflops  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from fer_workflow import runtime  # noqa: E402
from fer_workflow.explain import filters  # noqa: E402


def build_model(config):
    """The config's CNN, untrained."""
    from fer_workflow import models

    return models.build_cnn(config["cnn"], augment_cfg=None)


def conv_flops(extractor):
    """Forward FLOPs per image of the extractor's conv layers, and of its last layer."""
    import keras

    kinds = (keras.layers.Conv2D, keras.layers.SeparableConv2D)
    convs = [layer for layer in extractor.layers if isinstance(layer, kinds)]

    def flops(layer):
        h, w, cout = layer.output.shape[1:]
        kh, kw = layer.kernel_size
        cin = layer.input.shape[-1]
        if isinstance(layer, keras.layers.SeparableConv2D):
            return 2 * h * w * (kh * kw * cin + cin * cout)
        return 2 * h * w * kh * kw * cin * cout

    return sum(flops(layer) for layer in convs), flops(convs[-1])


def batched_runner(extractor, n, steps, lr, jit):
    """A function that runs the batched ascent once and returns its seconds."""
    import tensorflow as tf

    step = filters.batched_step(extractor, lr, jit_compile=jit)
    start_images = tf.constant(filters.initial_images(n, seed=0))
    shifts = filters.jitter_shifts(steps, 0, seed=0)
    step(start_images, shifts[0]).numpy()  # trace and warm up

    def run():
        start, images = time.perf_counter(), start_images
        for shift in shifts:
            images = step(images, shift)
        images.numpy()
        return time.perf_counter() - start

    return run


def loop_runner(extractor, n, steps, lr, jit):
    """A function that runs the per-filter loop once and returns its seconds."""
    import tensorflow as tf

    step = filters.single_step(extractor, lr, jit_compile=jit)
    start_images = filters.initial_images(n, seed=0)
    shifts = filters.jitter_shifts(steps, 0, seed=0)
    step(tf.constant(start_images[:1]), shifts[0], tf.constant(0)).numpy()  # trace and warm up

    def run():
        start = time.perf_counter()
        for i in range(n):
            image = tf.constant(start_images[i : i + 1])
            for shift in shifts:
                image = step(image, shift, tf.constant(i))
            image.numpy()
        return time.perf_counter() - start

    return run


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow intra-op threads")
    parser.add_argument("--filters", type=int, default=32, help="at most the layer's channels")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--learning-rate", type=float, default=10.0)
    parser.add_argument("--layer", help="conv layer (default: the config's filters.layer)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best of each is kept")
    parser.add_argument("--configfile", action="append", default=[])
    parser.add_argument("--jit", action="store_true", help="compile the steps with XLA (jit_compile=True)")
    parser.add_argument("--crop-faces", type=int, default=2871, help="faces searched for the top crops")
    args = parser.parse_args()

    runtime.configure_backend(threads=args.threads, seed=0)
    config = load_config(args.configfile)
    layer = args.layer or config["filters"]["layer"]
    model = build_model(config)
    extractor = filters.feature_extractor(model, layer)
    forward, last = conv_flops(extractor)
    shape = tuple(extractor.outputs[-1].shape[1:])
    n, steps, lr = min(args.filters, shape[-1]), args.steps, args.learning_rate
    # Forward + gradient w.r.t. the input, for every image and step.
    flops = 2 * forward * n * steps
    print(f"model {model.name}, layer {layer} {shape}, {n} filters, {steps} steps")
    print(
        f"extractor forward {forward / 1e6:.1f} MFLOP/image ({last / 1e6:.1f} in {layer}); "
        f"per run {flops / 1e9:.1f} GFLOP"
    )
    runs = {
        "batched": (batched_runner(extractor, n, steps, lr, args.jit), flops),
        "per-filter loop": (loop_runner(extractor, n, steps, lr, args.jit), flops),
    }
    # The machine may be shared: interleave the runs and keep each one's best
    # time (and the best matmul rate) over the rounds.
    best = dict.fromkeys(runs, float("inf"))
    rate = 0.0
    for r in range(args.rounds):
        rate = max(rate, matmul_gflops(1024))
        for name, (run, _) in runs.items():
            best[name] = min(best[name], run())
        print(f"round {r + 1}: " + ", ".join(f"{name} {best[name]:.2f} s" for name in runs), flush=True)
    print(f"float32 matmul (1024x1024, {args.threads} threads, best of {args.rounds}): {rate:.1f} GFLOP/s")
    for name, (_, flops) in runs.items():
        gflops = flops / best[name] / 1e9
        print(f"{name:>22}: {best[name]:6.2f} s  {gflops:6.1f} GFLOP/s  {gflops / rate:4.0%} of matmul")
    loop = best["per-filter loop"]
    print(f"speed-up over the loop: batched {loop / best['batched']:.2f}x" + (" (XLA)" if args.jit else ""))
    regularised_and_crops(config, extractor, n, args.crop_faces)


def regularised_and_crops(config, extractor, n, n_faces):
    """Time the rule's regularised ascent and its top-crop search."""
    import numpy as np

    from fer_workflow.data import synthetic

    knobs = {k: v for k, v in config["filters"].items() if k not in ("layer", "n_filters", "n_crops")}
    filters.ascend(extractor, n, **{**knobs, "steps": 2})  # trace and warm up
    start = time.perf_counter()
    filters.ascend(extractor, n, **knobs)
    ascent = time.perf_counter() - start
    print(
        f"regularised ascent (config knobs: {knobs['steps']} steps, rotation {knobs['rotation']}, "
        f"tv {knobs['tv_weight']}, l2 {knobs['l2_weight']}, blur every {knobs['blur_every']}), "
        f"{n} filters batched: {ascent:.2f} s"
    )
    faces, _, _ = synthetic.generate(n_faces, np.random.default_rng(0))
    filters.top_activations(extractor, faces[:8], n)  # warm up
    start = time.perf_counter()
    filters.top_activations(extractor, faces, n, k=config["filters"]["n_crops"])
    search = time.perf_counter() - start
    print(
        f"top-crop search, one forward pass over {n_faces} faces: {search:.2f} s ({1e3 * search / n_faces:.2f} ms/face)"
    )


if __name__ == "__main__":
    main()
