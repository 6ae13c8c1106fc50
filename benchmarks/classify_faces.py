"""Face detection for rules classify_photo and classify_video, measured on
real faces: FER2013 faces enlarged to 160-200 px and placed, three side by
side, on 800x600 colour photos (smooth gradients plus noise), upright and
tilted by up to 20 degrees, and on the same kind of photos without faces.
Both detectors (classify.detector) see the same photos.

    python benchmarks/classify_faces.py                       # ../shared/data/fer2013, both detectors
    python benchmarks/classify_faces.py --faces 600 --model M.keras --dataset results/.../data/dataset.npz
    python benchmarks/classify_faces.py --measure-landmarks   # detect.EYES_SIDE, EYES_TO_CENTRE

With ``--dataset`` the faces are that run's validation faces (never trained
on, so the accuracy is honest for its model); otherwise the first rows of
the CSV, which a model trained on FER2013 has seen.

Prints per detector and face pose: the detection rate (a placed face counts
as found when a box overlaps it with IoU >= 0.5), the false detections
(boxes that touch no placed face, and boxes on the face-free photos), the
time per photo of detection and of crop and classification, and the CNN's
accuracy on the faces found, next to its accuracy on the 48x48 faces
themselves. For Haar, the median ratio of the face image's side to the box's
side (what classify.margin makes up for).
"""

import argparse
import time

import cv2
import numpy as np

from common import REPO, load_config, scenes  # noqa: E402
from fer_workflow import runtime  # noqa: E402
from fer_workflow.use import classify, detect  # noqa: E402

MAX_TILT = 20.0


def tilt_faces(faces, rng, max_angle=MAX_TILT):
    """The 48x48 faces each turned by an angle drawn from +-max_angle (edges repeated); and the angles."""
    angles = rng.uniform(-max_angle, max_angle, len(faces))
    out = np.stack(
        [
            cv2.warpAffine(
                f, cv2.getRotationMatrix2D((23.5, 23.5), a, 1.0), (48, 48), borderMode=cv2.BORDER_REPLICATE
            )
            for f, a in zip(faces, angles, strict=True)
        ]
    )
    return out, angles


def make_photos(faces, rng):
    """(photo, placed boxes, index of the faces) for each group of three faces."""
    photos = []
    for k in range(0, len(faces) - len(faces) % 3, 3):
        photo, placed = scenes.place_faces(faces[k : k + 3], rng)
        photos.append((photo, placed, np.arange(k, k + 3)))
    return photos


def run_detector(detector, photos, empty, labels, model, margin):
    """The numbers of one detector on the photos (see the module's docstring)."""
    from fer_workflow.use.video import predict_faces

    found = extra = loose = correct = 0
    right = {}  # face index -> whether the CNN got the found face right
    ratios, t_detect, t_classify = [], 0.0, 0.0
    detector.detect(photos[0][0])  # load (and compile) outside the timing
    for photo, placed, index in photos:
        grey = classify.to_grey(photo)
        start = time.perf_counter()
        faces = detector.detect(photo)
        t_detect += time.perf_counter() - start
        start = time.perf_counter()
        probs = predict_faces(model, detect.crop_faces(grey, faces, margin), tta_flip=True)
        t_classify += time.perf_counter() - start
        matched = set()
        for target, face in zip(placed, index, strict=True):
            iou = [scenes.box_overlap(target, box) for box in faces.boxes]
            if iou and max(iou) >= 0.5:
                best = int(np.argmax(iou))
                found += 1
                matched.add(best)
                ratios.append(target[2] / faces.boxes[best][2])
                right[int(face)] = bool(np.argmax(probs[best]) == labels[face])
                correct += right[int(face)]
        for i, box in enumerate(faces.boxes):
            if i not in matched:
                on_face = any(scenes.box_overlap(target, box) > 0 for target in placed)
                loose += on_face
                extra += not on_face
    false_free = sum(len(detector.detect(photo)) for photo in empty)
    n_faces = sum(len(p[1]) for p in photos)
    return {
        "found": found,
        "faces": n_faces,
        "extra": extra,
        "loose": loose,
        "false_free": false_free,
        "ms_detect": 1000 * t_detect / len(photos),
        "ms_classify": 1000 * t_classify / len(photos),
        "accuracy_found": correct / max(1, found),
        "accuracy_all": correct / n_faces,
        "ratio": float(np.median(ratios)) if ratios else float("nan"),
        "right": right,
    }


def measure_landmarks(faces, rng):
    """Medians of the face side / eye distance and of (face centre - eyes' midpoint) / eye distance."""
    detector = detect.Detector("mtcnn")
    side, offset = [], []
    for photo, placed, _ in make_photos(faces, rng):
        result = detector.detect(photo)
        for box, points in zip(result.boxes, result.landmarks, strict=True):
            iou = [scenes.box_overlap(t, box) for t in placed]
            if max(iou) < 0.3:
                continue
            x, y, s, _ = placed[int(np.argmax(iou))]
            eyes, _, distance = detect.aligned_geometry(points)
            side.append(s / distance)
            offset.append((y + s / 2 - eyes[1]) / distance)
    print(
        f"{len(side)} of {len(faces)} faces found; medians: face side / eye distance {np.median(side):.3f}, "
    )
    print(f"(face centre - eyes' midpoint) / eye distance {np.median(offset):.3f}")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        default=str(REPO.parent / "shared/data/fer2013/train.csv.gz"),
        help="label_feature_csv train.csv(.gz)",
    )
    parser.add_argument("--dataset", default="", help="a run's data/dataset.npz: use its validation faces")
    parser.add_argument("--faces", type=int, default=300, help="faces placed on photos (three a photo)")
    parser.add_argument("--empty", type=int, default=50, help="photos without a face")
    parser.add_argument("--model", default="", help="a trained .keras model (default: an untrained CNN)")
    parser.add_argument("--detectors", nargs="+", default=list(detect.DETECTORS), choices=detect.DETECTORS)
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow threads")
    parser.add_argument("--configfile", action="append", default=[], help="preset(s) merged over config.yaml")
    parser.add_argument("--measure-landmarks", action="store_true", help="only measure MTCNN's face geometry")
    args = parser.parse_args()
    runtime.configure_backend(threads=args.threads, seed=0)
    cfg = load_config(args.configfile)["classify"]
    if args.dataset:
        from fer_workflow import data

        split = data.load(args.dataset)
        faces, labels = split.x_val[: args.faces], split.y_val[: args.faces].astype(int)
        source = f"the first {len(faces)} validation faces of {args.dataset}"
    else:
        faces, labels = scenes.read_csv_faces(args.data, args.faces)
        source = f"the first {len(faces)} rows of {args.data} (training faces for a FER2013 model)"
    rng = np.random.default_rng(0)
    if args.measure_landmarks:
        measure_landmarks(faces, rng)
        return
    from fer_workflow import models  # after the backend's threads are set

    if args.model:
        model = models.load_model(args.model)
    else:
        model = models.build_cnn(load_config(args.configfile)["cnn"])
    from fer_workflow.use.video import predict_faces

    reference = float(np.mean(np.argmax(predict_faces(model, faces), axis=1) == labels))
    tilted, _ = tilt_faces(faces, np.random.default_rng(1))
    reference_tilted = float(np.mean(np.argmax(predict_faces(model, tilted), axis=1) == labels))
    poses = {
        "upright": make_photos(faces, np.random.default_rng(2)),
        "tilted": make_photos(tilted, np.random.default_rng(2)),
    }
    empty = [scenes.gradient_canvas(600, 800, rng) for _ in range(args.empty)]
    print(f"faces: {source}; model: {args.model or 'untrained CNN'}; {args.threads} TensorFlow thread(s)")
    print("settings:", {k: cfg[k] for k in ("margin", "min_face_size", "scale_factor", "min_neighbors")})
    print(
        f"CNN accuracy on the 48x48 faces themselves (flip TTA): upright {reference:.3f}, "
        f"tilted up to {MAX_TILT:g} degrees {reference_tilted:.3f}"
    )
    header = "| detector | faces (pose) | found | false (off-face / face-free photos) | ms detect | ms crop+CNN | accuracy on found | accuracy on all |"
    print(header)
    print("|" + "---|" * 8)
    results = {}
    for kind in args.detectors:
        detector = detect.Detector(kind, cfg["min_face_size"], cfg["scale_factor"], cfg["min_neighbors"])
        for pose, photos in poses.items():
            r = results[kind, pose] = run_detector(
                detector, photos, empty if pose == "upright" else empty[:0], labels, model, cfg["margin"]
            )
            false = f"{r['extra']} / {r['false_free']}" if pose == "upright" else f"{r['extra']} / -"
            print(
                f"| {kind} | {pose} | {r['found']}/{r['faces']} ({r['found'] / r['faces']:.1%}) | {false} | "
                f"{r['ms_detect']:.0f} | {r['ms_classify']:.0f} | {r['accuracy_found']:.3f} | {r['accuracy_all']:.3f} |"
            )
            if kind == "haar" and pose == "upright":
                haar_ratio = r["ratio"]
    if len(args.detectors) == 2:
        for pose in poses:
            a, b = (results[kind, pose]["right"] for kind in args.detectors)
            both = sorted(set(a) & set(b))
            only_a, only_b = sum(a[i] and not b[i] for i in both), sum(b[i] and not a[i] for i in both)
            from scipy.stats import binomtest

            p = binomtest(only_a, only_a + only_b).pvalue if only_a + only_b else 1.0
            print(
                f"{pose}: on the {len(both)} faces both found, accuracy "
                + ", ".join(
                    f"{kind} {np.mean([r[i] for i in both]):.3f}"
                    for kind, r in zip(args.detectors, (a, b), strict=True)
                )
                + f"; right with {args.detectors[0]} only {only_a}, with {args.detectors[1]} only {only_b} "
                + f"(exact McNemar p = {p:.2f})"
            )
    if "haar" in args.detectors:
        print(
            f"haar: face side / box side median {haar_ratio:.3f} (margin to match: {(haar_ratio - 1) / 2:.3f})"
        )
    print(f"({args.empty} face-free 800x600 photos; photos are 800x600 with three faces of 160-200 px)")


if __name__ == "__main__":
    main()
