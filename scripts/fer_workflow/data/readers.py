"""Readers for the input formats, with validation.

Every reader returns a ``Raw`` (the content of ``results/data/raw.npz``) or
raises ``DataError`` whose message is ``<file>:<line>: <reason>`` (1-based file
lines, the header is line 1) or ``<path>: <reason>``. Nothing is written by
this module, so a bad input fails before any output exists.

Formats (``read(fmt, train, test, test_labels)``):

* ``label_feature_csv`` / ``synthetic``: ``train.csv`` with columns
  ``label,feature`` and ``test.csv`` with ``id,feature``; ``feature`` holds
  2304 space-separated pixel values 0..255. Optional ``test_labels`` CSV with
  ``id,label``. Any file may be gzipped (recognised by its magic bytes).
  ``hw3`` (the course homework that used these files) is an alias.
* ``fer2013``: the Kaggle ``fer2013.csv`` (``emotion,pixels,Usage``): rows
  with Usage ``Training`` are the training set, ``PublicTest`` and
  ``PrivateTest`` the (labelled) test set, with ids 0..M-1 in file order.
* ``folder``: ``train/<class>/*.png|jpg|jpeg`` (class folder names are the
  FER2013 names, case-insensitive) and optionally ``test/<class>/...`` (or
  images directly in ``test/``: unlabelled). Images are converted to
  grayscale; they must already be 48x48 -- resizing would silently distort
  faces that are not cropped like FER2013, so other sizes are an error.
  Test ids are 0..M-1 in sorted (class, file name) order.

FER+ votes (``votes``, optional): read and matched to the images by
``fer_workflow.data.votes.read_aligned`` (rows by position within each Usage),
stored as ``votes_train`` and ``votes_test`` (int32 (n, 10), FER+ column
order; (0, 10) without votes). The ``folder`` format's images are sorted by
class and file name, so no vote file can be matched to them.

Speed: the pixel text of the 28,709-row FER2013 training file (240 MB
uncompressed) is parsed line by line with NumPy's C text parser
(``np.fromstring(..., sep=" ")``, ~50 us per row); a row that does not parse
to exactly 2304 values is then diagnosed in Python to name the bad token.
"""

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fer_workflow import CLASS_NAMES, IMAGE_SIZE, NUM_CLASSES, NUM_PIXELS, arrays
from fer_workflow.data import votes as ferplus
from fer_workflow.data.rows import DataError, read_csv_rows, read_lines  # noqa: F401 (readers.DataError)

log = logging.getLogger(__name__)

FORMATS = ("synthetic", "label_feature_csv", "fer2013", "folder")
# Old names still accepted (config.schema.yaml lists them too).
FORMAT_ALIASES = {"hw3": "label_feature_csv"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
PARSE_CHUNK = 4096  # rows parsed before their range check (bounds memory)
FER2013_USAGE = {"Training": "train", "PublicTest": "test", "PrivateTest": "test"}


@dataclass
class Raw:
    """Validated arrays of one input (the content of ``raw.npz``)."""

    x_train: np.ndarray  # uint8 (N, 48, 48)
    y_train: np.ndarray  # int8 (N,)
    x_test: np.ndarray  # uint8 (M, 48, 48)
    y_test: np.ndarray  # int8 (M,), -1 where unknown
    test_ids: np.ndarray  # int64 (M,)
    # FER+ votes (int32 (N, 10) and (M, 10)); (0, 10) without votes.
    votes_train: np.ndarray = field(default_factory=lambda: np.zeros((0, 10), np.int32))
    votes_test: np.ndarray = field(default_factory=lambda: np.zeros((0, 10), np.int32))

    def save(self, path):
        """Write ``raw.npz``, uncompressed (as data.save); empty votes are left out."""
        stored = {k: v for k, v in self.__dict__.items() if len(v) or not k.startswith("votes_")}
        arrays.save(path, stored, compressed=False)

    @classmethod
    def load(cls, path):
        """Read a ``raw.npz``; one written without votes loads with empty ones."""
        names = [name for name in cls.__dataclass_fields__ if not name.startswith("votes_")]
        return cls(**arrays.load(path, names, optional=("votes_train", "votes_test")))


def canonical_format(fmt):
    """The format's name in ``FORMATS`` (an alias gives its format)."""
    return FORMAT_ALIASES.get(fmt, fmt)


def read(fmt, train, test=None, test_labels=None, votes=None):
    """Read and validate one input; see the module docstring for the formats."""
    fmt = canonical_format(fmt)
    if fmt not in FORMATS:
        raise ValueError(f"unknown data format {fmt!r}; expected one of {', '.join(FORMATS)}")
    test_usage = None
    if fmt == "fer2013":
        if test:
            log.warning("data.test is ignored for format fer2013: the test rows come from %s", train)
        raw, test_usage = read_fer2013(train, with_usage=True)
    elif fmt == "folder":
        x_train, y_train = read_folder(train, labelled=True)
        if test:
            x_test, y_test = read_folder(test, labelled=False)
        else:
            x_test, y_test = _empty_images(), np.zeros(0, np.int8)
        raw = Raw(x_train, y_train, x_test, y_test, np.arange(len(x_test), dtype=np.int64))
    else:
        x_train, y_train = read_label_feature_train(train)
        if test:
            test_ids, x_test = read_label_feature_test(test)
        else:
            test_ids, x_test = np.zeros(0, np.int64), _empty_images()
        raw = Raw(x_train, y_train, x_test, np.full(len(test_ids), -1, np.int8), test_ids)
    if test_labels:
        if not len(raw.test_ids):
            raise DataError(test_labels, "test labels given but there is no test set")
        raw.y_test = read_test_labels(test_labels, raw.test_ids)
    if votes:
        if fmt == "folder":
            raise DataError(
                votes,
                "votes are matched to images by their position in the file, but format folder orders "
                "images by class and file name: use format label_feature_csv or fer2013",
            )
        raw.votes_train, raw.votes_test = ferplus.read_aligned(
            votes, len(raw.y_train), len(raw.y_test), test_usage
        )
    return raw


def _empty_images():
    return np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)


# ---- CSV files: rows and fields (fer_workflow.data.rows) ------------------------


def parse_labels(path, numbers, values, what="label"):
    """Integer class labels 0..6 from byte fields; DataError names the line."""
    labels = np.empty(len(values), np.int8)
    for k, (number, value) in enumerate(zip(numbers, values, strict=True)):
        text = value.strip().strip(b'"')
        if text.isdigit() and int(text) < NUM_CLASSES:  # isdigit: no sign, no dot
            labels[k] = int(text)
        else:
            shown = text.decode("utf-8", "replace")
            raise DataError(
                path, f"unknown {what} {shown!r} (expected an integer 0..{NUM_CLASSES - 1})", line=number
            )
    return labels


def parse_ids(path, numbers, values):
    """Non-negative integer ids, unique; DataError names the line."""
    ids = np.empty(len(values), np.int64)
    first = {}
    for k, (number, value) in enumerate(zip(numbers, values, strict=True)):
        text = value.strip().strip(b'"')
        if not text.isdigit():
            raise DataError(
                path, f"bad id {text.decode('utf-8', 'replace')!r} (expected an integer >= 0)", line=number
            )
        ids[k] = int(text)
        if ids[k] in first:
            raise DataError(path, f"duplicate id {ids[k]} (first on line {first[ids[k]]})", line=number)
        first[ids[k]] = number
    return ids


def parse_pixels(path, numbers, values):
    """uint8 (n, 48, 48) images from the space-separated pixel fields.

    Fast path: NumPy's C parser per row. A row that does not give exactly
    2304 values, or any value outside 0..255, is diagnosed and reported with
    its line, the pixel position and the offending text.
    """
    images = np.empty((len(values), NUM_PIXELS), np.uint8)
    chunk = np.empty((PARSE_CHUNK, NUM_PIXELS), np.int64)  # parsed, not yet range-checked
    with warnings.catch_warnings():
        # fromstring warns (future: raises) when it stops at unparsable text.
        warnings.simplefilter("error", DeprecationWarning)
        for start in range(0, len(values), PARSE_CHUNK):
            rows = values[start : start + PARSE_CHUNK]
            for k, value in enumerate(rows):
                try:
                    row = np.fromstring(value, dtype=np.int64, sep=" ")
                except (DeprecationWarning, ValueError):
                    row = None
                if row is None or len(row) != NUM_PIXELS:
                    _diagnose_pixels(path, numbers[start + k], value)
                chunk[k] = row
            parsed = chunk[: len(rows)]
            bad = (parsed < 0) | (parsed > 255)
            if bad.any():
                k, j = np.argwhere(bad)[0]
                raise DataError(
                    path, f"pixel {j + 1} is {parsed[k, j]}, outside 0..255", line=numbers[start + k]
                )
            images[start : start + len(rows)] = parsed
    return images.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)


def _diagnose_pixels(path, number, value):
    """Raise the DataError for a pixel field the fast parser rejected."""
    tokens = value.strip().strip(b'"').split()
    for j, token in enumerate(tokens):
        text = token.lstrip(b"-")
        if not text.isdigit():
            shown = token.decode("utf-8", "replace")
            raise DataError(path, f"pixel {j + 1} is {shown!r}, not an integer 0..255", line=number)
    if len(tokens) != NUM_PIXELS:
        raise DataError(path, f"expected {NUM_PIXELS} pixel values, found {len(tokens)}", line=number)
    # Tokens look fine but the parser still failed (should not happen).
    raise DataError(path, "cannot parse pixel values", line=number)


def read_label_feature_train(path):
    """``train.csv`` (``label,feature``): (images uint8 (n,48,48), labels int8 (n,))."""
    numbers, (labels, features) = read_csv_rows(path, ["label", "feature"])
    y = parse_labels(path, numbers, labels)
    x = parse_pixels(path, numbers, features)
    return x, y


def read_label_feature_test(path):
    """``test.csv`` (``id,feature``): (ids int64 (m,), images uint8 (m,48,48))."""
    numbers, (ids, features) = read_csv_rows(path, ["id", "feature"])
    ids = parse_ids(path, numbers, ids)
    x = parse_pixels(path, numbers, features)
    return ids, x


def read_test_labels(path, test_ids):
    """Labels ``id,label`` aligned to ``test_ids``; every test id needs one label."""
    numbers, (ids, labels) = read_csv_rows(path, ["id", "label"])
    ids = parse_ids(path, numbers, ids)
    labels = parse_labels(path, numbers, labels)
    position = {int(i): k for k, i in enumerate(test_ids)}
    y = np.full(len(test_ids), -1, np.int8)
    for number, i, label in zip(numbers, ids.tolist(), labels, strict=True):
        if i not in position:
            raise DataError(path, f"id {i} is not in the test set", line=number)
        y[position[i]] = label
    if (y < 0).any():
        missing = test_ids[y < 0]
        raise DataError(path, f"no label for {len(missing)} test id(s), e.g. id {missing[0]}")
    return y


def read_fer2013(path, with_usage=False):
    """Kaggle ``fer2013.csv`` (emotion,pixels,Usage) as a Raw with labelled test
    (``with_usage``: and the Usage of each test image, as (Raw, array of str))."""
    numbers, (emotion, pixels, usage) = read_csv_rows(path, ["emotion", "pixels", "Usage"])
    split, texts = [], []
    for number, value in zip(numbers, usage, strict=True):
        text = value.strip().strip(b'"').decode("utf-8", "replace")
        if text not in FER2013_USAGE:
            raise DataError(
                path, f"unknown Usage {text!r} (expected {', '.join(FER2013_USAGE)})", line=number
            )
        split.append(FER2013_USAGE[text])
        texts.append(text)
    is_train = np.array(split) == "train"
    y = parse_labels(path, numbers, emotion, what="emotion")
    x = parse_pixels(path, numbers, pixels)
    n_test = int((~is_train).sum())
    raw = Raw(x[is_train], y[is_train], x[~is_train], y[~is_train], np.arange(n_test, dtype=np.int64))
    return (raw, np.array(texts, dtype=str)[~is_train]) if with_usage else raw


# ---- image folders -----------------------------------------------------------


def class_index(name):
    """FER2013 label of a class folder name (case-insensitive), or None."""
    lowered = [c.lower() for c in CLASS_NAMES]
    return lowered.index(name.lower()) if name.lower() in lowered else None


def list_folder(root, labelled=True):
    """Image files under ``root`` as sorted (label, path) pairs.

    Class folders must be FER2013 class names. Images directly in ``root``
    get label -1 (allowed only when ``labelled`` is False). Other files are
    ignored (and counted in the log).
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "folder not found" if not root.exists() else "not a folder")
    items, ignored = [], 0
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            label = class_index(entry.name)
            if label is None:
                raise DataError(
                    entry, f"unknown class folder {entry.name!r} (expected one of {', '.join(CLASS_NAMES)})"
                )
            for file in sorted(entry.iterdir()):
                if file.suffix.lower() in IMAGE_SUFFIXES:
                    items.append((label, file))
                else:
                    ignored += 1
        elif entry.suffix.lower() in IMAGE_SUFFIXES:
            if labelled:
                raise DataError(entry, "image outside a class folder (expected <folder>/<class>/<image>)")
            items.append((-1, entry))
        else:
            ignored += 1
    if ignored:
        log.info("%s: ignored %d non-image file(s) or folder(s)", root, ignored)
    if not items:
        raise DataError(root, f"no images found (expected <class>/*{'|*'.join(IMAGE_SUFFIXES)})")
    items.sort(key=lambda item: (item[0], item[1].name))
    return items


def read_image(path):
    """One 48x48 grayscale image as uint8; DataError if unreadable or not 48x48."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert("L")
            array = np.asarray(image, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise DataError(path, f"cannot read image ({err})") from None
    if array.shape != (IMAGE_SIZE, IMAGE_SIZE):
        height, width = array.shape
        raise DataError(
            path,
            f"image is {width}x{height} pixels, expected {IMAGE_SIZE}x{IMAGE_SIZE} "
            "(crop and resize the faces to 48x48 first)",
        )
    return array


def read_folder(root, labelled=True):
    """Images and labels of a class-folder tree: (uint8 (n,48,48), int8 (n,))."""
    items = list_folder(root, labelled=labelled)
    x = np.stack([read_image(path) for _, path in items])
    y = np.array([label for label, _ in items], dtype=np.int8)
    return x, y
