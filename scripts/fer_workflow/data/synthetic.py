"""Built-in synthetic faces: 48x48 grayscale, 7 expressions, with cue masks.

Each face is drawn from a handful of per-image parameters. The expression is
carried only by the brows (tilt, height), the eyes (openness) and the mouth
(curvature, openness, width, asymmetry); everything else (position, scale,
rotation, face shape, hair, lighting, contrast, noise) varies at random and
carries no label information. Because the generator knows where the cues are,
it also returns a bitmask per image: 1 = brows, 2 = eyes, 4 = mouth.

Class structure mirrors FER2013:

* imbalance: class frequencies follow the FER2013 training counts
  (Disgust rare, Happy most common);
* confusable pairs: Angry/Disgust share lowered inner brows and narrowed eyes
  and differ mainly by the one-sided sneer of Disgust; Fear/Sad share raised
  inner brows and differ by eye and mouth openness; Sad/Neutral differ only by
  the brow tilt and a slight frown;
* intensity: each face shows its expression at a random strength between
  subtle and full, so weak expressions drift towards Neutral.

Simulated annotators (``simulate_votes``): like FER+, ten people vote on
every face. They read most faces as their class; a known share of each
class's faces (``VOTE_CONFUSIONS``), those whose expression lies nearest the
other class of a confusable pair, they read as that class. The votes are
written as a FER+ file (``write_votes_csv``), so the workflow's annotator
analysis can be checked against rates it should recover.

Everything is vectorised over a batch: pixel coordinates are mapped into each
face's own frame (translate, rotate, scale), and every part is a soft-edged
shape given by a distance in that frame. The default 4000 + 700 faces render
in about 1.5 s on one core.
"""

import numpy as np

from fer_workflow import CLASS_NAMES, IMAGE_SIZE, arrays
from fer_workflow.data import votes

# FER2013 training counts per class (Angry .. Neutral): the class proportions.
FER2013_TRAIN_COUNTS = (3995, 436, 4097, 7215, 4830, 3171, 4965)

# Bits of the cue masks.
BROWS, EYES, MOUTH = 1, 2, 4

# Expression parameters per class (rows in FER2013 order). Columns:
#   tilt   brow tilt: > 0 inner ends lowered (anger), < 0 inner ends raised (sadness, fear)
#   raise  brow height above rest, in face units
#   eye    eye openness (1 = rest)
#   curve  mouth curvature: > 0 smile, < 0 frown
#   open   mouth opening (0 = closed)
#   width  mouth width (1 = rest)
#   sneer  one-sided raise of the upper lip (Disgust)
PARAM_NAMES = ("tilt", "raise", "eye", "curve", "open", "width", "sneer")
CLASS_PARAMS = np.array(
    [
        # tilt  raise  eye   curve  open  width  sneer
        [0.90, -0.05, 0.70, -0.20, 0.00, 0.85, 0.00],  # Angry
        [0.65, -0.04, 0.60, -0.35, 0.12, 0.85, 0.90],  # Disgust
        [-0.75, 0.09, 1.35, -0.25, 0.45, 1.10, 0.00],  # Fear
        [0.00, 0.02, 0.70, 1.00, 0.30, 1.15, 0.00],  # Happy
        [-0.75, 0.03, 0.90, -0.55, 0.00, 0.90, 0.00],  # Sad
        [0.00, 0.15, 1.45, 0.00, 1.15, 0.55, 0.00],  # Surprise
        [0.00, 0.00, 1.00, -0.05, 0.00, 0.95, 0.00],  # Neutral
    ],
    dtype=np.float32,
)
NEUTRAL = CLASS_PARAMS[CLASS_NAMES.index("Neutral")]
# Per-image spread of each parameter (same for all classes).
PARAM_SPREAD = np.array([0.25, 0.03, 0.14, 0.22, 0.10, 0.08, 0.25], dtype=np.float32)
# Expression strength: the face is NEUTRAL + strength * (class - NEUTRAL).
STRENGTH_RANGE = (0.7, 1.15)

BATCH = 512  # images rendered at once (bounds memory; does not change the output)


def class_counts(n, proportions=FER2013_TRAIN_COUNTS):
    """Split ``n`` images over the classes in the given proportions.

    Largest-remainder rounding, so the counts sum to ``n``; every class gets at
    least one image when ``n`` allows it.
    """
    p = np.asarray(proportions, dtype=np.float64)
    p = p / p.sum()
    counts = np.floor(p * n).astype(np.int64)
    if n >= len(p):
        counts = np.maximum(counts, 1)
    while counts.sum() > n:  # only after raising tiny classes to 1
        counts[np.argmax(counts)] -= 1
    order = np.argsort(-(p * n - np.floor(p * n)), kind="stable")
    for i in order[: n - counts.sum()]:
        counts[i] += 1
    return counts


def sample_params(labels, rng):
    """Draw every per-image parameter for the given labels (dict of (n,) float32)."""
    n = len(labels)

    def uniform(low, high):
        return rng.uniform(low, high, n).astype(np.float32)

    strength = uniform(*STRENGTH_RANGE)[:, None]
    expr = NEUTRAL + strength * (CLASS_PARAMS[labels] - NEUTRAL)
    expr = expr + rng.normal(0, 1, (n, len(PARAM_NAMES))).astype(np.float32) * PARAM_SPREAD
    p = {name: expr[:, i] for i, name in enumerate(PARAM_NAMES)}
    p["eye"] = np.clip(p["eye"], 0.3, 1.8)
    p["open"] = np.clip(p["open"], 0.0, 1.5)
    p["width"] = np.clip(p["width"], 0.45, 1.3)
    # The sneer is on a random side, so a horizontal flip keeps the class.
    p["sneer"] = np.abs(p["sneer"]) * rng.choice(np.array([-1, 1], dtype=np.float32), n)
    p.update(
        # Pose and face shape: pure nuisance.
        cx=24 + uniform(-3.5, 3.5),
        cy=25 + uniform(-3.0, 3.0),
        scale=18 * uniform(0.85, 1.08),  # pixels per face unit (half the face width)
        angle=np.deg2rad(uniform(-10, 10)),
        face_w=uniform(0.88, 1.05),
        face_h=uniform(1.18, 1.38),
        eye_x=0.36 + uniform(-0.03, 0.03),
        eye_y=-0.12 + uniform(-0.04, 0.04),
        brow_y=-0.40 + uniform(-0.03, 0.03),
        mouth_y=0.55 + uniform(-0.04, 0.04),
        hair=(rng.random(n) < 0.75).astype(np.float32),
        hair_line=uniform(0.68, 0.95),
        hair_tone=uniform(10, 90),
        # Lighting and camera.
        background=uniform(20, 220),
        skin=uniform(120, 215),
        light=uniform(0, 45),  # strength of a linear lighting gradient
        light_dir=uniform(0, 2 * np.pi),
        contrast=uniform(0.65, 1.15),
        brightness=uniform(-25, 25),
        noise=uniform(1.5, 6),
    )
    return p


def _blend(image, alpha, value):
    """Paint ``value`` over ``image`` with coverage ``alpha`` (0..1)."""
    return image + alpha * (value - image)


def _coverage(signed_px):
    """Anti-aliased coverage of a shape from its signed distance in pixels."""
    return np.clip(0.5 - signed_px, 0.0, 1.0)


def _segment_distance(u, v, ax, ay, bx, by):
    """Distance from points (u, v) to the segment a-b (all in face units)."""
    dx, dy = bx - ax, by - ay
    t = np.clip(((u - ax) * dx + (v - ay) * dy) / (dx * dx + dy * dy), 0, 1)
    return np.hypot(u - ax - t * dx, v - ay - t * dy)


def render(p, rng):
    """Render a batch of faces from parameters ``p``; returns images and masks.

    ``p`` holds (n,) arrays from ``sample_params``; ``rng`` supplies pixel noise.
    Images are uint8 (n, 48, 48), masks uint8 (n, 48, 48) with the cue bits.
    """
    q = {k: v[:, None, None] for k, v in p.items()}  # broadcast over pixels
    n = len(p["cx"])
    grid = np.arange(IMAGE_SIZE, dtype=np.float32) + 0.5
    y, x = grid[None, :, None], grid[None, None, :]
    px = q["scale"]  # pixels per face unit

    # Face frame: u to the face's right, v downwards, 1 unit = half face width.
    cos, sin = np.cos(q["angle"]), np.sin(q["angle"])
    dx, dy = x - q["cx"], y - q["cy"]
    u = (cos * dx + sin * dy) / px
    v = (-sin * dx + cos * dy) / px

    # Background and face with a linear lighting gradient over the whole image.
    light = q["light"] * ((dx * np.cos(q["light_dir"]) + dy * np.sin(q["light_dir"])) / 24)
    image = np.broadcast_to(q["background"], (n, IMAGE_SIZE, IMAGE_SIZE)).astype(np.float32)
    face = np.hypot(u / q["face_w"], v / q["face_h"])
    face_sd = (face - 1) * px * np.minimum(q["face_w"], q["face_h"])
    image = _blend(image, _coverage(face_sd), q["skin"] - 25 * np.clip(face - 0.6, 0, None))
    # Hair: the top of the head above a random hair line.
    hair_sd = np.maximum(face_sd - 1.5, (v + q["hair_line"]) * px)
    image = _blend(image, q["hair"] * _coverage(hair_sd), q["hair_tone"])
    # Nose: a faint shadow, the same for every class.
    nose_sd = np.hypot(u / 0.10, (v - 0.25) / 0.07) - 1
    image = _blend(image, 0.5 * _coverage(nose_sd * 0.07 * px), q["skin"] * 0.6)
    image = image + light

    mask = np.zeros((n, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    dark = q["skin"] * 0.25  # feature colour

    # Eyes: dark ellipses whose height is the openness, with a darker pupil.
    au = np.abs(u)  # both sides at once: features are mirror images
    rx, ry = 0.18, 0.12 * q["eye"]
    eye = np.hypot((au - q["eye_x"]) / rx, (v - q["eye_y"]) / ry)
    eye_sd = (eye - 1) * ry * px
    image = _blend(image, 0.8 * _coverage(eye_sd), dark)
    pupil_sd = np.maximum(np.hypot(au - q["eye_x"], v - q["eye_y"]) * px - 0.07 * px, eye_sd)
    image = _blend(image, _coverage(pupil_sd), dark * 0.3)
    mask |= np.where(eye_sd < 1.0, EYES, 0).astype(np.uint8)

    # Brows: thick segments; tilt moves the inner end down (> 0) or up (< 0).
    by = q["brow_y"] - q["raise"]
    inner_y = by + 0.22 * q["tilt"]
    outer_y = by - 0.07 * q["tilt"]
    brow_d = _segment_distance(au, v, 0.12, inner_y, 0.58, outer_y)
    brow_sd = (brow_d - 0.075) * px
    image = _blend(image, 0.85 * _coverage(brow_sd), dark)
    mask |= np.where(brow_sd < 1.0, BROWS, 0).astype(np.uint8)

    # Mouth: a lip line v = m(u) over |u| < w, curved by `curve`, raised on one
    # side by `sneer`, and an open cavity below it whose height is `open`.
    w = 0.34 * q["width"]
    uc = np.clip(u, -w, w)
    t = uc / w
    sneer, side = np.abs(q["sneer"]), np.sign(q["sneer"])
    lip = q["mouth_y"] + 0.22 * q["curve"] * (0.5 - t * t) - 0.12 * sneer * np.clip(side * t, 0, 1)
    lip_d = np.hypot(u - uc, v - lip)
    lip_sd = (lip_d - 0.05) * px
    cavity_h = 0.28 * q["open"] * np.sqrt(np.clip(1 - t * t, 0, 1))
    cavity_sd = np.maximum.reduce([(lip - v), (v - lip - cavity_h), (np.abs(u) - w)]) * px
    cavity_sd = np.where(q["open"] > 0.05, cavity_sd, np.inf)
    image = _blend(image, 0.9 * _coverage(lip_sd), dark)
    image = _blend(image, 0.9 * _coverage(cavity_sd), dark * 0.5)
    mask |= np.where(np.minimum(lip_sd, cavity_sd) < 1.0, MOUTH, 0).astype(np.uint8)

    # Camera: contrast around mid-grey, brightness, sensor noise.
    image = (image - 128) * q["contrast"] + 128 + q["brightness"]
    image = image + rng.normal(0, 1, image.shape).astype(np.float32) * q["noise"]
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), mask


def generate(n, rng, proportions=FER2013_TRAIN_COUNTS, with_params=False):
    """``n`` faces with labels in FER2013 proportions, in random order.

    Returns images uint8 (n, 48, 48), labels int8 (n,), masks uint8 (n, 48, 48)
    (``with_params``: and the faces' parameters, ``sample_params``'s dict).
    """
    counts = class_counts(n, proportions)
    labels = rng.permutation(np.repeat(np.arange(len(counts)), counts)).astype(np.int8)
    params = sample_params(labels, rng)
    images = np.empty((n, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    masks = np.empty_like(images)
    for start in range(0, n, BATCH):
        part = {k: v[start : start + BATCH] for k, v in params.items()}
        images[start : start + BATCH], masks[start : start + BATCH] = render(part, rng)
    return (images, labels, masks, params) if with_params else (images, labels, masks)


def generate_splits(n_train, n_test, seed, with_params=False):
    """Training and test faces from one seed; each split has its own stream,
    so the training set does not change when ``n_test`` does."""
    train_ss, test_ss = np.random.SeedSequence(seed).spawn(2)
    train = generate(n_train, np.random.default_rng(train_ss), with_params=with_params)
    test = generate(n_test, np.random.default_rng(test_ss), with_params=with_params)
    return train, test


# ---- simulated annotators ----------------------------------------------------

# The share of each class's faces that the annotators read as another class:
# the generator's confusable pairs (Angry/Disgust, Fear/Sad, Sad/Neutral),
# both ways. These faces are the ones whose expression parameters lie nearest
# the other class (``readings``), so they are also the faces a model finds hard.
VOTE_CONFUSIONS = {
    (CLASS_NAMES.index("Angry"), CLASS_NAMES.index("Disgust")): 0.10,
    (CLASS_NAMES.index("Disgust"), CLASS_NAMES.index("Angry")): 0.30,
    (CLASS_NAMES.index("Fear"), CLASS_NAMES.index("Sad")): 0.20,
    (CLASS_NAMES.index("Sad"), CLASS_NAMES.index("Fear")): 0.10,
    (CLASS_NAMES.index("Sad"), CLASS_NAMES.index("Neutral")): 0.20,
    (CLASS_NAMES.index("Neutral"), CLASS_NAMES.index("Sad")): 0.15,
}
ANNOTATORS = 10
# Each annotator votes for the face's reading with READING_VOTE, for its
# class (when the reading is another) with LABEL_VOTE, and otherwise for one
# of the other columns but "not a face" at random (other expressions,
# contempt, unknown). When the reading is the class, it gets both shares.
READING_VOTE = 0.7
LABEL_VOTE = 0.2


def expression_distance(params, label):
    """Distance of each face's expression to class ``label``'s, in units of the
    per-image spread (the sneer's side ignored): (n,)."""
    expr = np.stack([params[name] for name in PARAM_NAMES], axis=1)
    expr[:, PARAM_NAMES.index("sneer")] = np.abs(expr[:, PARAM_NAMES.index("sneer")])
    return np.sqrt((((expr - CLASS_PARAMS[label]) / PARAM_SPREAD) ** 2).sum(axis=1))


def readings(labels, params, confusions=None):
    """The class the annotators read each face as: its label, except for the
    share ``confusions[(i, j)]`` (rounded to whole faces) of class i's faces
    nearest class j relative to class i, which they read as j. A face is read
    as at most one other class (pairs taken in ``confusions`` order)."""
    confusions = VOTE_CONFUSIONS if confusions is None else confusions
    labels = np.asarray(labels, np.int64)
    read = labels.copy()
    for (i, j), rate in confusions.items():
        faces = np.flatnonzero((labels == i) & (read == i))
        count = int(round(rate * (labels == i).sum()))
        closeness = expression_distance(params, i)[faces] - expression_distance(params, j)[faces]
        read[faces[np.argsort(-closeness, kind="stable")[:count]]] = j
    return read


def simulate_votes(labels, params, rng, confusions=None):
    """Ten annotators' votes per face, int32 (n, 10) in FER+ column order (``votes.COLUMNS``)."""
    labels = np.asarray(labels, np.int64)
    reading = votes.COLUMN_OF_CLASS[readings(labels, params, confusions)][:, None]
    label = votes.COLUMN_OF_CLASS[labels][:, None]
    u = rng.random((len(labels), ANNOTATORS))
    # A stray vote: any column but the reading and "not a face" (NF is the last column).
    stray = rng.integers(0, votes.NOT_FACE - 1, (len(labels), ANNOTATORS))
    stray = stray + (stray >= reading)
    choice = np.where(u < READING_VOTE, reading, np.where(u < READING_VOTE + LABEL_VOTE, label, stray))
    out = np.zeros((len(labels), votes.NUM_COLUMNS), np.int32)
    np.add.at(out, (np.repeat(np.arange(len(labels)), ANNOTATORS), choice.ravel()), 1)
    return out


def write_votes_csv(path, votes_train, votes_test):
    """A FER+ file: the training faces' rows (Usage Training), then the test
    faces' (PublicTest), in the order of train.csv and test.csv."""
    header = ",".join(["Usage", "Image name", *votes.COLUMNS])
    with open(path, "w", newline="\n") as f:
        f.write(header + "\n")
        for usage, block, offset in (
            ("Training", votes_train, 0),
            ("PublicTest", votes_test, len(votes_train)),
        ):
            f.writelines(
                f"{usage},syn{offset + k:07d}.png,{','.join(map(str, row))}\n"
                for k, row in enumerate(block.tolist())
            )


# ---- writing -----------------------------------------------------------------

_PIXEL_TEXT = [str(i) for i in range(256)]


def pixels_to_text(image):
    """One image as the ``feature`` string: 2304 space-separated values."""
    return " ".join([_PIXEL_TEXT[v] for v in image.ravel().tolist()])


def write_label_feature_csv(train, test, train_path, test_path, test_labels_path):
    """Write faces in the label_feature_csv format: train ``label,feature``, test
    ``id,feature`` (ids 0..n-1) and the test labels ``id,label``."""
    (x_train, y_train, _), (x_test, y_test, _) = train, test
    with open(train_path, "w", newline="\n") as f:
        f.write("label,feature\n")
        f.writelines(f"{y},{pixels_to_text(x)}\n" for x, y in zip(x_train, y_train.tolist(), strict=True))
    with open(test_path, "w", newline="\n") as f:
        f.write("id,feature\n")
        f.writelines(f"{i},{pixels_to_text(x)}\n" for i, x in enumerate(x_test))
    with open(test_labels_path, "w", newline="\n") as f:
        f.write("id,label\n")
        f.writelines(f"{i},{y}\n" for i, y in enumerate(y_test.tolist()))


def write_all(n_train, n_test, seed, train_path, test_path, test_labels_path, masks_path, votes_path=None):
    """Generate both splits and write the CSVs and ``masks.npz`` (train, test),
    and with ``votes_path`` the simulated annotators' votes (a FER+ file).
    The votes have their own random streams: the faces do not change with them."""
    train, test = generate_splits(n_train, n_test, seed, with_params=True)
    train, params_train, test, params_test = train[:3], train[3], test[:3], test[3]
    write_label_feature_csv(train, test, train_path, test_path, test_labels_path)
    arrays.save(masks_path, {"train": train[2], "test": test[2]})
    if votes_path:
        train_ss, test_ss = np.random.SeedSequence(seed).spawn(4)[2:]
        votes_train = simulate_votes(train[1], params_train, np.random.default_rng(train_ss))
        votes_test = simulate_votes(test[1], params_test, np.random.default_rng(test_ss))
        write_votes_csv(votes_path, votes_train, votes_test)
    return train, test
