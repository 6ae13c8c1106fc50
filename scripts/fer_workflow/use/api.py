"""The workflow's classifier outside Snakemake: ``Classifier().predict(image)``.

    from fer_workflow import Classifier
    faces = Classifier().predict("group.jpg")        # or a BGR array (OpenCV's order)
    faces[0].box, faces[0].expression, faces[0].probabilities

It runs the library functions the rules run: ``detect.Detector`` (or your
own boxes), ``detect.crop_faces``, ``classify.classify_crops`` (every face
of a photo in one batch, calibrated by the model's temperature) and, for
files, ``classify.classify_photo``, so a photo gets the same numbers here
as in ``results/classify/predictions.csv`` with the same settings. The
model is the shipped FER2013 CNN unless ``model`` names a ``.keras``,
``.onnx`` or ``.tflite`` file (``export.load``); with an ONNX or LiteRT
model and the Haar detector, TensorFlow is never imported.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fer_workflow import CLASS_NAMES
from fer_workflow.use import shipped

# The repository (or source tree) this package lives in: the shipped model is there.
ROOT = Path(__file__).resolve().parent.parent.parent
SHIPPED_ONNX = "resources/models/fer2013_cnn.onnx"
BOX_COLUMNS = ("x", "y", "w", "h")


class BadBoxes(ValueError):
    """A boxes CSV that cannot be used; the message names the file, the line and the reason."""


@dataclass
class Face:
    """One face: ``box`` (x, y, w, h) in pixels, ``probabilities`` (7,) float32
    in CLASS_NAMES order (calibrated; they sum to 1)."""

    box: tuple
    probabilities: np.ndarray

    @property
    def expression(self):
        return CLASS_NAMES[int(np.argmax(self.probabilities))]

    def as_dict(self):
        x, y, w, h = self.box
        probs = {name: round(float(p), 6) for name, p in zip(CLASS_NAMES, self.probabilities, strict=True)}
        return {"x": x, "y": y, "w": w, "h": h, **probs, "expression": self.expression}


class GivenBoxes:
    """A detector that detects nothing: it returns the boxes it was given
    (``classify_photo`` then crops and classifies them, no detection run)."""

    kind = "given"

    def __init__(self, boxes):
        self.boxes = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)

    def detect(self, image):
        from fer_workflow.use.detect import Faces

        return Faces(self.boxes)


def read_boxes(path):
    """{photo file name: boxes (n, 4) int} from a CSV with columns file, x, y, w, h
    (one row per face; ``file`` is the photo's name or path, matched by name).

    Raises BadBoxes naming the file, the line and the reason for a missing
    file or column, a value that is not a whole number, a negative x or y, or
    a width or height under 1.
    """
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise BadBoxes(f"boxes {str(path)!r}: no such file") from None
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise BadBoxes(f"boxes {str(path)!r}: not a CSV file ({error})") from None
    missing = [c for c in ("file", *BOX_COLUMNS) if c not in table.columns]
    if missing:
        raise BadBoxes(
            f"boxes {str(path)!r}: no column {', '.join(missing)} (it needs file, x, y, w, h; "
            f"it has {', '.join(table.columns) or 'none'})"
        )
    boxes = {}
    for line, row in zip(range(2, len(table) + 2), table.itertuples(index=False), strict=True):
        values = []
        for column in BOX_COLUMNS:
            text = str(getattr(row, column)).strip()
            try:
                value = float(text)
            except ValueError:
                value = float("nan")
            if not np.isfinite(value) or value != int(value):
                raise BadBoxes(f"boxes {str(path)!r}, line {line}: {column} = {text!r} is not a whole number")
            values.append(int(value))
        x, y, w, h = values
        if x < 0 or y < 0 or w < 1 or h < 1:
            raise BadBoxes(f"boxes {str(path)!r}, line {line}: box {values} needs x, y >= 0 and w, h >= 1")
        name = os.path.basename(str(row.file).strip())
        if not name:
            raise BadBoxes(f"boxes {str(path)!r}, line {line}: the file is empty")
        boxes.setdefault(name, []).append(values)
    return {name: np.array(b, dtype=np.int64) for name, b in boxes.items()}


def resolve_temperature(calibration, model_path, shipped_model):
    """The temperature that calibrates the probabilities, and where it came from.

    ``calibration``: None or "auto" (the shipped model's record for the
    shipped model; for another file the record beside it, ``x.json`` for
    ``x.keras``/``x.onnx``/``x.tflite``, or its run's ``eval/calibration_<m>.json``;
    none found: T = 1), "none" (T = 1), a number, or a JSON file holding
    ``temperature`` (or ``calibration.temperature``).
    """
    if calibration is None or str(calibration) == "auto":
        if shipped_model:
            candidates = [ROOT / shipped.SHIPPED_RECORD]
        else:
            keras_twin = os.path.splitext(str(model_path))[0] + ".keras"
            candidates = [shipped.record_path(model_path), shipped.run_calibration_path(keras_twin)]
        for candidate in candidates:
            if candidate and os.path.isfile(candidate):
                record = shipped.read_record(candidate)
                if "temperature" in record or "temperature" in (record.get("calibration") or {}):
                    return shipped.temperature(candidate), str(candidate)
        return 1.0, "none found (uncalibrated, T = 1)"
    if str(calibration) == "none":
        return 1.0, "none (T = 1)"
    try:
        value = float(calibration)
    except ValueError:
        if not os.path.isfile(str(calibration)):
            raise ValueError(
                f"calibration {str(calibration)!r}: not auto, none, a number or a file"
            ) from None
        return shipped.temperature(str(calibration)), str(calibration)
    from fer_workflow.evaluation.calibration import checked_temperature

    return checked_temperature(value, "calibration"), f"given (T = {value:g})"


class Classifier:
    """Faces and their expressions on photos and frames, as the workflow's rules find them.

    ``model``: None (the shipped FER2013 CNN, ``resources/models/fer2013_cnn.keras``),
    "onnx" (its ONNX copy), or a ``.keras``, ``.onnx`` or ``.tflite`` file.
    ``detector``: "haar" or "mtcnn" (classify.detector), with
    ``min_face_size``, ``scale_factor``, ``min_neighbors``, ``margin`` and
    ``tta_flip`` as in the config's ``classify`` group; ``calibration`` as
    ``resolve_temperature`` takes it; ``max_pixels``: the largest photo
    (width x height, from its header) read, 0 or None: any; ``threads``: the
    model's CPU threads (None: the runtime's default).
    """

    def __init__(
        self,
        model=None,
        detector="haar",
        calibration="auto",
        tta_flip=True,
        margin=0.025,
        min_face_size=48,
        scale_factor=1.1,
        min_neighbors=3,
        max_pixels=100_000_000,
        threads=None,
    ):
        from fer_workflow.use import detect, export

        shipped_model = model in (None, "", "onnx")
        if shipped_model:
            path = ROOT / (SHIPPED_ONNX if model == "onnx" else shipped.SHIPPED_MODEL)
        else:
            path = Path(model)
        self.model_path = str(path)
        self.temperature, self.calibration = resolve_temperature(calibration, path, shipped_model)
        self.detector = detect.Detector(detector, min_face_size, scale_factor, min_neighbors)
        self.model = export.load(path, threads)
        self.tta_flip, self.margin, self.max_pixels = bool(tta_flip), float(margin), max_pixels

    def probabilities(self, crops):
        """Calibrated probabilities (n, 7) of 48x48 uint8 face crops, all in one batch."""
        from fer_workflow.use.classify import classify_crops

        return classify_crops(self.model, crops, self.tta_flip, self.temperature)

    def predict(self, image, boxes=None):
        """The faces on ``image`` (a photo's path, or a BGR or grey uint8 array),
        left to right, as Face objects. ``boxes`` (n, 4) x, y, w, h: classify
        these faces instead of detecting them."""
        from fer_workflow.use.classify import check_image_size, read_photo, to_grey
        from fer_workflow.use.detect import Faces, crop_faces

        if isinstance(image, str | os.PathLike):
            check_image_size(str(image), self.max_pixels)
            image = read_photo(str(image))
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise ValueError(
                f"an image is a uint8 (h, w) or (h, w, 3) array, not {image.dtype} {image.shape}"
            )
        faces = Faces(GivenBoxes(boxes).boxes) if boxes is not None else self.detector.detect(image)
        grey = image if image.ndim == 2 else to_grey(image)
        probs = self.probabilities(crop_faces(grey, faces, self.margin))
        return [Face(tuple(int(v) for v in box), p) for box, p in zip(faces.boxes, probs, strict=True)]

    def classify_file(self, path, boxes=None, on_unreadable="list"):
        """One photo's rows of the workflow's predictions table (``classify.COLUMNS``),
        by ``classify.classify_photo``: a photo without a face, unreadable or
        too large is one row with the reason in ``note`` (``on_unreadable="fail"``: raises)."""
        from fer_workflow.use.classify import classify_photo

        detector = GivenBoxes(boxes) if boxes is not None else self.detector
        return classify_photo(
            str(path),
            self.model,
            detector=detector,
            margin=self.margin,
            tta_flip=self.tta_flip,
            on_unreadable=on_unreadable,
            max_pixels=self.max_pixels or None,
            temperature=self.temperature,
        ).table
