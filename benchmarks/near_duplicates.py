"""Time the near-duplicate grouping of all FER2013 faces and print the counts; with
--histogram, draw the nearest-neighbour distances that pick the threshold.

    .venv/bin/python benchmarks/near_duplicates.py [DATA_DIR] [--max-diff N] [--histogram PATH]

DATA_DIR holds train.csv.gz and test.csv.gz (label_feature_csv format); it
defaults to resources/fer2013/ in the repository (docs/guide/data.md#fer2013), else
../shared/data/fer2013/ beside it. The training file's and the test file's
faces are grouped together (``data.duplicate_groups``); the best of
``--repeat`` fresh searches (default 3) is compared with the 30 s budget.
``--max-diff`` defaults to config.yaml's data.near_duplicate_max_diff.

``--histogram PATH`` also finds each face's distance (largest pixel
difference, gray levels) to its nearest other face, exactly up to 64, draws
their histogram (log count axis, the threshold marked) and prints, for a
range of thresholds, the counts and the lowest pixel correlation of any pair
within it: pairs of one photograph correlate at about 0.98 or more, two
different faces far less, so that column shows where different faces begin.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from common import REPO, load_config
from fer_workflow import data
from fer_workflow.data import near_duplicates, readers
from fer_workflow.plots import plt, save

DEFAULT_DATA_DIR = REPO / "resources" / "fer2013"
SHARED_DATA_DIR = REPO.parent / "shared" / "data" / "fer2013"
BUDGET_S = 30
# The histogram's reach (gray levels) and the thresholds of the table.
CAP = 64
THRESHOLDS = (0, 1, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 45, 48, 56, 64)
# Below this pixel correlation a pair is counted as two different faces (the figure's dotted line).
DIFFERENT = 0.9


def data_dir(given):
    if given is not None:
        return given
    return DEFAULT_DATA_DIR if (DEFAULT_DATA_DIR / "train.csv.gz").exists() else SHARED_DATA_DIR


def summary(groups):
    """(groups of two or more faces, faces in them)."""
    sizes = np.bincount(groups, minlength=len(groups))
    return int((sizes > 1).sum()), int(sizes[sizes > 1].sum())


def correlations(images, i, j):
    """Pixel correlation of each pair; 1 for identical faces, 0 where one face is flat."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    flat -= flat.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(flat, axis=1)
    dots = np.einsum("ij,ij->i", flat[i], flat[j])
    with np.errstate(invalid="ignore", divide="ignore"):
        r = dots / (norms[i] * norms[j])
    identical = (flat[i] == flat[j]).all(axis=1)
    return np.where(identical, 1.0, np.nan_to_num(r, nan=0.0))


def timed_groups(faces, max_diff, repeat):
    best, groups = float("inf"), None
    for _ in range(repeat):
        near_duplicates.clear_cache()  # time the search, not the cache
        start = time.perf_counter()
        groups = data.duplicate_groups(faces, max_diff)
        best = min(best, time.perf_counter() - start)
    return best, groups


def threshold_table(faces, n_train, max_diff):
    """Per threshold: groups/faces over all faces and in the training file, test faces
    with a training copy, pairs within it and their lowest correlation."""
    i, j = near_duplicates.pairs(faces, CAP)
    d = near_duplicates.pair_distances(faces, i, j)
    r = correlations(faces, i, j)
    print(f"\npairs within {CAP} levels: {len(i)}; by threshold (levels):")
    print("threshold  groups  faces  train_groups  train_faces  test_near_in_train  pairs  lowest_r")
    for t in THRESHOLDS:
        within = d <= t
        a, b = i[within], j[within]
        train = b < n_train  # i < j: both in the training file
        all_groups = summary(near_duplicates.groups_from_pairs(len(faces), a, b))
        train_groups = summary(near_duplicates.groups_from_pairs(n_train, a[train], b[train]))
        seen = len(np.unique(b[(a < n_train) & (b >= n_train)]))
        mark = "  <- max_diff" if t == max_diff else ""
        print(
            f"{t:9d} {all_groups[0]:7d} {all_groups[1]:6d} {train_groups[0]:13d} {train_groups[1]:12d} "
            f"{seen:19d} {within.sum():6d} {r[within].min(initial=1):9.3f}{mark}"
        )
    different = d[r < DIFFERENT]
    first_different = int(different.min()) if len(different) else None
    print(f"closest pair with correlation < {DIFFERENT}: {first_different} levels")
    return first_different


def draw_histogram(nearest, max_diff, first_different, path):
    counts = np.bincount(nearest, minlength=CAP + 2)
    fig, ax = plt.subplots(figsize=(9, 4.2))
    ax.bar(np.arange(CAP + 1), counts[: CAP + 1], width=0.85, color="tab:blue")
    ax.bar([CAP + 3], counts[CAP + 1], width=1.6, color="tab:gray")  # the faces beyond the cap
    ax.set_yscale("log")
    ax.axvline(max_diff + 0.5, color="tab:red", linestyle="--")
    ax.text(max_diff + 1, counts.max() / 3, f"threshold {max_diff}", color="tab:red")
    if first_different is not None:
        ax.axvline(first_different - 0.5, color="black", linestyle=":")
        ax.text(
            first_different - 1,
            counts.max() / 20,
            f"closest pair of\ndifferent faces\n(r < {DIFFERENT}): {first_different}",
            ha="right",
            fontsize=8,
        )
    ticks = list(range(0, CAP, 8))
    ax.set_xticks(ticks + [CAP + 3], [str(t) for t in ticks] + [f"> {CAP}"])
    ax.set_xlabel("largest pixel difference to the nearest other face (gray levels)")
    ax.set_ylabel("faces (log scale)")
    ax.set_title(f"FER2013, {len(nearest):,} faces (train + test): nearest-neighbour distance")
    save(fig, path)
    print(f"histogram: {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path)
    parser.add_argument("--max-diff", type=int, default=load_config()["data"]["near_duplicate_max_diff"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--histogram", type=Path, help="draw the nearest-neighbour histogram (PNG)")
    args = parser.parse_args()
    folder = data_dir(args.data_dir)
    train, test = folder / "train.csv.gz", folder / "test.csv.gz"
    if not (train.exists() and test.exists()):
        sys.exit(
            f"{train} or {test}: not found. Link the FER2013 files into resources/fer2013/ "
            "(docs/guide/data.md#fer2013) or pass the folder holding them: benchmarks/near_duplicates.py DATA_DIR"
        )
    x_train, _ = readers.read_label_feature_train(train)
    _, x_test = readers.read_label_feature_test(test)
    faces = np.concatenate([x_train, x_test])
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"{len(faces):,} faces ({len(x_train):,} training + {len(x_test):,} test) from {folder}; "
        f"{os.cpu_count()} cores, load average {load}"
    )

    seconds, near = timed_groups(faces, args.max_diff, args.repeat)
    print(
        f"grouping at max_diff {args.max_diff}: {seconds:.2f} s (best of {args.repeat}) "
        f"= {seconds / BUDGET_S:.2f} of the {BUDGET_S} s budget"
    )
    exact = data.duplicate_groups(faces)
    train_exact = data.duplicate_groups(x_train)
    train_near = data.duplicate_groups(x_train, args.max_diff)
    print("exact copies: {} groups, {} faces".format(*summary(exact)), end="; ")
    print("training file: {} groups, {} faces".format(*summary(train_exact)))
    print(
        f"within {args.max_diff} levels (exact included): " + "{} groups, {} faces".format(*summary(near)),
        end="; ",
    )
    print("training file: {} groups, {} faces".format(*summary(train_near)))
    print(
        f"test faces with a training-file copy: exact {data.copies_in(x_test, x_train).sum()}, "
        f"within {args.max_diff} levels {data.copies_in(x_test, x_train, args.max_diff).sum()}"
    )
    if args.histogram:
        first_different = threshold_table(faces, len(x_train), args.max_diff)
        nearest = near_duplicates.nearest_distances(faces, CAP)
        draw_histogram(nearest, args.max_diff, first_different, args.histogram)
        counts = np.bincount(nearest, minlength=CAP + 2)
        print(
            "faces by nearest-neighbour distance (levels: faces): "
            + " ".join(f"{level}:{count}" for level, count in enumerate(counts[: CAP + 1]) if count)
            + f" >{CAP}:{counts[CAP + 1]}"
        )


if __name__ == "__main__":
    main()
