"""The classify rules in the workflow: photos in a folder give the table, the
annotated photos and the contact sheet; an added photo runs only its own job;
an unreadable file fails naming it or is listed; a fresh clone classifies
photos with the shipped model without training anything, refusing a photo
too large from its header; this run's synthetic-face model is used only
with a warning; and the workflow's saved model loads in a Python with only Keras."""

import json
import time

import cv2
import numpy as np
import pandas as pd
import pytest
from test_classify import FER2013
from test_photos import write_huge_png
from test_standalone_model import load_in_plain_python

import scenes
from conftest import END_OF_RUN, WHERE, Workflow, merge, parse_job_counts
from fer_workflow import data, models
from fer_workflow.use import classify, shipped

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(FER2013 is None, reason=f"FER2013 not found in {WHERE.format('fer2013')}"),
]

PHOTOS = ["corrupt.jpg", "empty.png", "grey.png", "group.jpg"]


def write_photos(folder):
    folder.mkdir()
    faces, _ = scenes.read_csv_faces(FER2013, 6)
    rng = np.random.default_rng(0)
    cv2.imwrite(str(folder / "group.jpg"), scenes.place_faces(faces[:3], rng)[0])
    cv2.imwrite(str(folder / "grey.png"), classify.to_grey(scenes.place_faces(faces[3:], rng)[0]))
    cv2.imwrite(str(folder / "empty.png"), scenes.gradient_canvas(300, 400, rng))
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a JPEG")
    (folder / "notes.txt").write_text("not a photo: ignored")


def test_classify_photos_in_the_workflow(completed_tiny_workflow, tmp_path):
    wf = completed_tiny_workflow.clone(tmp_path / "wf")
    write_photos(wf.path("photos"))
    config = merge(wf.config, {"classify": {"images": "photos"}})  # on_unreadable: list, the default

    # Only the classify rules run: one job per photo and the gather.
    assert wf.dry_run_jobs(config=config) == {
        **END_OF_RUN,
        "classify_photo": 4,
        "collect_classified_photos": 1,
    }
    wf.run(config=config)
    table = pd.read_csv(wf.path("results/classify/predictions.csv"), keep_default_na=False)
    assert list(table.columns) == classify.COLUMNS
    assert sorted(set(table["file"])) == PHOTOS
    assert (
        list(table.loc[table["file"] == "group.jpg", "face"])
        == ["1", "2", "3"][: (table["file"] == "group.jpg").sum()]
    )
    notes = dict(zip(table["file"], table["note"], strict=False))
    assert notes["empty.png"] == "no face found"
    assert notes["corrupt.jpg"].startswith("unreadable: cannot read photo")
    assert (table["file"] == "group.jpg").sum() >= 2 and (table["file"] == "grey.png").sum() >= 2
    for photo in PHOTOS:
        assert cv2.imread(str(wf.path(f"results/classify/annotated/{photo}.png"))) is not None
    assert wf.path("results/figures/classify_contact_sheet.png").stat().st_size > 0

    # An added photo: its job and the gather, nothing else.
    cv2.imwrite(str(wf.path("photos/new.png")), scenes.gradient_canvas(200, 200, np.random.default_rng(1)))
    assert wf.dry_run_jobs(config=config) == {
        **END_OF_RUN,
        "classify_photo": 1,
        "collect_classified_photos": 1,
    }

    # on_unreadable: fail stops at the corrupt file, naming it.
    failing = merge(config, {"classify": {"on_unreadable": "fail"}})  # a params change: every photo reruns
    proc = wf.run("--show-failed-logs", config=failing, check=False)
    assert proc.returncode != 0
    assert "cannot read photo 'photos/corrupt.jpg'" in proc.output


def test_workflow_model_loads_with_only_keras(completed_tiny_workflow, tmp_path):
    wf = completed_tiny_workflow
    faces = data.as_model_input(data.load(wf.path("results/data/dataset.npz")).x_val[:16])
    out = load_in_plain_python(wf.path("results/models/cnn.keras"), faces, tmp_path)
    expected = models.load_model(str(wf.path("results/models/cnn.keras"))).predict(faces, verbose=0)
    np.testing.assert_allclose(np.array(out["probs"]), expected, atol=1e-4)


def test_fresh_clone_classifies_photos_with_the_shipped_model(tmp_path):
    """The guide's command (docs/guide/photos.md) on a fresh copy: nothing is
    trained, the shipped model is used with its temperature; a folder and a
    glob pattern; a 900-megapixel PNG is refused from its header and listed
    with its size and the limit while the other photos are classified."""
    wf = Workflow(tmp_path / "wf")
    write_photos(wf.path("photos"))
    write_huge_png(wf.path("photos/huge.png"))
    (wf.path("more")).mkdir()
    faces, _ = scenes.read_csv_faces(FER2013, 9)
    cv2.imwrite(str(wf.path("more/pair.jpg")), scenes.place_faces(faces[6:8], np.random.default_rng(3))[0])
    images = "{images: [photos, 'more/*.jpg']}"
    target = "results/classify/predictions.csv"
    proc = wf.run(target, "--config", f"classify={images}", "-n", "--quiet", "rules")
    assert parse_job_counts(proc.output) == {"classify_photo": 6, "collect_classified_photos": 1}
    start = time.perf_counter()
    wf.run(target, "--config", f"classify={images}")
    elapsed = time.perf_counter() - start
    table = pd.read_csv(wf.path(target), keep_default_na=False)
    notes = dict(zip(table["file"], table["note"], strict=False))
    assert notes["huge.png"].startswith("too large: ")
    assert "30000 x 30000" in notes["huge.png"] and "classify.max_pixels = 100,000,000" in notes["huge.png"]
    huge_seconds = pd.read_csv(wf.path("results/timings/classify_photo/huge.png.tsv"), sep="\t")["s"].iloc[0]
    # Refused before TensorFlow and the model load: the job is Python start-up and a header read.
    assert huge_seconds < 15, huge_seconds
    print(f"huge.png job: {huge_seconds:.2f} s")
    assert (table["file"] == "group.jpg").sum() >= 2 and (table["file"] == "pair.jpg").sum() >= 1
    assert not wf.path("results/models").exists()  # nothing trained
    log = wf.path("results/logs/classify_photo/group.jpg.log").read_text()
    record = shipped.read_record(wf.path(shipped.SHIPPED_RECORD))
    assert (
        "the shipped FER2013 CNN" in log and f"temperature {record['calibration']['temperature']:.4f}" in log
    )
    assert "WARNING" not in log
    print(f"fresh-copy photo run: {elapsed:.1f} s for 6 photos on 2 cores")

    # One more photo in the folder: only its job and the gather.
    cv2.imwrite(str(wf.path("photos/late.png")), scenes.gradient_canvas(200, 200, np.random.default_rng(4)))
    proc = wf.run(target, "--config", f"classify={images}", "-n", "--quiet", "rules")
    assert parse_job_counts(proc.output) == {"classify_photo": 1, "collect_classified_photos": 1}


def test_a_model_trained_on_synthetic_faces_is_used_only_with_a_warning(completed_tiny_workflow, tmp_path):
    wf = completed_tiny_workflow.clone(tmp_path / "wf")
    write_photos(wf.path("photos"))
    config = merge(wf.config, {"classify": {"images": "photos", "model": "results/models/cnn.keras"}})
    proc = wf.run(config=config)
    assert "trained on the built-in synthetic faces" in proc.output  # in the terminal, at start
    for log in ("results/logs/collect_classified_photos.log", "results/logs/classify_photo/group.jpg.log"):
        text = wf.path(log).read_text()
        assert "WARNING" in text and "synthetic faces" in text, log
    # Its temperature is this run's calibration of it.
    t = json.loads(wf.path("results/eval/calibration_cnn.json").read_text())["temperature"]
    assert f"temperature {t:.4f}" in wf.path("results/logs/classify_photo/group.jpg.log").read_text()
