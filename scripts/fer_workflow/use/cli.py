"""``fer-workflow``: the workflow's photo and video classifier as a command.

    fer-workflow classify photos/ group.jpg            # CSV on stdout
    fer-workflow classify photos/ --boxes boxes.csv    # your own face boxes, no detection
    fer-workflow video clip.mp4 --json -o clip.jsonl   # one JSON object per face per frame
    fer-workflow video 0 --fps 5                       # the webcam, in real time

The rows are those of the workflow's tables (``classify.COLUMNS``,
``video.COLUMNS``) made by the same functions (``api.Classifier``,
``classify.classify_photo``, ``stream.classify_frames``). An error is one
line on stderr and exit status 1 (a usage error: argparse's, status 2).
"""

import argparse
import json
import logging
import os
import sys
import time

PROG = "fer-workflow"
log = logging.getLogger(__name__)


def _common(parser):
    parser.add_argument(
        "--model",
        default=None,
        help="a .keras, .onnx or .tflite model; default: the shipped FER2013 CNN "
        "(resources/models/fer2013_cnn.keras); 'onnx': its ONNX copy",
    )
    parser.add_argument(
        "--detector",
        choices=("haar", "mtcnn"),
        default="haar",
        help="face detector (classify.detector); default haar (fast; mtcnn aligns the eyes)",
    )
    parser.add_argument(
        "--calibration",
        default="auto",
        help="temperature: auto (the model's record), none, a number, or a JSON file with 'temperature'",
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=100_000_000,
        help="largest width x height of a photo or video frame read (classify.max_pixels); 0: no limit",
    )
    parser.add_argument("--margin", type=float, default=0.025, help="classify.margin")
    parser.add_argument("--min-face-size", type=int, default=48, help="classify.min_face_size")
    parser.add_argument("--scale-factor", type=float, default=1.1, help="classify.scale_factor")
    parser.add_argument("--min-neighbors", type=int, default=3, help="classify.min_neighbors")
    parser.add_argument(
        "--no-flip", action="store_true", help="no mirror-image averaging (classify.tta_flip)"
    )
    parser.add_argument("--threads", type=int, default=None, help="CPU threads of the model")
    parser.add_argument("--json", action="store_true", help="JSON instead of CSV")
    parser.add_argument("-o", "--output", default="-", help="output file (default: stdout)")


def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description="Facial expressions on photos and videos.")
    commands = parser.add_subparsers(dest="command", required=True)
    photos = commands.add_parser("classify", help="classify the faces on photos (files or folders)")
    photos.add_argument("photos", nargs="+", help="JPEG or PNG files, folders of them, or glob patterns")
    photos.add_argument(
        "--boxes",
        default=None,
        help="CSV with columns file,x,y,w,h: classify these faces, no detection "
        "(a photo without a row gets the note 'no box given')",
    )
    photos.add_argument(
        "--on-unreadable",
        choices=("list", "fail"),
        default="list",
        help="a photo that cannot be read: a row with the reason (list) or an error (fail)",
    )
    _common(photos)
    video = commands.add_parser("video", help="classify the faces of a video file, camera or stream")
    video.add_argument("source", help="a video file, a camera index (0) or a stream URL (rtsp://...)")
    video.add_argument(
        "--fps", type=float, default=5.0, help="frames classified per second (classify.video_fps)"
    )
    video.add_argument(
        "--realtime",
        action="store_true",
        help="play a file as a live stream: drop the frames there is no time for (cameras and URLs always are)",
    )
    _common(video)
    return parser


def _classifier(args):
    from fer_workflow.use.api import Classifier

    return Classifier(
        model=args.model,
        detector=args.detector,
        calibration=args.calibration,
        tta_flip=not args.no_flip,
        margin=args.margin,
        min_face_size=args.min_face_size,
        scale_factor=args.scale_factor,
        min_neighbors=args.min_neighbors,
        max_pixels=args.max_pixels,
        threads=args.threads,
    )


def _open_output(path):
    return sys.stdout if path == "-" else open(path, "w", newline="")


def classify_command(args, out):
    """Rows of the predictions table for every photo, in name order."""
    import numpy as np
    import pandas as pd

    from fer_workflow.use import api, photos

    found = photos.list_photos(args.photos)
    if not found:
        raise ValueError("no JPEG or PNG photo in " + ", ".join(args.photos))
    boxes = api.read_boxes(args.boxes) if args.boxes else None
    if boxes is not None:
        unknown = sorted(set(boxes) - set(found))
        if unknown:
            raise api.BadBoxes(f"boxes {args.boxes!r}: {', '.join(unknown)} is not among the photos given")
    classifier = _classifier(args)
    tables = []
    for name, path in found.items():
        given = None if boxes is None else boxes.get(name, np.zeros((0, 4), np.int64))
        table = classifier.classify_file(path, given, args.on_unreadable)
        if given is not None and len(given) == 0 and table["note"].iloc[0] == "no face found":
            table["note"] = "no box given"
        tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    if args.json:
        records = json.loads(table.to_json(orient="records"))
        json.dump(records, out, indent=1)
        out.write("\n")
    else:
        table.to_csv(out, index=False)
    faces = int(table["expression"].fillna("").ne("").sum())
    log.info("%d faces on %d photos; model %s, temperature %.4f (%s)", faces, len(found),
                 classifier.model_path, classifier.temperature, classifier.calibration)  # fmt: skip


def video_command(args, out):
    """Rows (time, frame, face id, box, probabilities, label) written as each frame is classified."""
    import csv

    from fer_workflow.use import stream, video

    source = stream.parse_source(args.source)
    capture, info = stream.open_source(source, args.max_pixels or None)
    try:
        classifier = _classifier(args)
    except BaseException:
        capture.release()
        raise
    live = stream.is_live(source)
    if live or args.realtime:
        frames = stream.RealtimeFrames(capture, info, args.fps, pace=not live)
    else:
        frames = None
    writer = None if args.json else csv.writer(out)
    if writer:
        writer.writerow(stream.COLUMNS)
    start, count, faces = time.perf_counter(), 0, 0
    try:
        source_frames = frames if frames is not None else video.sampled_frames(capture, info, args.fps)
        rows = stream.classify_frames(
            source_frames,
            classifier.model,
            classifier.detector,
            classifier.margin,
            classifier.tta_flip,
            classifier.temperature,
        )
        for frame_rows in rows:
            for row in frame_rows:
                if writer:
                    writer.writerow(row)
                else:
                    out.write(json.dumps(dict(zip(stream.COLUMNS, row, strict=True))) + "\n")
            out.flush()
            count += 1
            faces += len(frame_rows)
    except KeyboardInterrupt:
        log.info("stopped")
    finally:
        capture.release()
    elapsed = time.perf_counter() - start
    sampled = frames.sampled if frames is not None else count
    dropped = frames.dropped if frames is not None else 0
    # Seconds of video: the frames read at the source's rate (a live source: the wall time).
    read = frames.read if frames is not None else None
    seconds = (
        (read / info.fps) if (read is not None and info.fps > 0) else (info.duration if not live else elapsed)
    )
    log.info(
        "%s: %.2f s of video in %.2f s (%.2fx real time); %d sampled frames at %g a second, "
        "%d classified, %d dropped; %d face rows",
        args.source, seconds, elapsed, seconds / max(elapsed, 1e-9), sampled, args.fps, count, dropped, faces,
    )  # fmt: skip
    return {
        "sampled": sampled,
        "classified": count,
        "dropped": dropped,
        "seconds": seconds,
        "elapsed": elapsed,
    }


def main(argv=None):
    """The console script ``fer-workflow``; returns the exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format=f"{PROG}: %(message)s", force=True)
    # The library's errors (BadBoxes, export.UnknownModel, UnreadableImage,
    # UnreadableVideo, VideoTooLarge) are ValueErrors naming the file; OSError:
    # the output cannot be written; RuntimeError: a detector that does not load.
    expected = (ValueError, OSError, RuntimeError)
    out = None
    try:
        out = _open_output(args.output)
        if args.command == "classify":
            classify_command(args, out)
        else:
            video_command(args, out)
    except expected as error:
        message = " ".join(str(error).split()) or type(error).__name__
        log.error("error: %s", message)  # "fer-workflow: error: ..." (the log format)
        return 1
    finally:
        if out is not None and out is not sys.stdout:
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
