"""Face detection for rule classify_photo, measured on real faces: FER2013
faces enlarged to 160-200 px and placed, three side by side, on 800x600
colour photos (smooth gradients plus noise), and on the same kind of photos
without faces.

    python benchmarks/classify_faces.py                       # ../shared/data/fer2013
    python benchmarks/classify_faces.py --faces 600 --model results/models/cnn.keras

Prints the detection rate (a placed face counts as found when a box overlaps
it with IoU >= 0.5), the false detections (boxes that touch no placed face,
and boxes on the face-free photos), the other boxes (on a face, IoU < 0.5), the median ratio of the face image's side to the box's
side (what the crop margin makes up for), and the time per photo of
detection, of crop and classification, and of the whole classify_photo call.
"""

import argparse
import time

import numpy as np

from common import REPO, load_config  # noqa: E402
from fer_workflow import classify, runtime  # noqa: E402


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        default=str(REPO.parent / "shared/data/fer2013/train.csv.gz"),
        help="label_feature_csv train.csv(.gz)",
    )
    parser.add_argument("--faces", type=int, default=300, help="first rows of the CSV placed on photos")
    parser.add_argument("--empty", type=int, default=50, help="photos without a face")
    parser.add_argument("--model", default="", help="a trained .keras model (default: an untrained CNN)")
    parser.add_argument("--configfile", action="append", default=[], help="preset(s) merged over config.yaml")
    args = parser.parse_args()
    runtime.configure_backend(threads=1, seed=0)
    cfg = load_config(args.configfile)
    knobs = {k: cfg["classify"][k] for k in ("margin", "min_face_size", "scale_factor", "min_neighbors")}
    from fer_workflow import models  # after the backend's threads are set

    if args.model:
        model = models.load_model(args.model)
    else:
        model = models.build_cnn(cfg["cnn"])
    detector = classify.load_detector()
    faces, _ = classify.read_csv_faces(args.data, args.faces - args.faces % 3)
    rng = np.random.default_rng(0)

    found = extra = loose = 0
    ratios, t_detect, t_classify = [], 0.0, 0.0
    photos = []
    for k in range(0, len(faces), 3):
        photo, placed = classify.place_faces(faces[k : k + 3], rng)
        photos.append(photo)
        grey = classify.to_grey(photo)
        start = time.perf_counter()
        boxes = classify.detect_faces(grey, detector, **_detect_kwargs(knobs))
        t_detect += time.perf_counter() - start
        start = time.perf_counter()
        crops = [classify.crop_face(grey, box, knobs["margin"]) for box in boxes]
        classify.classify_crops(model, crops, tta_flip=True)
        t_classify += time.perf_counter() - start
        matched = set()
        for target in placed:
            iou = [classify.box_overlap(target, box) for box in boxes]
            if iou and max(iou) >= 0.5:
                found += 1
                best = int(np.argmax(iou))
                matched.add(best)
                ratios.append(target[2] / boxes[best][2])
        for i, box in enumerate(boxes):
            if i not in matched:
                on_face = any(classify.box_overlap(target, box) > 0 for target in placed)
                loose += on_face
                extra += not on_face
    n_photos = len(photos)
    false_free = 0
    for _ in range(args.empty):
        grey = classify.to_grey(classify.gradient_canvas(600, 800, rng))
        false_free += len(classify.detect_faces(grey, detector, **_detect_kwargs(knobs)))
    print(f"settings: {knobs}")
    print(
        f"detected {found}/{len(faces)} enlarged FER2013 faces ({found / len(faces):.1%}) on {n_photos} photos"
    )
    print(
        f"false detections: {extra} boxes off the faces on those photos, {false_free} on {args.empty} "
        f"face-free photos; {loose} more boxes on a face but with IoU < 0.5 (a second or loose box)"
    )
    print(
        f"face side / box side: median {np.median(ratios):.3f} (margin to match: {(np.median(ratios) - 1) / 2:.3f})"
    )
    print(
        f"time per 800x600 photo: detection {t_detect / n_photos * 1000:.0f} ms, "
        f"crop + classify (flip TTA) {t_classify / n_photos * 1000:.0f} ms"
    )


def _detect_kwargs(knobs):
    return {
        "scale_factor": knobs["scale_factor"],
        "min_neighbors": knobs["min_neighbors"],
        "min_size": knobs["min_face_size"],
    }


if __name__ == "__main__":
    main()
