"""Face detection behind one call, for photos and videos: OpenCV's Haar
cascade or MTCNN (the ``mtcnn`` package, its weights inside the package, the
detector the ``fer`` package uses), chosen by ``classify.detector``.

``Detector(kind, ...).detect(image)`` gives ``Faces``: boxes (x, y, w, h),
and with MTCNN its five landmarks (eyes, nose, mouth corners) and scores.
``crop_faces`` turns them into FER2013-like 48x48 grey crops: Haar boxes are
cropped square around the box (``crop_face``); MTCNN faces are
aligned first, rotated about the eyes' midpoint so that the eyes are level,
and cropped around the landmarks with the geometry of a FER2013 face
(``EYES_SIDE``, ``EYES_TO_CENTRE``, measured on FER2013 faces by
``benchmarks/classify_faces.py --measure-landmarks``).
"""

import math
import os
from dataclasses import dataclass

import cv2
import numpy as np

from fer_workflow import IMAGE_SIZE

DETECTORS = ("haar", "mtcnn")
CASCADE = "haarcascade_frontalface_alt2.xml"

# FER2013 face geometry in MTCNN landmarks, measured on 300 enlarged FER2013
# faces (benchmarks/classify_faces.py --measure-landmarks; medians of the 274
# found): the face image's side is EYES_SIDE times the distance between the
# eyes, and its centre lies EYES_TO_CENTRE times that distance below the eyes'
# midpoint. The eye distance varies less from face to face than the
# eyes-to-mouth distance (interquartile range of the log ratio 0.15 against
# 0.20: an open mouth moves the mouth corners), so it sets the scale.
EYES_SIDE = 2.70
EYES_TO_CENTRE = 0.33

# Landmark order in Faces.landmarks.
LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


# ---- the Haar cascade (OpenCV's files, shipped in its wheel) -----------------------


def load_detector():
    """OpenCV's frontal-face Haar cascade (alt2), from the file inside the package."""
    path = os.path.join(cv2.data.haarcascades, CASCADE)
    detector = cv2.CascadeClassifier(path)
    if detector.empty():
        raise RuntimeError(f"could not load the face detector {path}")
    return detector


def detect_faces(grey, detector, scale_factor=1.1, min_neighbors=3, min_size=48):
    """Face boxes (n, 4) int as x, y, w, h in pixels, left to right.

    ``scale_factor`` is the step between the scales searched (smaller: slower,
    finds more), ``min_neighbors`` how many overlapping raw detections a face
    needs (larger: fewer false faces, misses more), ``min_size`` the smallest
    face side in pixels. The histogram is not equalized: on the test photos
    that lost faces and doubled the time.
    """
    boxes = detector.detectMultiScale(
        grey,
        scaleFactor=float(scale_factor),
        minNeighbors=int(min_neighbors),
        minSize=(int(min_size), int(min_size)),
    )
    boxes = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
    return boxes[np.lexsort((boxes[:, 1], boxes[:, 0]))]


def crop_face(grey, box, margin=0.025, size=IMAGE_SIZE):
    """The face in ``box`` as a (size, size) uint8 crop, like a FER2013 face.

    The crop is the square around the box's centre with side
    ``max(w, h) * (1 + 2 * margin)``; beyond the photo's edge the edge pixels
    are repeated. Shrinking uses area averaging (no aliasing), enlarging
    bilinear interpolation.
    """
    x, y, w, h = (int(v) for v in box)
    side = max(1, round(max(w, h) * (1 + 2 * float(margin))))
    left = round(x + w / 2 - side / 2)
    top = round(y + h / 2 - side / 2)
    pad = max(0, -left, -top, left + side - grey.shape[1], top + side - grey.shape[0])
    if pad:
        grey = cv2.copyMakeBorder(grey, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    square = grey[top + pad : top + pad + side, left + pad : left + pad + side]
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(square, (size, size), interpolation=interpolation)


@dataclass
class Faces:
    """Faces found on one image, left to right: ``boxes`` (n, 4) int x, y, w, h;
    ``landmarks`` (n, 5, 2) float x, y in LANDMARKS order, or None (Haar);
    ``scores`` (n,) float detection confidence, or None (Haar)."""

    boxes: np.ndarray
    landmarks: np.ndarray | None = None
    scores: np.ndarray | None = None

    def __len__(self):
        return len(self.boxes)


class Detector:
    """A face detector: ``kind`` "haar" or "mtcnn"; ``min_face_size`` the smallest
    face side in pixels looked for (both); ``scale_factor`` and ``min_neighbors``
    are the Haar cascade's knobs (``detect_faces``), unused by MTCNN."""

    def __init__(self, kind="haar", min_face_size=48, scale_factor=1.1, min_neighbors=3):
        if kind not in DETECTORS:
            raise ValueError(f"classify.detector: {kind!r} is not one of {', '.join(DETECTORS)}")
        self.kind = kind
        self.min_face_size = int(min_face_size)
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)
        self._model = None

    def _load(self):
        if self._model is None:
            if self.kind == "haar":
                self._model = load_detector()
            else:
                self._model = load_mtcnn()
        return self._model

    def detect(self, image):
        """Faces on a BGR (h, w, 3) or grey (h, w) uint8 image, left to right."""
        image = np.asarray(image)
        if self.kind == "haar":
            grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            boxes = detect_faces(
                grey, self._load(), self.scale_factor, self.min_neighbors, self.min_face_size
            )
            return Faces(boxes)
        rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB)
        return mtcnn_faces(self._load(), rgb, self.min_face_size)


def load_mtcnn():
    """MTCNN with its landmark stage; the weights load from inside the package."""
    try:
        from mtcnn import MTCNN
    except ImportError as error:
        raise RuntimeError(
            "classify.detector: mtcnn needs the mtcnn package (pip install -r requirements.txt)"
        ) from error
    model = MTCNN(stages="face_and_landmarks_detection", device="CPU:0")
    # mtcnn calls its three Keras networks eagerly, once per pyramid scale and
    # stage: compiled as TensorFlow graphs (the package runs on TensorFlow
    # only) a 640x360 frame takes 34 ms instead of 160 ms, with the same
    # boxes and landmarks. reduce_retracing: one graph for any image size.
    import tensorflow as tf

    for stage in model.stages:
        stage._model = tf.function(stage._model, reduce_retracing=True)
    return model


# MTCNN's own smallest face (its default min_face_size): in mtcnn 1.0.0 a
# larger min_face_size finds nothing, because the image pyramid is then built
# down to images smaller than PNet's 12-pixel window (the error is caught and
# read as "no face"). So a larger minimum is reached by shrinking the image.
MTCNN_MIN_FACE = 20


def mtcnn_faces(model, rgb, min_face_size=48):
    """MTCNN's faces of at least ``min_face_size`` pixels on an RGB image, as
    Faces. The image is shrunk by MTCNN_MIN_FACE / min_face_size first (faces
    of min_face_size become MTCNN's smallest): fewer pixels to search, 5x
    faster on a 640x360 frame for 48, and boxes and landmarks are scaled back."""
    scale = min(1.0, MTCNN_MIN_FACE / max(1, int(min_face_size)))
    small = rgb
    if scale < 1.0:
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    # The numpy output keeps the landmarks' fractions (the JSON one rounds them):
    # rows of image, x, y, w, h, confidence, the five landmarks' x, their y.
    found = np.asarray(
        model.detect_faces(small, min_face_size=MTCNN_MIN_FACE, output_type="numpy"), dtype=np.float64
    ).reshape(-1, 16)
    boxes = found[:, 1:5] / scale
    landmarks = np.stack([found[:, 6:11], found[:, 11:16]], axis=-1) / scale
    scores = found[:, 5]
    boxes = np.round(boxes).astype(np.int64)
    order = np.lexsort((boxes[:, 1], boxes[:, 0]))
    return Faces(boxes[order], landmarks[order], scores[order])


def eye_angle(landmarks):
    """The angle in degrees of the line from the left to the right eye (image
    left and right; positive: the right eye lower, the face turned clockwise)."""
    eyes = landmarks[:2][np.argsort(landmarks[:2, 0])]
    (lx, ly), (rx, ry) = eyes
    return math.degrees(math.atan2(ry - ly, rx - lx))


def aligned_geometry(landmarks):
    """(eyes' midpoint, eye angle in degrees, distance between the eyes) of one face's landmarks."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    return (
        landmarks[:2].mean(axis=0),
        eye_angle(landmarks),
        float(np.linalg.norm(landmarks[1] - landmarks[0])),
    )


def align_crop(grey, landmarks, size=IMAGE_SIZE, side_ratio=EYES_SIDE, centre_offset=EYES_TO_CENTRE):
    """The face with these five landmarks as a (size, size) uint8 crop, rotated
    so that the eyes are level and framed as a FER2013 face: the square of side
    ``side_ratio`` times the eye distance, centred ``centre_offset`` times it
    below the eyes' midpoint. Beyond the image's edge the edge pixels are
    repeated; the square is taken at full resolution and then shrunk with area
    averaging (no aliasing), as ``crop_face`` does."""
    eyes, angle, distance = aligned_geometry(landmarks)
    distance = max(distance, 2.0)
    side = max(1, round(side_ratio * distance))
    # Rotate about the eyes' midpoint by the eye angle (the eyes become level),
    # then move the crop's centre (below the eyes) to the middle of a side x side square.
    matrix = cv2.getRotationMatrix2D((float(eyes[0]), float(eyes[1])), angle, 1.0)
    matrix[0, 2] += side / 2 - eyes[0]
    matrix[1, 2] += side / 2 - (eyes[1] + centre_offset * distance)
    square = cv2.warpAffine(
        grey, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(square, (size, size), interpolation=interpolation)


def crop_faces(grey, faces, margin=0.025, size=IMAGE_SIZE):
    """The (n, size, size) uint8 crops of ``faces`` on the grey image: aligned
    on the landmarks where the detector gives them (MTCNN), else the square
    around the box widened by ``margin`` on each side (Haar)."""
    if len(faces) == 0:
        return np.zeros((0, size, size), np.uint8)
    if faces.landmarks is not None:
        return np.stack([align_crop(grey, points, size) for points in faces.landmarks])
    return np.stack([crop_face(grey, box, margin, size) for box in faces.boxes])
