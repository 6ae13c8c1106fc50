"""Speed of rule classify_video: a 640x360 clip of moving FER2013 faces
(benchmarks/make_video.py, 5 faces, 8 s at 25 fps) processed as the rule
does it (sampled frames, detection, crop, CNN with flip TTA, tracking, the
annotated video written), job start-up (Python, TensorFlow, loading the
model and detector) aside.

    python benchmarks/classify_video.py --model resources/models/fer2013_cnn.keras
    python benchmarks/classify_video.py --detectors mtcnn --threads 2 --fps 5

Prints, per detector, the real-time ratio (video seconds / processing
seconds: at least 1 keeps up with the video) and the milliseconds per
sampled frame of decoding, detection, crop + classification (+ tracking)
and writing the annotated frame; and the machine's load average before and
after, since other processes on the same cores slow it down.
"""

import argparse
import os
import platform
import subprocess
import tempfile
import time

import numpy as np

from common import REPO, scenes  # noqa: E402
from fer_workflow import runtime  # noqa: E402
from fer_workflow.use import detect, video  # noqa: E402


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(REPO.parent / "shared/data/fer2013/train.csv.gz"))
    parser.add_argument(
        "--model", default="", help="a trained .keras model (default: an untrained CNN of config.yaml)"
    )
    parser.add_argument("--detectors", nargs="+", default=list(detect.DETECTORS), choices=detect.DETECTORS)
    parser.add_argument("--fps", type=float, default=5.0, help="sampled frames a second (classify.video_fps)")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow threads (the rule's threads)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per detector; the fastest is reported")
    args = parser.parse_args()
    runtime.configure_backend(threads=args.threads, seed=0)

    faces, labels = scenes.read_csv_faces(args.data, 10)
    from fer_workflow import models  # after the backend's threads are set

    if args.model:
        model = models.load_model(args.model)
    else:
        from common import load_config

        model = models.build_cnn(load_config()["cnn"])
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; commit {commit}; "
          f"{args.threads} TensorFlow threads; model {args.model or 'untrained CNN'}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        clip = os.path.join(tmp, "clip.mp4")
        scenes.write_video(clip, faces, labels, n_faces=5, seconds=8.0, fps=25.0, width=640, height=360)
        for kind in args.detectors:
            detector = detect.Detector(kind)
            detector.detect(scenes.gradient_canvas(360, 640, np.random.default_rng(0)))  # load
            video.predict_faces(model, faces[:2])  # compile the CNN's call
            best = None
            for _ in range(args.repeats):
                load = os.getloadavg()[0]
                start = time.perf_counter()
                result = video.classify_video(
                    clip, model, detector, sample_fps=args.fps, annotated=os.path.join(tmp, "a.mp4")
                )
                elapsed = time.perf_counter() - start
                if best is None or elapsed < best[0]:
                    best = (elapsed, result, load, os.getloadavg()[0])
            elapsed, result, before, after = best
            per_frame = ", ".join(
                f"{step} {1000 * s / result.frames:.1f}" for step, s in result.seconds.items()
            )
            print(
                f"{kind}: {result.info.duration:.1f} s of 640x360 video, {result.frames} sampled frames "
                f"({args.fps:g} a second) in {elapsed:.2f} s: real-time ratio {result.info.duration / elapsed:.2f}; "
                f"ms per frame: {per_frame}; {result.table['face_id'].nunique()} face ids; "
                f"load average {before:.1f} before, {after:.1f} after"
            )


if __name__ == "__main__":
    main()
