"""Expressions in videos: frames sampled at a fixed rate, faces detected,
cropped and classified as on photos (``detect``, ``classify``), and tracked
from frame to frame so that each person keeps one id.

Tracking matches the boxes of a frame to the tracks by overlap (IoU) with
the Hungarian assignment (``scipy.optimize.linear_sum_assignment``, the
pairing with the largest total overlap, not a greedy one), against each
track's box moved by its last velocity, so a face that moves keeps its id
and one missed detection (or a few, ``max_missed``) does not end its track.

A video's header is read first: its size is checked against
``max_pixels`` before any frame is decoded, and a video that stops before
the frames its header announces (truncated, corrupt) fails with the file
and the frame where decoding stopped.
"""

import logging
import math
import os
import time
from dataclasses import dataclass, field

import cv2
import numpy as np
import pandas as pd

from fer_workflow import CLASS_NAMES
from fer_workflow.use.photos import VIDEO_EXTENSIONS, video_files  # noqa: F401 (video.video_files)

log = logging.getLogger(__name__)

COLUMNS = ["time_s", "frame", "face_id", "x", "y", "w", "h", *CLASS_NAMES, "label"]


class UnreadableVideo(ValueError):
    """A video that cannot be opened or decoded to its end; the message names the file."""


class VideoTooLarge(ValueError):
    """A video whose frames are larger than classify.max_pixels (from its header)."""


# --- reading ----------------------------------------------------------------------------------


@dataclass
class VideoInfo:
    """A video's header: frames per second, frame count (0: not in the header), frame size."""

    path: str
    fps: float
    frames: int
    width: int
    height: int

    @property
    def duration(self):
        return self.frames / self.fps if self.frames else float("nan")


def open_video(path, max_pixels=None):
    """An opened cv2.VideoCapture and the VideoInfo of its header.

    Raises UnreadableVideo (missing, empty, not a video OpenCV can open, no
    frame rate) and VideoTooLarge (frame larger than ``max_pixels``), each
    naming the file, before any frame is decoded.
    """
    if not os.path.isfile(path):
        raise UnreadableVideo(f"cannot read video {path!r}: no such file")
    size = os.path.getsize(path)
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise UnreadableVideo(
            f"cannot read video {path!r}: OpenCV cannot open it ({size} bytes; not a video, "
            "or its header is missing or truncated)"
        )
    info = VideoInfo(
        path,
        float(capture.get(cv2.CAP_PROP_FPS) or 0.0),
        max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)),
        int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
        int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
    )
    if max_pixels and info.width * info.height > int(max_pixels):
        capture.release()
        raise VideoTooLarge(
            f"video {path!r} refused: its frames are {info.width}x{info.height} = "
            f"{info.width * info.height:,} pixels, more than classify.max_pixels = {int(max_pixels):,}"
        )
    if not math.isfinite(info.fps) or info.fps <= 0 or info.width <= 0 or info.height <= 0:
        capture.release()
        raise UnreadableVideo(
            f"cannot read video {path!r}: its header gives no frame rate or size "
            f"(fps {info.fps}, {info.width}x{info.height})"
        )
    return capture, info


def sample_frames(n_frames, fps, sample_fps):
    """Indices of the frames to classify: the frame shown at each multiple of
    1 / ``sample_fps`` seconds (every frame when ``sample_fps`` >= ``fps``).
    ``is_sampled`` tells the same frame by frame."""
    step = fps / float(sample_fps)
    if step <= 1:
        return np.arange(n_frames)
    count = math.ceil(n_frames / step - 1e-9)  # the k with k * step < n_frames
    return np.unique(np.floor(np.arange(count) * step + 1e-6).astype(np.int64))


def is_sampled(frame, fps, sample_fps):
    """Whether ``frame`` is one that ``sample_frames`` picks (also past the frame count)."""
    step = fps / float(sample_fps)
    if step <= 1:
        return True
    k = math.ceil((frame - 1e-6) / step)
    return math.floor(k * step + 1e-6) == frame


def truncation_tolerance(n_frames):
    """Frames a video may fall short of its header's count without being called
    truncated (the count of some containers is an estimate from the duration)."""
    return max(2, math.ceil(0.01 * n_frames))


def sampled_frames(capture, info, sample_fps):
    """(frame index, time in seconds, BGR frame) of the sampled frames, in order.

    Frames in between are grabbed without being converted. Raises
    UnreadableVideo naming the file when decoding stops more than
    ``truncation_tolerance`` frames before the count in the header.
    """
    index = 0
    while True:
        if not capture.grab():
            break
        # The frames sample_frames picks, also past a header's count that is an estimate.
        if is_sampled(index, info.fps, sample_fps):
            ok, frame = capture.retrieve()
            if not ok or frame is None:
                break
            yield index, index / info.fps, frame
        index += 1
    if info.frames and index < info.frames - truncation_tolerance(info.frames):
        raise UnreadableVideo(
            f"cannot read video {info.path!r}: decoding stopped at frame {index} of the "
            f"{info.frames} its header announces ({index / info.fps:.2f} s of "
            f"{info.duration:.2f} s): the file is truncated or corrupt"
        )
    if index == 0:
        raise UnreadableVideo(f"cannot read video {info.path!r}: no frame could be decoded")


# --- tracking ---------------------------------------------------------------------------------


def iou_matrix(a, b):
    """Intersection over union (len(a), len(b)) of x, y, w, h boxes."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ax0, ay0, ax1, ay1 = a[:, 0:1], a[:, 1:2], a[:, 0:1] + a[:, 2:3], a[:, 1:2] + a[:, 3:4]
    bx0, by0, bx1, by1 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax1, bx1) - np.maximum(ax0, bx0), 0, None)
    ih = np.clip(np.minimum(ay1, by1) - np.maximum(ay0, by0), 0, None)
    inter = iw * ih
    union = a[:, 2:3] * a[:, 3:4] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


@dataclass
class Track:
    id: int
    box: np.ndarray  # x, y, w, h where the face was last seen
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))  # box change per sampled frame
    missed: int = 0  # sampled frames since it was last seen

    def predicted(self):
        """Where the face is expected in the next sampled frame."""
        box = self.box + self.velocity * (self.missed + 1)
        box[2:] = np.maximum(box[2:], 1.0)  # a shrinking box stays a box
        return box


class Tracker:
    """Face ids from frame to frame: ``update(boxes)`` gives each box the id of
    the track it continues, or a new id (1, 2, ... in order of appearance).

    A box continues a track when the Hungarian assignment pairs them and their
    IoU (against the track's predicted box) is at least ``min_iou``; a track
    not seen for more than ``max_missed`` sampled frames ends.
    """

    def __init__(self, min_iou=0.3, max_missed=3):
        self.min_iou = float(min_iou)
        self.max_missed = int(max_missed)
        self.tracks = []
        self.next_id = 1

    def similarity(self, predicted, boxes):
        """IoU of the tracks' predicted boxes and the new boxes, raised to at
        least ``min_iou`` where a box's centre lies within a quarter of the
        track's size of the predicted centre: the same face whose box changed
        size (the detector framed it differently, the person came closer)
        keeps its id; the assignment still prefers the larger IoU."""
        overlap = iou_matrix(predicted, boxes)
        centre = lambda b: b[:, :2] + b[:, 2:] / 2  # noqa: E731
        distance = np.linalg.norm(centre(predicted)[:, None] - centre(boxes)[None], axis=-1)
        near = distance < 0.25 * np.sqrt(predicted[:, 2] * predicted[:, 3])[:, None]
        return np.where(near, np.maximum(overlap, self.min_iou), overlap)

    def update(self, boxes):
        from scipy.optimize import linear_sum_assignment

        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        ids = np.zeros(len(boxes), dtype=np.int64)
        matched_tracks = set()
        if self.tracks and len(boxes):
            overlap = self.similarity(np.array([t.predicted() for t in self.tracks]), boxes)
            rows, cols = linear_sum_assignment(overlap, maximize=True)
            for r, c in zip(rows, cols, strict=True):
                if overlap[r, c] < self.min_iou:
                    continue
                track = self.tracks[r]
                step = track.missed + 1
                # Velocity smoothed over the last steps, so one jittery box does not throw the prediction off.
                track.velocity = 0.5 * track.velocity + 0.5 * (boxes[c] - track.box) / step
                track.box, track.missed = boxes[c], 0
                ids[c] = track.id
                matched_tracks.add(r)
        for r, track in enumerate(self.tracks):
            if r not in matched_tracks:
                track.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        for c in np.flatnonzero(ids == 0):
            self.tracks.append(Track(self.next_id, boxes[c]))
            ids[c] = self.next_id
            self.next_id += 1
        return ids


# --- classifying ------------------------------------------------------------------------------


def predict_faces(model, crops, tta_flip=True, temperature=1.0):
    """Probabilities (n, 7) of a frame's 48x48 crops: ``classify.classify_crops``
    (the one path; crops and mirrors in one compiled call)."""
    from fer_workflow.use.classify import classify_crops

    return classify_crops(model, crops, tta_flip, temperature)


def annotate_frame(frame, boxes, ids, probs):
    """A copy of the BGR frame with each face's box, '#id class probability'."""
    from fer_workflow.use.classify import CLASS_COLOURS

    out = frame.copy()
    scale = max(out.shape[:2]) / 800
    thickness = max(1, round(2 * scale))
    font_scale = max(0.4, 0.6 * scale)
    for box, face_id, p in zip(boxes, ids, probs, strict=True):
        x, y, w, h = (int(v) for v in box)
        name = CLASS_NAMES[int(np.argmax(p))]
        colour = CLASS_COLOURS[name]
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, thickness)
        label = f"#{face_id} {name} {np.max(p):.0%}"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        ty = y - base - thickness if y - th - base - thickness >= 0 else y + th + thickness
        cv2.rectangle(out, (x, ty - th - thickness), (x + tw + thickness, ty + base), colour, -1)
        cv2.putText(out, label, (x, ty), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), thickness)
    return out


@dataclass
class VideoResult:
    """One video's table (COLUMNS, one row per face per sampled frame), its
    header, the sampled frames' count and the seconds spent on each step."""

    table: pd.DataFrame
    info: VideoInfo
    frames: int = 0
    seconds: dict = field(default_factory=dict)


def empty_table():
    return _typed(pd.DataFrame(columns=COLUMNS))


def _typed(table):
    types = {"time_s": "float64", "frame": "int64", "face_id": "int64", "label": "object"}
    types |= {c: "int64" for c in ("x", "y", "w", "h")} | {c: "float64" for c in CLASS_NAMES}
    return table.astype(types)


def classify_video(
    path,
    model,
    detector,
    sample_fps=5.0,
    margin=0.025,
    tta_flip=True,
    temperature=1.0,
    max_pixels=50_000_000,
    min_iou=0.3,
    max_missed=3,
    annotated=None,
):
    """Detect, track and classify the faces of one video; a VideoResult.

    ``detector`` is a detect.Detector; ``temperature`` divides the model's
    logits (calibrated probabilities; 1 leaves them). With ``annotated`` (a
    path ending .mp4) the sampled frames are written there with boxes, ids
    and labels, at ``sample_fps`` frames a second (so it plays in real time).
    """
    from fer_workflow.use.classify import to_grey
    from fer_workflow.use.detect import crop_faces

    capture, info = open_video(path, max_pixels)
    log.info(
        "%s: %dx%d, %.3f fps, %d frames (%.2f s) in its header; classifying %.3g frames a second",
        path, info.width, info.height, info.fps, info.frames, info.duration, min(sample_fps, info.fps),
    )  # fmt: skip
    writer = None
    if annotated:
        writer = cv2.VideoWriter(
            annotated, cv2.VideoWriter_fourcc(*"mp4v"), min(sample_fps, info.fps), (info.width, info.height)
        )
        if not writer.isOpened():
            raise OSError(f"could not open {annotated} for writing (OpenCV VideoWriter, mp4v)")
    tracker = Tracker(min_iou, max_missed)
    rows, seconds, frames = [], {"decode": 0.0, "detect": 0.0, "classify": 0.0, "write": 0.0}, 0
    try:
        start = time.perf_counter()
        for index, time_s, frame in sampled_frames(capture, info, sample_fps):
            now = time.perf_counter()
            seconds["decode"] += now - start
            faces = detector.detect(frame)
            seconds["detect"] += time.perf_counter() - now
            now = time.perf_counter()
            probs = np.zeros((0, len(CLASS_NAMES)))
            if len(faces):
                crops = crop_faces(to_grey(frame), faces, margin)
                probs = predict_faces(model, crops, tta_flip, temperature)
            ids = tracker.update(faces.boxes)
            seconds["classify"] += time.perf_counter() - now
            for box, face_id, p in zip(faces.boxes, ids, probs, strict=True):
                rows.append([round(time_s, 4), index, int(face_id), *(int(v) for v in box), *np.round(p, 6)])
            if writer is not None:
                now = time.perf_counter()
                writer.write(annotate_frame(frame, faces.boxes, ids, probs))
                seconds["write"] += time.perf_counter() - now
            frames += 1
            start = time.perf_counter()
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    table = pd.DataFrame(rows, columns=COLUMNS[:-1])
    table["label"] = (
        [CLASS_NAMES[k] for k in np.argmax(table[list(CLASS_NAMES)].to_numpy(), axis=1)] if rows else []
    )
    table = _typed(table[COLUMNS])
    if table.empty:
        log.info("%s: no face found in its %d sampled frames; the table is empty", path, frames)
    else:
        log.info("%s: %d faces (ids) over %d sampled frames", path, table["face_id"].nunique(), frames)
    return VideoResult(table, info, frames, seconds)


def check_written_video(path, expected_frames):
    """Raise OSError unless the video at ``path`` re-opens and has ``expected_frames`` frames."""
    capture = cv2.VideoCapture(path)
    try:
        count = 0
        while capture.isOpened() and capture.grab():
            count += 1
    finally:
        capture.release()
    if count != expected_frames:
        raise OSError(f"{path}: re-opened with {count} frames, {expected_frames} were written")
    return count


# --- the timeline figure ----------------------------------------------------------------------


def timeline_figure(table, title, smooth_s=1.0, sample_fps=5.0, max_panels=12):
    """Each face's probabilities over time, smoothed by a centred moving average
    of ``smooth_s`` seconds, one panel per face id (the ``max_panels`` faces
    seen in most frames); a table without faces gives a figure that says so."""
    from fer_workflow.plots import plt
    from fer_workflow.use.classify import CLASS_COLOURS

    ids = table["face_id"].value_counts().index[:max_panels].sort_values() if len(table) else []
    fig, axes = plt.subplots(max(1, len(ids)), 1, figsize=(9, 1.0 + 1.8 * max(1, len(ids))), squeeze=False)
    if not len(ids):
        axes[0, 0].axis("off")
        axes[0, 0].text(0.5, 0.5, "no face found", ha="center", va="center", fontsize=14)
    window = max(1, round(float(smooth_s) * float(sample_fps)))
    end = table["time_s"].max() if len(table) else 1.0
    for ax, face_id in zip(axes[:, 0], ids, strict=False):
        face = table[table["face_id"] == face_id].sort_values("time_s")
        for name in CLASS_NAMES:
            smooth = face[name].rolling(window, center=True, min_periods=1).mean()
            b, g, r = CLASS_COLOURS[name]
            ax.plot(face["time_s"], smooth, label=name, color=(r / 255, g / 255, b / 255), lw=1.5)
        top = face["label"].value_counts()
        ax.set_title(f"face #{face_id}: {len(face)} frames, mostly {top.index[0]}", fontsize=9, loc="left")
        ax.set_xlim(0, end)
        ax.set_ylim(0, 1)
        ax.set_ylabel("probability")
    axes[-1, 0].set_xlabel("time (s)")
    if len(ids):
        axes[0, 0].legend(ncol=7, fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.15), frameon=False)
    shown = f" (the {len(ids)} seen longest)" if len(table) and table["face_id"].nunique() > len(ids) else ""
    fig.suptitle(f"{title}{shown}, smoothed over {smooth_s:g} s", fontsize=11)
    fig.tight_layout()
    return fig
