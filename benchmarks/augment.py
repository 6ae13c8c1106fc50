"""Cost of the training augmentation: this workflow's one-layer RandomAffine
against Keras' RandomFlip + RandomTranslation + RandomRotation + RandomZoom,
with the config's ranges, on the current Keras backend.

    python benchmarks/augment.py                         # TensorFlow
    KERAS_BACKEND=jax python benchmarks/augment.py       # JAX, if installed

Each variant is the augmentation in front of a tiny classifier (one 4-filter
conv), trained with ``fit`` for the same steps, so the timing includes what a
real training step pays for augmentation: compiled with the backend's step,
random numbers, the gradient step. Prints ms per step for no augmentation,
Keras' layers and RandomAffine, then the ratio of the two augmentations'
costs (step time minus the no-augmentation step time).
"""

import argparse
import time

import numpy as np

from common import load_config  # noqa: E402
from fer_workflow import runtime  # noqa: E402


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--configfile", action="append", default=[], help="preset(s) merged over config.yaml")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: all)")
    args = parser.parse_args()
    runtime.configure_backend(threads=args.threads or None, seed=0)

    import keras
    from keras import layers

    from fer_workflow.models.augment import RandomAffine

    cfg = load_config(args.configfile)["train"]["augment"]
    shift, rotation, zoom = cfg["shift"], cfg["rotation"], cfg["zoom"]

    def keras_layers():
        return [
            layers.RandomFlip("horizontal"),
            layers.RandomTranslation(shift, shift, fill_mode="nearest"),
            layers.RandomRotation(rotation, fill_mode="nearest"),
            layers.RandomZoom(zoom, fill_mode="nearest"),
        ]

    variants = {
        "none": lambda: [],
        "keras_layers": keras_layers,
        "random_affine": lambda: [RandomAffine(True, shift, rotation, zoom)],
    }
    n = args.batch_size * args.steps
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (n, 48, 48, 1)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 7, n), 7)
    jit = keras.backend.backend() == "jax"
    print(
        f"backend {keras.backend.backend()}, batch {args.batch_size}, {args.steps} steps; "
        f"flip, shift {shift}, rotation {rotation}, zoom {zoom}",
        flush=True,
    )
    ms = {}
    for name, make in variants.items():
        inputs = keras.Input((48, 48, 1))
        h = inputs
        for layer in make():
            h = layer(h)
        h = layers.Conv2D(4, 3)(layers.Rescaling(1 / 255)(h))
        model = keras.Model(inputs, layers.Dense(7, activation="softmax")(layers.GlobalAveragePooling2D()(h)))
        model.compile("adam", "categorical_crossentropy", jit_compile=jit)
        model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0)  # compile
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0)
            best = min(best, time.perf_counter() - start)
        ms[name] = best / args.steps * 1000
        print(f"{name:14s} {ms[name]:7.2f} ms/step", flush=True)
    keras_cost = ms["keras_layers"] - ms["none"]
    own_cost = max(ms["random_affine"] - ms["none"], 1e-3)
    print(
        f"augmentation cost per step: Keras layers {keras_cost:.2f} ms, RandomAffine {own_cost:.2f} ms: "
        f"RandomAffine is {keras_cost / own_cost:.1f}x cheaper"
    )


if __name__ == "__main__":
    main()
