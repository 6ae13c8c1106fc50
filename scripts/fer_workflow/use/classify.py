"""Classify the expressions on your own photos: detect faces, crop them as
FER2013 crops its faces, scale to 48x48 grey, run the trained model, draw the
boxes and labels.

Detection uses OpenCV's Haar cascade ``haarcascade_frontalface_alt2``: its
model file ships inside ``opencv-python-headless`` (``cv2.data``), so nothing
is downloaded at run time, and on a group photo of 6 people it found the 6
faces where OpenCV's default cascade found 9 to 13. OpenCV 5 dropped
``CascadeClassifier``, so the requirement is pinned to a 4.x release.

A photo is read with OpenCV (JPEG or PNG, any size, colour or grey; EXIF
rotation applied). Faces are listed left to right. A FER2013 face is a tight
crop: on enlarged FER2013 faces the cascade's box is 0.95 of the face image's
side (median; see ``benchmarks/classify_faces.py``), so the default margin
widens the box by 2.5% on each side. The crop is square, centred on the box;
where it runs over the photo's edge the edge pixels are repeated.
"""

import os
import textwrap
from dataclasses import dataclass, field

import cv2
import numpy as np
import pandas as pd

from fer_workflow import CLASS_NAMES, IMAGE_SIZE
from fer_workflow.plots import plt  # with the Agg backend set
from fer_workflow.use import photos
from fer_workflow.use.detect import Detector, crop_faces

COLUMNS = ["file", "face", "x", "y", "w", "h", *CLASS_NAMES, "expression", "note"]
NO_FACE = "no face found"

# Box colour per class (BGR), readable on photos.
CLASS_COLOURS = {
    "Angry": (40, 40, 220),
    "Disgust": (40, 140, 40),
    "Fear": (160, 60, 160),
    "Happy": (0, 200, 255),
    "Sad": (200, 120, 30),
    "Surprise": (0, 140, 255),
    "Neutral": (200, 200, 200),
}


# A photo that cannot be classified (not decodable, or too large: ImageTooLarge); the message
# names the file. Defined in photos.py (Keras- and OpenCV-free), used here.
UnreadableImage = photos.UnreadableImage
ImageTooLarge = photos.ImageTooLarge
check_image_size = photos.check_image_size


@dataclass
class PhotoResult:
    """What one photo gives: its rows of the predictions table, the annotated
    photo (BGR) and the 48x48 crops the model saw (n, 48, 48) uint8."""

    table: pd.DataFrame  # COLUMNS
    annotated: np.ndarray
    crops: np.ndarray = field(default_factory=lambda: np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8))


def read_photo(path):
    """The photo as a BGR uint8 array (height, width, 3); grey photos get 3 equal channels.

    Raises UnreadableImage naming the file if it is missing, empty or not an
    image OpenCV can decode.
    """
    try:
        data = np.fromfile(path, dtype=np.uint8)  # also for non-ASCII paths, unlike cv2.imread
    except OSError as error:
        raise UnreadableImage(f"cannot read photo {path!r}: {error.strerror or error}") from error
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise UnreadableImage(
            f"cannot read photo {path!r}: not a JPEG or PNG image that OpenCV can decode ({data.size} bytes)"
        )
    return image


def to_grey(image):
    """A BGR photo as one grey channel (OpenCV's luma weights)."""
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def classify_crops(model, crops, tta_flip=True, temperature=1.0):
    """Probabilities (n, 7) of the 48x48 crops; with ``tta_flip`` averaged with the mirrored crops'.

    The one path from crops to probabilities, for photos, videos, the
    command-line tool and the Python API: every crop of a photo or frame,
    and its mirror, go through the model in one batch (one compiled call,
    ``predict_on_batch``: a frame's few faces take 20 ms instead of 100 ms
    called eagerly twice). ``model`` is a Keras model or an exported one
    (``export.load``: ONNX Runtime, LiteRT), anything with ``predict_on_batch``
    taking raw 0..255 pixels (n, 48, 48, 1) float32. ``temperature``
    calibrates each view's probabilities (``softmax(log p / T)``,
    ``calibration.apply_temperature``) before the views are averaged; 1: as
    the model gives them.
    """
    from fer_workflow.data.dataset import as_model_input
    from fer_workflow.evaluation.calibration import apply_temperature
    from fer_workflow.evaluation.predict import flip_horizontal

    crops = np.asarray(crops, dtype=np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    if len(crops) == 0:
        return np.zeros((0, len(CLASS_NAMES)), np.float32)
    batch = np.concatenate([crops, flip_horizontal(crops)]) if tta_flip else crops
    probs = np.asarray(model.predict_on_batch(as_model_input(batch)), dtype=np.float32)
    if probs.shape != (len(batch), len(CLASS_NAMES)):
        raise ValueError(f"model returned shape {probs.shape}, expected ({len(batch)}, {len(CLASS_NAMES)})")
    if float(temperature) != 1.0:
        probs = apply_temperature(probs, temperature).astype(np.float32)
    return (probs[: len(crops)] + probs[len(crops) :]) / 2 if tta_flip else probs


def _overlaps(a, b):
    """Whether two (x0, y0, x1, y1) rectangles share any pixel."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def label_positions(boxes, sizes, image_shape):
    """Where each face's label goes: (x0, y0, x1, y1) rectangles that do not overlap each other.

    ``sizes`` are the labels' (width, height). Each label, left to right,
    takes the first free place among: just above its box, just inside its
    top, just below it, then further up and down one label height at a
    time, each moved left if it would leave the photo. Only if none of
    those is free (more labels than the photo has room for) does a label
    overlap another.
    """
    height, width = image_shape[:2]
    placed = []
    for (x, y, _, h), (tw, th) in zip(boxes, sizes, strict=True):
        x0 = int(min(max(0, x), max(0, width - tw)))
        tops = [y - th, y, y + h]
        for k in range(1, 2 * max(1, height // max(1, th)) + 1):
            tops += [y - th - k * th, y + h + k * th]
        tops = [t for t in tops if 0 <= t <= height - th] or [max(0, min(y, height - th))]
        candidates = [(x0, t, x0 + tw, t + th) for t in tops]
        free = [c for c in candidates if not any(_overlaps(c, p) for p in placed)]
        placed.append(free[0] if free else candidates[0])
    return placed


def annotate(image, boxes, probs):
    """A copy of the BGR photo with each face's box and 'number class probability'.

    Line width and text size follow the photo's size, so labels stay readable
    on a phone photo and on a thumbnail. Labels never overlap each other
    (``label_positions``); the number ties a moved label to its face.
    """
    out = image.copy()
    scale = max(out.shape[:2]) / 800
    thickness = max(1, round(2 * scale))
    font_scale = max(0.4, 0.6 * scale)
    font = cv2.FONT_HERSHEY_SIMPLEX
    labels, sizes, bases = [], [], []
    for number, p in enumerate(probs, start=1):
        name = CLASS_NAMES[int(np.argmax(p))]
        label = f"{number} {name} {np.max(p):.0%}"
        (tw, th), base = cv2.getTextSize(label, font, font_scale, thickness)
        labels.append((label, CLASS_COLOURS[name]))
        sizes.append((tw + thickness, th + base + thickness))
        bases.append(base)
    for box, (_, colour) in zip(boxes, labels, strict=True):
        x, y, w, h = (int(v) for v in box)
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, thickness)
    for (label, colour), (x0, y0, x1, y1), base in zip(
        labels, label_positions(boxes, sizes, out.shape), bases, strict=True
    ):
        cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), colour, -1)
        cv2.putText(out, label, (x0, y1 - 1 - base), font, font_scale, (0, 0, 0), thickness)
    return out


def _note_image(text, width=480, height=120):
    """A small grey image saying ``text`` (stands in for a photo that could not be read)."""
    image = np.full((height, width, 3), 235, np.uint8)
    cv2.putText(image, text[:60], (10, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 160), 1)
    return image


def _rows(name, boxes, probs, note=""):
    if len(boxes) == 0:
        row = {column: np.nan for column in COLUMNS} | {"file": name, "expression": "", "note": note}
        return integer_columns(pd.DataFrame([row], columns=COLUMNS))
    table = pd.DataFrame(np.asarray(boxes), columns=["x", "y", "w", "h"])
    table.insert(0, "face", np.arange(1, len(boxes) + 1))
    table.insert(0, "file", name)
    for k, class_name in enumerate(CLASS_NAMES):
        table[class_name] = np.round(probs[:, k].astype(np.float64), 6)
    table["expression"] = [CLASS_NAMES[k] for k in np.argmax(probs, axis=1)]
    table["note"] = note
    return integer_columns(table[COLUMNS])


def integer_columns(table):
    """Face number and box as integers that may be empty (a photo without a face)."""
    return table.astype({column: "Int64" for column in ("face", "x", "y", "w", "h")})


def refuse_if_too_large(path, max_pixels, on_unreadable="list"):
    """The listed PhotoResult of a photo whose header declares more than
    ``max_pixels`` pixels (``on_unreadable="fail"``: ImageTooLarge), else None.
    Rule classify_photo calls it before loading the model, so such a photo's
    job ends in the time it takes to start Python."""
    try:
        check_image_size(path, max_pixels)
    except ImageTooLarge as error:
        if on_unreadable != "list":
            raise ImageTooLarge(f"{error} (set classify.on_unreadable: list to list it instead)") from None
        name = os.path.basename(path)
        return PhotoResult(_rows(name, [], None, f"too large: {error}"), _note_image(f"too large: {name}"))
    return None


def classify_photo(
    path,
    model,
    detector=None,
    margin=0.025,
    min_face_size=48,
    scale_factor=1.1,
    min_neighbors=3,
    tta_flip=True,
    on_unreadable="list",
    max_pixels=None,
    temperature=1.0,
):
    """Detect, crop and classify the faces on one photo; a PhotoResult.

    The table has one row per face (COLUMNS; ``face`` numbers from 1, left
    to right), or one row with empty probabilities and the reason in
    ``note`` for a photo without a face. A file that cannot be classified,
    undecodable or with more than ``max_pixels`` pixels in its header
    (checked before decoding: ``photos.check_image_size``), is listed with
    the reason (``on_unreadable="list"``) or raises UnreadableImage
    (``"fail"``). ``temperature`` calibrates the probabilities (``classify_crops``).
    """
    name = os.path.basename(path)
    try:
        check_image_size(path, max_pixels)
        image = read_photo(path)
    except UnreadableImage as error:
        if on_unreadable != "list":
            raise type(error)(f"{error} (set classify.on_unreadable: list to list it instead)") from None
        what = "too large" if isinstance(error, ImageTooLarge) else "unreadable"
        return PhotoResult(_rows(name, [], None, f"{what}: {error}"), _note_image(f"{what}: {name}"))
    grey = to_grey(image)

    # ``detector``: a detect.Detector (classify.detector), by default the Haar cascade.
    found = (detector or Detector("haar", min_face_size, scale_factor, min_neighbors)).detect(image)
    boxes = found.boxes
    if len(boxes) == 0:
        return PhotoResult(_rows(name, boxes, None, NO_FACE), image)
    crops = crop_faces(grey, found, margin)
    probs = classify_crops(model, crops, tta_flip, temperature)
    return PhotoResult(_rows(name, boxes, probs), annotate(image, boxes, probs), crops)


def contact_sheet(table, crops, columns=8, max_faces=160, model="", warning=""):
    """A figure of every face the model saw (the 48x48 crop), titled with its
    photo, face number, expression and probability; photos without a face or
    unreadable are listed below. ``table`` is the predictions table, ``crops``
    the crops in the order of its face rows. ``model`` (what classified them)
    is named under the title; ``warning`` (``shipped.warning``) is printed
    above the faces in red.
    """
    faces = table[table["expression"].fillna("") != ""].reset_index(drop=True)
    if len(faces) != len(crops):
        raise ValueError(f"{len(crops)} crops for {len(faces)} faces in the table")
    shown = min(len(faces), max_faces)
    columns = max(1, min(columns, shown))
    rows = max(1, -(-shown // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.95 * rows + 0.6), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= shown:
            continue
        row = faces.loc[i]
        ax.imshow(crops[i], cmap="gray", vmin=0, vmax=255)
        name = row["file"] if len(row["file"]) <= 18 else row["file"][:15] + "..."
        ax.set_title(
            f"{name} #{int(row['face'])}\n{row['expression']} {row[row['expression']]:.0%}", fontsize=8
        )
    title = f"{len(faces)} faces on {table['file'].nunique()} photos"
    if shown < len(faces):
        title += f" (the first {shown} shown)"
    if model:
        title += f"\nmodel: {model}"
    if warning:
        title = f"{textwrap.fill(warning, 110)}\n\n{title}"
    suptitle = fig.suptitle(title, fontsize=11 if not warning else 9)
    if warning:
        suptitle.set_color("#b00000")
    others = table[table["expression"].fillna("") == ""]
    if len(others):
        listed = "; ".join(f"{f}: {n}" for f, n in zip(others["file"], others["note"], strict=True))
        fig.text(0.01, 0.0, "Not classified: " + listed[:400], fontsize=8, va="top", wrap=True)
    fig.tight_layout()
    return fig


# --- test scenes ------------------------------------------------------------------------------
