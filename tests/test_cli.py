"""The fer-workflow command and the Python API (fer_workflow.Classifier): the
rows of the workflow's tables in CSV or JSON, your own face boxes without
detection, errors as one line and a non-zero exit."""

import io
import json
import subprocess
import sys

import cv2
import keras
import numpy as np
import pandas as pd
import pytest

import scenes
from conftest import REPO
from fer_workflow import CLASS_NAMES
from fer_workflow.use import classify, cli, detect
from toy_models import toy_cnn

BOXES = [(40, 30, 120, 120), (220, 60, 100, 100)]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """A saved toy model and a folder with one photo (two faces at BOXES) and an unreadable one."""
    keras.config.set_floatx("float32")
    folder = tmp_path_factory.mktemp("cli")
    toy_cnn(seed=2).save(folder / "toy.keras")
    photos = folder / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    photo = scenes.gradient_canvas(240, 360, rng)
    for x, y, w, h in BOXES:
        photo[y : y + h, x : x + w] = rng.integers(0, 255, (h, w, 1), dtype=np.uint8)
    cv2.imwrite(str(photos / "two.png"), photo)
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    boxes = folder / "boxes.csv"
    boxes.write_text("file,x,y,w,h\n" + "".join(f"photos/two.png,{x},{y},{w},{h}\n" for x, y, w, h in BOXES))
    return folder


def run(argv, capsys):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


class Refuses:
    """A detector that must not be called (own boxes)."""

    kind = "haar"

    def detect(self, image):
        raise AssertionError("the detector ran although boxes were given")


def test_classify_with_own_boxes_skips_detection(toy, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(detect.Detector, "detect", Refuses.detect)
    cv2.imwrite(str(tmp_path / "plain.png"), np.full((60, 80, 3), 128, np.uint8))
    status, out, err = run(
        ["classify", toy / "photos", tmp_path / "plain.png", "--boxes", toy / "boxes.csv"]
        + ["--model", toy / "toy.keras"],
        capsys,
    )
    assert status == 0, err
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns) == classify.COLUMNS
    faces = table[table["file"] == "two.png"]
    assert faces[["x", "y", "w", "h"]].to_numpy().tolist() == [list(b) for b in BOXES]
    np.testing.assert_allclose(faces[list(CLASS_NAMES)].sum(axis=1), 1, atol=1e-5)
    assert table.set_index("file").loc["plain.png", "note"] == "no box given"
    assert table.set_index("file").loc["broken.jpg", "note"].startswith("unreadable: cannot read photo")
    assert "2 faces on 3 photos" in err


def test_classify_json_parses_and_unreadable_photos_are_listed(toy, capsys):
    status, out, err = run(["classify", toy / "photos", "--model", toy / "toy.keras", "--json"], capsys)
    assert status == 0, err
    records = json.loads(out)
    assert {r["file"] for r in records} == {"broken.jpg", "two.png"}
    broken = next(r for r in records if r["file"] == "broken.jpg")
    assert broken["note"].startswith("unreadable") and broken["Happy"] is None


def test_output_file(toy, capsys, tmp_path):
    out_file = tmp_path / "faces.csv"
    status, out, _ = run(
        [
            "classify",
            toy / "photos/two.png",
            "--model",
            toy / "toy.keras",
            "-o",
            out_file,
            "--calibration",
            "2",
        ],
        capsys,
    )
    assert status == 0 and out == ""
    assert list(pd.read_csv(out_file).columns) == classify.COLUMNS


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["classify", "no/such/photo.jpg"], "no/such/photo.jpg"),
        (["classify", "{photos}", "--model", "{folder}/model.pt"], "not a .keras, .onnx or .tflite file"),
        (["classify", "{photos}", "--model", "{folder}/missing.onnx"], "no such file"),
        (["classify", "{photos}", "--boxes", "{folder}/bad_column.csv"], "no column h"),
        (["classify", "{photos}", "--boxes", "{folder}/bad_value.csv"], "line 3: w = 'wide'"),
        (["classify", "{photos}", "--boxes", "{folder}/other_photo.csv"], "elsewhere.png is not among"),
        (["classify", "{photos}/broken.jpg", "--on-unreadable", "fail"], "cannot read photo"),
        (["video", "{folder}/missing.mp4"], "no such file"),
        (["classify", "{photos}", "--calibration", "-1"], "calibration"),
    ],
)
def test_errors_are_one_line_and_a_non_zero_exit(toy, capsys, argv, message):
    (toy / "bad_column.csv").write_text("file,x,y,w\ntwo.png,1,2,3\n")
    (toy / "bad_value.csv").write_text("file,x,y,w,h\ntwo.png,1,2,3,4\ntwo.png,1,2,wide,4\n")
    (toy / "other_photo.csv").write_text("file,x,y,w,h\nelsewhere.png,1,2,3,4\n")
    argv = [a.format(folder=toy, photos=toy / "photos") for a in argv]
    if "--model" not in argv:
        argv += ["--model", str(toy / "toy.keras")]
    status, out, err = run(argv, capsys)
    assert status == 1
    lines = [line for line in err.splitlines() if line.startswith("fer-workflow: error:")]
    assert len(lines) == 1 and message in lines[0], err
    assert out == ""


def test_console_script_is_installed_and_exits_non_zero():
    script = REPO / ".venv/bin/fer-workflow"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "fer_workflow.use.cli"]
    result = subprocess.run(
        [*command, "classify", "no/such.jpg"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("fer-workflow: error:")
    help_text = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=60).stdout
    assert "classify" in help_text and "video" in help_text


def test_classifier_api_gives_boxes_and_calibrated_probabilities(toy):
    from fer_workflow import Classifier

    classifier = Classifier(model=toy / "toy.keras", calibration="1.5")
    photo = cv2.imread(str(toy / "photos/two.png"))
    faces = classifier.predict(photo, boxes=BOXES)
    assert [face.box for face in faces] == BOXES
    for face in faces:
        assert face.probabilities.shape == (7,)
        assert face.probabilities.sum() == pytest.approx(1, abs=1e-5)
        assert face.expression in CLASS_NAMES
        assert face.as_dict()["expression"] == face.expression
    # The same numbers as the workflow's table of the photo (classify_photo).
    table = classifier.classify_file(toy / "photos/two.png", np.array(BOXES))
    np.testing.assert_allclose(
        table[list(CLASS_NAMES)].to_numpy(float), [f.probabilities for f in faces], atol=1e-5
    )
    assert classifier.temperature == 1.5


def test_default_classifier_is_the_shipped_calibrated_model(toy):
    from fer_workflow import Classifier
    from fer_workflow.use import shipped

    classifier = Classifier()
    assert classifier.model_path.endswith(shipped.SHIPPED_MODEL)
    assert classifier.temperature == shipped.temperature(REPO / shipped.SHIPPED_RECORD)
    faces = classifier.predict(str(toy / "photos/two.png"), boxes=BOXES[:1])
    assert len(faces) == 1 and faces[0].probabilities.sum() == pytest.approx(1, abs=1e-5)
    onnx = Classifier(model="onnx")
    assert onnx.temperature == classifier.temperature
    np.testing.assert_allclose(
        onnx.predict(str(toy / "photos/two.png"), boxes=BOXES[:1])[0].probabilities,
        faces[0].probabilities,
        atol=1e-4,
    )


def test_importing_the_package_does_not_import_keras():
    code = "import sys, fer_workflow; print('keras' in sys.modules, 'cv2' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["False", "False"]


class Counting:
    """A stand-in model that records the batch of each call."""

    def __init__(self):
        self.batches = []

    def predict_on_batch(self, x):
        self.batches.append(len(x))
        return np.full((len(x), 7), 1 / 7, np.float32)


def test_every_face_of_a_photo_goes_through_the_model_in_one_batch(toy):
    from fer_workflow import Classifier

    classifier = Classifier(model=toy / "toy.keras", calibration="none")
    classifier.model = Counting()
    classifier.classify_file(toy / "photos/two.png", np.array(BOXES))
    classifier.predict(str(toy / "photos/two.png"), boxes=BOXES)
    assert classifier.model.batches == [4, 4]  # two faces and their mirror images, one call each
