"""Test-time views compared on the validation split: the workflow's views
(plain, mirrored, and the faces moved ``predict.tta_shift`` pixels) against
ten-crop (four corner crops and the centre crop of 48 - c pixels, resized
back to 48, each also mirrored), for one trained model. Each row's accuracy,
its gain over the workflow's 10 views and McNemar's exact p on the same
faces, with the seconds each set of views takes (its cost).

    python benchmarks/tta_views.py --model resources/models/fer2013_cnn.keras \\
        --dataset results/fer2013-cpu/data/dataset.npz

Choosing the views by this table is choosing on the validation split: say so.
"""

import argparse
import time

import numpy as np

from fer_workflow import data, models
from fer_workflow.evaluation import predict, stats
from fer_workflow.evaluation.metrics import wilson_interval


def crops(images, margin):
    """The four corner crops and the centre crop of (48 - margin) pixels,
    bilinearly resized back to 48x48 (what a network trained on random crops
    of that size sees, at the input size this one was trained on)."""
    from keras import ops

    size = images.shape[1] - margin
    out = []
    for top, left in [(0, 0), (0, margin), (margin, 0), (margin, margin), (margin // 2, margin // 2)]:
        crop = images[:, top : top + size, left : left + size].astype("float32")[..., None]
        resized = ops.image.resize(crop, (images.shape[1], images.shape[2]), interpolation="bilinear")
        out.append(np.clip(ops.convert_to_numpy(resized)[..., 0], 0, 255))
    return out


def view_probs(model, x, margins, shifts):
    """{name: (mean probabilities, seconds)} of each set of views."""
    out = {}
    both = (x, predict.flip_horizontal(x))
    start = time.perf_counter()
    plain = [predict.predict_probs(model, views) for views in both]
    out["plain + mirrored (2 views)"] = (np.mean(plain, 0), time.perf_counter() - start)
    for shift in shifts:
        start = time.perf_counter()
        moved = [
            predict.predict_probs(model, predict.shift_images(views, dy, dx))
            for views in both
            for dy, dx in predict.shift_offsets(shift)
        ]
        out[f"+ {shift} px shifts (10 views)"] = (
            np.mean(plain + moved, 0),
            out["plain + mirrored (2 views)"][1] + time.perf_counter() - start,
        )
    for margin in margins:
        start = time.perf_counter()
        cropped = [predict.predict_probs(model, c) for views in both for c in crops(views, margin)]
        seconds = time.perf_counter() - start
        out[f"ten-crop {48 - margin} px (10 views)"] = (np.mean(cropped, 0), seconds)
        out[f"ten-crop {48 - margin} px + plain + mirrored (12 views)"] = (
            np.mean(plain + cropped, 0),
            seconds + out["plain + mirrored (2 views)"][1],
        )
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", required=True, help="a run's data/dataset.npz")
    parser.add_argument(
        "--reference-shift", type=int, default=2, help="the workflow's tta_shift to compare with"
    )
    parser.add_argument("--margins", type=int, nargs="+", default=[2, 4, 6])
    args = parser.parse_args()

    model = models.load_model(args.model)
    dataset = data.load(args.dataset)
    y = np.asarray(dataset.y_val, int)
    shifts = sorted({1, args.reference_shift, 3})
    rows = view_probs(model, dataset.x_val, args.margins, shifts)
    reference = rows[f"+ {args.reference_shift} px shifts (10 views)"][0].argmax(1) == y
    print(f"{len(y)} validation faces; reference: plain + mirrored + {args.reference_shift} px shifts")
    print("| views | accuracy [95% CI] | gain over reference | McNemar p | seconds |")
    print("|---|---|---|---|---|")
    for name, (probs, seconds) in rows.items():
        right = probs.argmax(1) == y
        low, high = wilson_interval(int(right.sum()), len(y))
        test = stats.mcnemar_exact(right, reference)
        print(
            f"| {name} | {right.mean():.4f} [{low:.3f}, {high:.3f}] | {test['difference']:+.4f} "
            f"({test['a_only']} won, {test['b_only']} lost) | {test['p']:.3f} | {seconds:.1f} |"
        )


if __name__ == "__main__":
    main()
