"""Write a test video from real faces: FER2013 faces enlarged and composited
on a still colour background, each moving on its own path and changing
expression halfway (fer_workflow.use.video_scenes). Not a camera recording.

    python benchmarks/make_video.py my_videos/faces.mp4                 # 5 faces, 8 s, 640x360, 25 fps
    python benchmarks/make_video.py clip.mp4 --faces 6 --seconds 4 --dataset results/.../data/dataset.npz

Prints each face's labels (first half, second half) as FER2013 gives them.
"""

import argparse

from common import REPO, scenes  # noqa: E402
from fer_workflow import CLASS_NAMES  # noqa: E402


def load_faces(data, dataset, n):
    """``n`` faces and labels: a run's validation faces, or the first rows of a FER2013 CSV."""
    if dataset:
        from fer_workflow import data as data_module

        split = data_module.load(dataset)
        return split.x_val[:n], split.y_val[:n].astype(int)
    return scenes.read_csv_faces(data, n)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("output", help="the video to write (.mp4)")
    parser.add_argument("--data", default=str(REPO.parent / "shared/data/fer2013/train.csv.gz"))
    parser.add_argument("--dataset", default="", help="a run's data/dataset.npz: use its validation faces")
    parser.add_argument("--faces", type=int, default=5, help="moving faces (each shows two FER2013 faces)")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--side", type=int, default=96, help="face side in pixels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    faces, labels = load_faces(args.data, args.dataset, 2 * args.faces)
    scene = scenes.write_video(
        args.output, faces, labels, n_faces=args.faces, seconds=args.seconds, fps=args.fps,
        width=args.width, height=args.height, side=args.side, seed=args.seed,
    )  # fmt: skip
    print(
        f"{args.output}: {args.width}x{args.height}, {args.seconds:g} s at {args.fps:g} fps, {args.faces} faces"
    )
    for k in range(args.faces):
        first, second = scene.labels[0, k], scene.labels[-1, k]
        print(f"face {k + 1}: {CLASS_NAMES[first]} then {CLASS_NAMES[second]}")


if __name__ == "__main__":
    main()
