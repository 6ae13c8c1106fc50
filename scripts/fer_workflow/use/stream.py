"""Video from a camera, a stream URL or a file, classified as it comes.

``open_source`` opens a camera index (``0``), a stream URL (``rtsp://``,
``http://``, ...) or a video file with OpenCV. ``RealtimeFrames`` reads the
frames in a thread of their own and hands the processor only the newest
sampled frame: a frame that arrives while the processor is still busy with
an earlier one replaces the waiting one, and the replaced frame is dropped
and counted, so the output keeps up with the camera however slow the
model. A file can be played as a stream (``pace=True``: each frame is read
at its time, as a camera delivers it), which is how the tests and
``benchmarks/stream_realtime.py`` measure what a live source would give.
Without real time, every sampled frame of a file is processed
(``video.sampled_frames``, as the workflow's ``classify_video`` rule does).

``classify_frames`` turns frames into rows of ``video.COLUMNS`` (time in
seconds, frame index, face id, box, probabilities, label), through the
rules' own functions: ``detect.Detector``, ``detect.crop_faces``,
``classify.classify_crops`` (every face of a frame in one batch) and
``video.Tracker``.
"""

import math
import threading
import time

import cv2
import numpy as np

from fer_workflow import CLASS_NAMES
from fer_workflow.use.video import COLUMNS, UnreadableVideo, VideoInfo, is_sampled, open_video

__all__ = ["COLUMNS", "LatestFrame", "RealtimeFrames", "classify_frames", "open_source"]


def parse_source(text):
    """A camera index (``"0"`` -> 0) or the path or URL as given."""
    text = str(text)
    return int(text) if text.isdigit() else text


def is_live(source):
    """Whether ``source`` is a camera index or a stream URL (not a file)."""
    return isinstance(source, int) or "://" in str(source)


def open_source(source, max_pixels=None):
    """An opened cv2.VideoCapture and its VideoInfo; ``source`` is a camera
    index, a stream URL or a video file (``video.open_video``: checked
    against ``max_pixels`` from its header). Raises UnreadableVideo naming
    the source when OpenCV cannot open it."""
    source = parse_source(source)
    if not is_live(source):
        return open_video(source, max_pixels)
    capture = cv2.VideoCapture(source)
    what = f"camera {source}" if isinstance(source, int) else f"stream {source!r}"
    if not capture.isOpened():
        raise UnreadableVideo(f"cannot open {what}: OpenCV's VideoCapture could not open it")
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    info = VideoInfo(
        str(source),
        fps if math.isfinite(fps) and 0 < fps < 1000 else 0.0,
        0,
        int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
        int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
    )
    if max_pixels and info.width * info.height > int(max_pixels):
        capture.release()
        raise UnreadableVideo(f"{what} refused: {info.width}x{info.height} frames, more than max_pixels")
    return capture, info


class Sampler:
    """Which frames are classified at ``sample_fps`` a second: by frame index
    (``video.is_sampled``, as the rule samples a file) when the frame rate is
    known, else by the frame's time on the clock."""

    def __init__(self, fps, sample_fps):
        self.fps, self.sample_fps = float(fps or 0.0), float(sample_fps)
        self.next_time = 0.0

    def __call__(self, index, time_s):
        if self.fps > 0:
            return is_sampled(index, self.fps, self.sample_fps)
        if time_s + 1e-9 < self.next_time:
            return False
        step = 1.0 / self.sample_fps
        self.next_time = (math.floor(time_s / step + 1e-9) + 1) * step
        return True


class LatestFrame:
    """A one-frame mailbox between a reader and a processor: ``put`` replaces
    a frame not yet taken (that frame is dropped, and counted in ``dropped``),
    ``take`` waits for the newest frame (None once closed and empty)."""

    def __init__(self):
        self._condition = threading.Condition()
        self._item = None
        self._closed = False
        self.put_count = 0
        self.dropped = 0

    def put(self, item):
        with self._condition:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self.put_count += 1
            self._condition.notify()

    def close(self):
        with self._condition:
            self._closed = True
            self._condition.notify()

    def take(self):
        with self._condition:
            while self._item is None and not self._closed:
                self._condition.wait()
            item, self._item = self._item, None
            return item


def _frame_time(index, info, start, clock):
    """A frame's time in seconds: index / fps where the rate is known, else the clock since the start."""
    return index / info.fps if info.fps > 0 else clock() - start


class RealtimeFrames:
    """The newest sampled frame whenever the processor asks, read in a thread
    at the source's pace: frames the processor had no time for are dropped
    (``dropped``; ``sampled`` counts all sampled frames, ``processed`` those
    handed on). ``pace=True`` plays a file as a live source would deliver it
    (each frame read at its time on ``clock``); a camera or stream paces itself."""

    def __init__(self, capture, info, sample_fps, pace=True, clock=time.monotonic, sleep=time.sleep):
        self.capture, self.info, self.sample_fps = capture, info, sample_fps
        self.pace, self.clock, self.sleep = pace, clock, sleep
        self.mailbox = LatestFrame()
        self.processed = self.read = 0
        self._stop = threading.Event()

    @property
    def sampled(self):
        return self.mailbox.put_count

    @property
    def dropped(self):
        return self.mailbox.dropped

    def _read(self):
        sampler, start, index = Sampler(self.info.fps, self.sample_fps), self.clock(), 0
        try:
            while not self._stop.is_set():
                if self.pace and self.info.fps > 0:
                    wait = start + index / self.info.fps - self.clock()
                    if wait > 0:
                        self.sleep(wait)
                if not self.capture.grab():
                    break
                time_s = _frame_time(index, self.info, start, self.clock)
                if sampler(index, time_s):
                    ok, frame = self.capture.retrieve()
                    if not ok or frame is None:
                        break
                    self.mailbox.put((index, time_s, frame))
                index += 1
        finally:
            self.read = index
            self.mailbox.close()

    def __iter__(self):
        reader = threading.Thread(target=self._read, name="frame-reader", daemon=True)
        reader.start()
        try:
            while (item := self.mailbox.take()) is not None:
                self.processed += 1
                yield item
        finally:
            self._stop.set()
            reader.join()


def classify_frames(frames, model, detector, margin=0.025, tta_flip=True, temperature=1.0, tracker=None):
    """For each (index, time in seconds, BGR frame) of ``frames``: the list of
    its rows (``COLUMNS``: time_s, frame, face_id, x, y, w, h, 7 probabilities,
    label), one per face, ids from ``tracker`` (a ``video.Tracker``)."""
    from fer_workflow.use.classify import classify_crops, to_grey
    from fer_workflow.use.detect import crop_faces
    from fer_workflow.use.video import Tracker

    tracker = tracker or Tracker()
    for index, time_s, frame in frames:
        faces = detector.detect(frame)
        probs = classify_crops(model, crop_faces(to_grey(frame), faces, margin), tta_flip, temperature)
        ids = tracker.update(faces.boxes)
        yield [
            [round(float(time_s), 4), int(index), int(face_id), *(int(v) for v in box)]
            + [round(float(p), 6) for p in probs_k]
            + [CLASS_NAMES[int(np.argmax(probs_k))]]
            for box, face_id, probs_k in zip(faces.boxes, ids, probs, strict=True)
        ]
