"""The classify rules in the workflow: photos in a folder give the table, the
annotated photos and the contact sheet; an added photo runs only its own job;
an unreadable file fails naming it or is listed; and the workflow's saved
model loads in a Python with only Keras."""

import cv2
import numpy as np
import pandas as pd
import pytest
from test_classify import FER2013
from test_standalone_model import load_in_plain_python

from conftest import END_OF_RUN, WHERE, merge
from fer_workflow import classify, data, models

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(FER2013 is None, reason=f"FER2013 not found in {WHERE.format('fer2013')}"),
]

PHOTOS = ["corrupt.jpg", "empty.png", "grey.png", "group.jpg"]


def write_photos(folder):
    folder.mkdir()
    faces, _ = classify.read_csv_faces(FER2013, 6)
    rng = np.random.default_rng(0)
    cv2.imwrite(str(folder / "group.jpg"), classify.place_faces(faces[:3], rng)[0])
    cv2.imwrite(str(folder / "grey.png"), classify.to_grey(classify.place_faces(faces[3:], rng)[0]))
    cv2.imwrite(str(folder / "empty.png"), classify.gradient_canvas(300, 400, rng))
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a JPEG")
    (folder / "notes.txt").write_text("not a photo: ignored")


def test_classify_photos_in_the_workflow(completed_tiny_workflow, tmp_path):
    wf = completed_tiny_workflow.clone(tmp_path / "wf")
    write_photos(wf.path("photos"))
    config = merge(wf.config, {"classify": {"images": "photos", "on_unreadable": "list"}})

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
    cv2.imwrite(str(wf.path("photos/new.png")), classify.gradient_canvas(200, 200, np.random.default_rng(1)))
    assert wf.dry_run_jobs(config=config) == {
        **END_OF_RUN,
        "classify_photo": 1,
        "collect_classified_photos": 1,
    }

    # on_unreadable: fail stops at the corrupt file, naming it.
    failing = merge(config, {"classify": {"on_unreadable": "fail"}})
    proc = wf.run("--show-failed-logs", config=failing, check=False)
    assert proc.returncode != 0
    assert "cannot read photo 'photos/corrupt.jpg'" in proc.output


def test_workflow_model_loads_with_only_keras(completed_tiny_workflow, tmp_path):
    wf = completed_tiny_workflow
    faces = data.as_model_input(data.load(wf.path("results/data/dataset.npz")).x_val[:16])
    out = load_in_plain_python(wf.path("results/models/cnn.keras"), faces, tmp_path)
    expected = models.load_model(str(wf.path("results/models/cnn.keras"))).predict(faces, verbose=0)
    np.testing.assert_allclose(np.array(out["probs"]), expected, atol=1e-4)
