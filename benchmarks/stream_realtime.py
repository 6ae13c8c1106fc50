"""Real-time factor of ``fer-workflow video``: a clip of moving FER2013 faces
(benchmarks/make_video.py's scene: 640x360, 25 fps, 5 faces) classified as
fast as possible, and played as a live stream (``--realtime``: frames
arrive at their time; those the classifier has no time for are dropped).

    python benchmarks/stream_realtime.py                       # the shipped model, Keras and ONNX
    python benchmarks/stream_realtime.py --fps 10 --seconds 8 --detector mtcnn

Prints, per model and mode, the command's own summary: seconds of video,
seconds taken, the real-time factor (video seconds / seconds taken; at least
1 keeps up), sampled frames, classified and dropped; and the load average,
since other processes on the same cores slow it down.
"""

import argparse
import logging
import os
import platform
import subprocess
import tempfile

from common import REPO, scenes  # noqa: E402
from fer_workflow.use import cli  # noqa: E402


class Summary(logging.Handler):
    """Keeps the command's last log line (its summary)."""

    def emit(self, record):
        self.last = record.getMessage()


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(REPO.parent / "shared/data/fer2013/train.csv.gz"))
    parser.add_argument("--models", nargs="+", default=["keras", "onnx"], choices=["keras", "onnx"])
    parser.add_argument("--detector", default="haar", choices=["haar", "mtcnn"])
    parser.add_argument("--fps", type=float, default=5.0, help="sampled frames a second")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f} before; commit {commit}; detector {args.detector}, {args.fps:g} "
          f"sampled frames a second, {args.threads} threads")  # fmt: skip
    faces, labels = scenes.read_csv_faces(args.data, 10)
    with tempfile.TemporaryDirectory() as tmp:
        clip = os.path.join(tmp, "faces.mp4")
        scenes.write_video(clip, faces, labels, n_faces=5, seconds=args.seconds)
        for kind in args.models:
            model = str(REPO / "resources/models/fer2013_cnn.keras") if kind == "keras" else "onnx"
            for mode in ([], ["--realtime"]):
                command = ["video", clip, "--fps", str(args.fps), "--detector", args.detector]
                command += ["--model", model, "--threads", str(args.threads), "-o", os.devnull, *mode]
                summary = Summary()
                cli.log.addHandler(summary)
                cli.main(command)  # warm-up: loads the libraries and the model
                status = cli.main(command)
                cli.log.removeHandler(summary)
                where = "played as a stream" if mode else "as fast as it goes"
                print(f"{kind:<6} {where:<20} exit {status}: {summary.last.split(': ', 1)[1]}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
