"""Deletion and insertion curves: all faces x steps in large batches vs. one
forward pass per step.

    .venv/bin/python benchmarks/faithfulness.py --threads 2 --faces 50 --steps 32 [--model results/models/cnn.keras]

In one run, on the same faces, pixel orders and model: ``faithfulness.curves``
(every step image of many faces built at once with NumPy, predicted in
batches of ``--batch-size``) and ``faithfulness.curves_stepwise``, the
one-forward-pass-per-step form, both as RISE's reference code does it (one
face per pass) and with all faces of a step in one pass. The reference
forward pass is a compiled ``tf.function`` (no eager overhead). Each form
runs deletion and insertion, after a warm-up on two faces (tracing
excluded); rounds are interleaved and each form's best time is kept (the
machine may be shared). It checks that all forms give the same curves and
prints the speed-ups.

ROAD (``--road``, on by default): the MoRF and LeRF curves at the config's
``road_fractions`` with the noisy linear imputation
(``perturbation.NoisyLinearImputation``), timed with its imputation share,
and the imputation alone: conjugate gradients on the block-diagonal chunks
the rules use, against one face per system and against SciPy's sparse LU on
chunks of 64 (this module's first form); it prints ms per imputed image and
the ratios.

The model is the config's CNN, untrained, unless ``--model`` names a
trained ``.keras`` file; the faces are built-in synthetic faces and the
pixel orders random (the time does not depend on them).
"""

import argparse
import os
import time

import numpy as np

from common import load_config  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from fer_workflow import runtime  # noqa: E402
from fer_workflow.data import synthetic  # noqa: E402
from fer_workflow.explain import faithfulness, perturbation  # noqa: E402


def road(model, images, order, classes, fractions, noise, chunk):
    """ROAD's two curves on the faces; returns (seconds, imputation seconds, images imputed)."""
    replace = perturbation.NoisyLinearImputation(noise=noise, seed=0, chunk=chunk)
    start = time.perf_counter()
    for mode in ("road_morf", "road_lerf"):
        faithfulness.curves(model, images, order, classes, mode=mode, replace=replace, fractions=fractions)
    return time.perf_counter() - start, replace.seconds, replace.images_done


def imputation_only(images, order, fractions, chunk, method="cg"):
    """The imputation of every MoRF mask alone; returns ms per image."""
    replace = perturbation.NoisyLinearImputation(noise=0.01, seed=0, chunk=chunk, method=method)
    replace(images, perturbation.removal_masks(order, fractions, "morf", images.shape[1:]))
    return 1e3 * replace.seconds / replace.images_done


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow intra-op threads")
    parser.add_argument("--faces", type=int, default=50)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=faithfulness.PREDICT_BATCH)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the best of each is kept")
    parser.add_argument("--model", help="a trained .keras model (default: the config's CNN, untrained)")
    parser.add_argument("--configfile", action="append", default=[])
    parser.add_argument("--no-road", dest="road", action="store_false", help="skip the ROAD timing")
    args = parser.parse_args()

    runtime.configure_backend(threads=args.threads, seed=0)
    config = load_config(args.configfile)
    from fer_workflow import models  # after the backend's threads are set

    if args.model:
        model = models.load_model(args.model)
    else:
        model = models.build_cnn(config["cnn"], augment_cfg=None)
    images, _, _ = synthetic.generate(args.faces, np.random.default_rng(0))
    order = faithfulness.random_order(args.faces, 48 * 48, seed=0)
    classes = np.zeros(args.faces, np.int64)
    sigma = config["saliency"]["faithfulness"]["blur_sigma"]

    def batched(faces):
        return [
            faithfulness.curves(
                model, images[faces], order[faces], classes[faces], args.steps, sigma, mode, args.batch_size
            )
            for mode in ("deletion", "insertion")
        ]

    def stepwise(faces, per_face):
        return [
            faithfulness.curves_stepwise(
                model, images[faces], order[faces], classes[faces], args.steps, sigma, mode, per_face
            )
            for mode in ("deletion", "insertion")
        ]

    forms = {
        "batched": batched,
        "per step, all faces": lambda faces: stepwise(faces, per_face=False),
        "per step, per face": lambda faces: stepwise(faces, per_face=True),
    }
    n_images = 2 * args.faces * (args.steps + 1)
    print(f"model {model.name}, {args.faces} faces x {args.steps + 1} steps x 2 curves = {n_images} images")
    everyone, warm = slice(None), slice(0, 2)
    best, results = dict.fromkeys(forms, float("inf")), {}
    for form in forms.values():
        form(warm)
    for r in range(args.rounds):
        for name, form in forms.items():
            start = time.perf_counter()
            results[name] = form(everyone)
            best[name] = min(best[name], time.perf_counter() - start)
        print(f"round {r + 1}: " + ", ".join(f"{name} {best[name]:.2f} s" for name in forms), flush=True)
    for name in forms:
        for got, want in zip(results[name], results["batched"], strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    for name in forms:
        print(f"{name:>20}: {best[name]:7.2f} s  {n_images / best[name]:8.0f} images/s")
    print(
        "speed-up of the batched curves: "
        + ", ".join(f"{best[name] / best['batched']:.1f}x over {name}" for name in forms if name != "batched")
        + " (same curves within rtol 1e-4)"
    )
    if args.road:
        options = config["saliency"]["faithfulness"]
        fractions, noise = options["road_fractions"], options["road_noise"]
        x = images.astype(np.float32)
        total, imputing, done = road(model, x, order, classes, fractions, noise, perturbation.SOLVE_CHUNK)
        print(
            f"ROAD, {args.faces} faces x {len(fractions)} fractions x 2 orders = {done} imputed images: "
            f"{total:.2f} s, of which imputation {imputing:.2f} s ({1e3 * imputing / done:.2f} ms/image)"
        )
        chunked = imputation_only(x, order, fractions, perturbation.SOLVE_CHUNK)
        single = imputation_only(x, order, fractions, 1)
        lu = imputation_only(x, order, fractions, 64, method="lu")
        print(
            f"imputation (MoRF masks): conjugate gradients {chunked:.2f} ms/image in block-diagonal chunks "
            f"of {perturbation.SOLVE_CHUNK}, {single:.2f} ms/image one face per system "
            f"({single / chunked:.2f}x); sparse LU in chunks of 64 (the first form) {lu:.2f} ms/image "
            f"({lu / chunked:.2f}x)"
        )


if __name__ == "__main__":
    main()
