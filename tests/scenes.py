"""Pictures and videos for the tests and benchmarks of photos, detection and
video, with known boxes and labels: FER2013's 48x48 faces enlarged onto a
colour background (``place_faces``), or moving and changing expression in a
video (``write_video``). Not part of the library: nothing the workflow runs
uses them. Benchmarks reach this folder through ``benchmarks/common.py``.

Videos: made from real faces: FER2013's 48x48 faces, enlarged and
composited on a still colour background, each moving on its own path (an
ellipse around its place, tilting by a few degrees) and changing expression
halfway (a cross-fade to another FER2013 face). Not a camera recording: the
faces are flat pictures that slide; what it tests is detection, alignment,
tracking and classification on real faces in motion, with known boxes and
labels in every frame.
"""

from dataclasses import dataclass

import cv2
import numpy as np
import pandas as pd

from fer_workflow import IMAGE_SIZE


def gradient_canvas(height, width, rng, noise=12.0):
    """A colour BGR photo without a face: smooth colour gradients plus Gaussian noise."""
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    a, b, c = rng.uniform(40, 200, 3)
    canvas = np.stack([a + 80 * xx, b + 60 * yy, c - 60 * xx * yy], axis=-1)
    canvas += rng.normal(0, noise, canvas.shape)
    return np.clip(canvas, 0, 255).astype(np.uint8)


def place_faces(faces, rng, height=600, width=800, sizes=(160, 200)):
    """A colour photo with the 48x48 ``faces`` enlarged (side drawn from
    ``sizes``) and placed side by side in one row; returns the photo and the
    placed boxes (n, 4) x, y, w, h. The photo must be wide enough for them.
    """
    photo = gradient_canvas(height, width, rng)
    slot = width // len(faces)
    boxes = []
    for k, face in enumerate(faces):
        side = int(rng.integers(sizes[0], sizes[1] + 1))
        if side > slot or side > height:
            raise ValueError(f"{len(faces)} faces of {side} px do not fit a {width}x{height} photo")
        x = k * slot + int(rng.integers(0, slot - side + 1))
        y = int(rng.integers(0, height - side + 1))
        photo[y : y + side, x : x + side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)[
            ..., None
        ]
        boxes.append((x, y, side, side))
    return photo, np.array(boxes)


def box_overlap(a, b):
    """Intersection over union of two x, y, w, h boxes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter)


def read_csv_faces(path, n):
    """The first ``n`` faces (n, 48, 48) uint8 and labels of a ``label,feature``
    or Kaggle ``emotion,pixels`` CSV (gzipped or not), read without the rest of the file."""
    table = pd.read_csv(path, nrows=int(n))
    pixels = table["feature"] if "feature" in table else table["pixels"]
    labels = table["label"] if "label" in table else table["emotion"]
    faces = np.stack([np.array(p.split(), dtype=np.uint8) for p in pixels])
    return faces.reshape(-1, IMAGE_SIZE, IMAGE_SIZE), labels.to_numpy()


@dataclass
class Scene:
    """Ground truth of a composited video: per frame, the faces' boxes
    (n_faces, 4) x, y, w, h and the label shown (n_faces,), and the face ids 1..n."""

    boxes: np.ndarray  # (frames, n_faces, 4)
    labels: np.ndarray  # (frames, n_faces)
    fps: float


def _anchors(n, width, height, side):
    """Places of ``n`` faces of ``side`` pixels on a grid of two rows, spread out."""
    top = (n + 1) // 2
    places = []
    for row, count in enumerate((top, n - top)):
        for k in range(count):
            cx = (k + 0.5) * width / count
            cy = (row + 0.5) * height / 2 if n > 1 else height / 2
            places.append((cx, cy))
    return np.array(places)


def rotated_face(face, side, angle):
    """The 48x48 face enlarged to ``side`` pixels and tilted by ``angle`` degrees (edges repeated)."""
    big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    if abs(angle) < 1e-3:
        return big
    matrix = cv2.getRotationMatrix2D((side / 2, side / 2), angle, 1.0)
    return cv2.warpAffine(big, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def write_video(
    path,
    faces,
    labels,
    n_faces=5,
    seconds=8.0,
    fps=25.0,
    width=640,
    height=360,
    side=96,
    radius=(30, 18),
    tilt=8.0,
    seed=0,
    fourcc="mp4v",
):
    """Write a video of ``n_faces`` FER2013 faces moving over a background;
    returns its Scene. ``faces`` (>= 2 * n_faces, 48, 48) uint8 and their
    ``labels``: face k shows faces[2k] in the first half and faces[2k + 1] in
    the second (a 0.5 s cross-fade). Each face circles its place on an
    ellipse of ``radius`` (x, y) pixels once every 4 to 6 seconds and tilts by
    up to ``tilt`` degrees. With ``n_faces`` 0 the video has no face.
    """
    rng = np.random.default_rng(seed)
    background = gradient_canvas(height, width, rng)
    n_frames = int(round(seconds * fps))
    anchors = _anchors(n_faces, width, height, side) if n_faces else np.zeros((0, 2))
    periods = rng.uniform(4.0, 6.0, n_faces)
    phases = rng.uniform(0, 2 * np.pi, n_faces)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    if not writer.isOpened():
        raise OSError(f"could not open {path} for writing ({fourcc})")
    boxes = np.zeros((n_frames, n_faces, 4), np.int64)
    shown = np.zeros((n_frames, n_faces), np.int64)
    half, fade = seconds / 2, 0.5
    try:
        for i in range(n_frames):
            t = i / fps
            frame = background.copy()
            mix = float(np.clip((t - half + fade / 2) / fade, 0, 1))  # 0: first face, 1: second
            for k in range(n_faces):
                a = 2 * np.pi * t / periods[k] + phases[k]
                cx = anchors[k, 0] + radius[0] * np.cos(a)
                cy = anchors[k, 1] + radius[1] * np.sin(a)
                angle = tilt * np.sin(a * 1.5)
                face = (1 - mix) * faces[2 * k].astype(np.float32) + mix * faces[2 * k + 1].astype(np.float32)
                patch = rotated_face(np.clip(face, 0, 255).astype(np.uint8), side, angle)
                x = int(np.clip(round(cx - side / 2), 0, width - side))
                y = int(np.clip(round(cy - side / 2), 0, height - side))
                frame[y : y + side, x : x + side] = patch[..., None]
                boxes[i, k] = (x, y, side, side)
                shown[i, k] = labels[2 * k + (mix >= 0.5)]
            writer.write(frame)
    finally:
        writer.release()
    return Scene(boxes, shown, fps)
