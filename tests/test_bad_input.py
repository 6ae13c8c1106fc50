"""Bad input fails with a clear message (file, line or image, reason), before
any output is written; earlier outputs stay intact; bad config is rejected."""

import gzip

import numpy as np
import pytest
from PIL import Image

from conftest import tiny_config
from fer_workflow.data import readers
from fer_workflow.data.readers import DataError

GOOD = " ".join(["7"] * 2304)


def csv(path, text, gz=False):
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return path


def expect_error(function, *args, where, reason):
    """Call ``function``; it must raise DataError starting with ``where`` and
    containing ``reason``."""
    with pytest.raises(DataError) as info:
        function(*args)
    message = str(info.value)
    assert message.startswith(f"{where}: "), message
    assert reason in message, message
    return message


# ---- CSV rows ----------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_wrong_pixel_count(tmp_path, gz):
    path = csv(tmp_path / "train.csv", f"label,feature\n0,{GOOD}\n1,{GOOD} 7\n", gz)
    expect_error(
        readers.read_label_feature_train,
        path,
        where=f"{path}:3",
        reason="expected 2304 pixel values, found 2305",
    )


def test_too_few_pixels(tmp_path):
    path = csv(tmp_path / "train.csv", f"label,feature\n0,{GOOD}\n1,1 2 3\n0,{GOOD}\n")
    expect_error(readers.read_label_feature_train, path, where=f"{path}:3", reason="found 3")


def test_empty_pixel_field(tmp_path):
    path = csv(tmp_path / "train.csv", "label,feature\n2,\n")
    expect_error(readers.read_label_feature_train, path, where=f"{path}:2", reason="found 0")


@pytest.mark.parametrize("token", ["abc", "12.5", "1e2", "0x1f"])
def test_non_numeric_pixel(tmp_path, token):
    pixels = GOOD.split()
    pixels[9] = token
    path = csv(tmp_path / "train.csv", f"label,feature\n0,{GOOD}\n0,{GOOD}\n3,{' '.join(pixels)}\n")
    expect_error(
        readers.read_label_feature_train,
        path,
        where=f"{path}:4",
        reason=f"pixel 10 is '{token}', not an integer",
    )


@pytest.mark.parametrize("value", ["256", "-1", "99999999999999999999"])
def test_out_of_range_pixel(tmp_path, value):
    pixels = GOOD.split()
    pixels[-1] = value
    path = csv(tmp_path / "test.csv", f"id,feature\n0,{GOOD}\n1,{' '.join(pixels)}\n")
    message = expect_error(readers.read_label_feature_test, path, where=f"{path}:3", reason="pixel 2304")
    assert "outside 0..255" in message or "not an integer" in message


@pytest.mark.parametrize("label", ["7", "-1", "x", "", "2.0"])
def test_unknown_label(tmp_path, label):
    path = csv(tmp_path / "train.csv", f"label,feature\n0,{GOOD}\n{label},{GOOD}\n")
    expect_error(readers.read_label_feature_train, path, where=f"{path}:3", reason=f"unknown label '{label}'")


def test_unknown_emotion_and_usage_in_fer2013(tmp_path):
    path = csv(tmp_path / "fer2013.csv", f"emotion,pixels,Usage\n0,{GOOD},Training\n9,{GOOD},PublicTest\n")
    expect_error(readers.read_fer2013, path, where=f"{path}:3", reason="unknown emotion '9'")
    path = csv(tmp_path / "fer2013.csv", f"emotion,pixels,Usage\n0,{GOOD},Training\n1,{GOOD},Validation\n")
    expect_error(readers.read_fer2013, path, where=f"{path}:3", reason="unknown Usage 'Validation'")


def test_wrong_number_of_fields(tmp_path):
    path = csv(tmp_path / "train.csv", f"label,feature\n0,{GOOD}\n0,{GOOD},extra\n")
    expect_error(
        readers.read_label_feature_train,
        path,
        where=f"{path}:3",
        reason="expected 2 comma-separated fields, found 3",
    )


# ---- headers and files ---------------------------------------------------------


def test_missing_column(tmp_path):
    path = csv(tmp_path / "train.csv", f"emotion,feature\n0,{GOOD}\n")
    expect_error(readers.read_label_feature_train, path, where=f"{path}:1", reason="missing column(s) label")


def test_missing_header(tmp_path):
    path = csv(tmp_path / "train.csv", f"0,{GOOD}\n1,{GOOD}\n")
    expect_error(
        readers.read_label_feature_train, path, where=f"{path}:1", reason="missing column(s) label, feature"
    )


def test_test_file_given_as_train_file(tmp_path):
    path = csv(tmp_path / "test.csv", f"id,feature\n0,{GOOD}\n")
    expect_error(readers.read_label_feature_train, path, where=f"{path}:1", reason="missing column(s) label")


@pytest.mark.parametrize("gz", [False, True])
def test_empty_file(tmp_path, gz):
    path = csv(tmp_path / "train.csv", "", gz)
    expect_error(readers.read_label_feature_train, path, where=str(path), reason="empty file")


def test_header_without_rows(tmp_path):
    path = csv(tmp_path / "train.csv", "label,feature\n\n")
    expect_error(readers.read_label_feature_train, path, where=str(path), reason="no data rows")


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv.gz"
    expect_error(readers.read_label_feature_train, path, where=str(path), reason="file not found")
    expect_error(
        readers.read,
        "label_feature_csv",
        tmp_path / "nope.csv",
        where=str(tmp_path / "nope.csv"),
        reason="not found",
    )


def test_truncated_gzip(tmp_path):
    path = tmp_path / "train.csv.gz"
    path.write_bytes(gzip.compress(f"label,feature\n0,{GOOD}\n".encode())[:-20])
    expect_error(readers.read_label_feature_train, path, where=str(path), reason="cannot read file")


def test_duplicate_test_ids(tmp_path):
    path = csv(tmp_path / "test.csv", f"id,feature\n0,{GOOD}\n1,{GOOD}\n0,{GOOD}\n")
    expect_error(
        readers.read_label_feature_test, path, where=f"{path}:4", reason="duplicate id 0 (first on line 2)"
    )


def test_bad_test_id(tmp_path):
    path = csv(tmp_path / "test.csv", f"id,feature\nx1,{GOOD}\n")
    expect_error(readers.read_label_feature_test, path, where=f"{path}:2", reason="bad id 'x1'")


def test_test_labels_must_match_test_ids(tmp_path):
    ids = np.array([0, 1, 2])
    path = csv(tmp_path / "labels.csv", "id,label\n0,1\n5,2\n")
    expect_error(readers.read_test_labels, path, ids, where=f"{path}:3", reason="id 5 is not in the test set")
    path = csv(tmp_path / "labels.csv", "id,label\n0,1\n2,9\n")
    expect_error(readers.read_test_labels, path, ids, where=f"{path}:3", reason="unknown label '9'")
    path = csv(tmp_path / "labels.csv", "id,label\n0,1\n2,2\n")
    expect_error(
        readers.read_test_labels, path, ids, where=str(path), reason="no label for 1 test id(s), e.g. id 1"
    )


def test_unknown_format():
    with pytest.raises(ValueError, match="unknown data format 'xyz'"):
        readers.read("xyz", "train.csv")


# ---- image folders ---------------------------------------------------------------


def png(path, size=(48, 48)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size[::-1], 100, np.uint8)).save(path)
    return path


def test_unreadable_image(tmp_path):
    png(tmp_path / "train" / "happy" / "good.png")
    bad = tmp_path / "train" / "happy" / "broken.png"
    bad.write_bytes(b"this is not a png")
    expect_error(readers.read_folder, tmp_path / "train", where=str(bad), reason="cannot read image")


def test_wrong_image_size(tmp_path):
    bad = png(tmp_path / "train" / "sad" / "big.png", size=(64, 48))
    expect_error(
        readers.read_folder,
        tmp_path / "train",
        where=str(bad),
        reason="image is 64x48 pixels, expected 48x48",
    )


def test_unknown_class_folder(tmp_path):
    png(tmp_path / "train" / "happy" / "a.png")
    png(tmp_path / "train" / "contempt" / "b.png")
    expect_error(
        readers.read_folder,
        tmp_path / "train",
        where=str(tmp_path / "train" / "contempt"),
        reason="unknown class folder",
    )


def test_image_outside_class_folder_in_training(tmp_path):
    loose = png(tmp_path / "train" / "a.png")
    expect_error(readers.read_folder, tmp_path / "train", where=str(loose), reason="outside a class folder")


def test_empty_or_missing_folder(tmp_path):
    (tmp_path / "train" / "happy").mkdir(parents=True)
    expect_error(
        readers.read_folder, tmp_path / "train", where=str(tmp_path / "train"), reason="no images found"
    )
    expect_error(
        readers.read_folder, tmp_path / "nope", where=str(tmp_path / "nope"), reason="folder not found"
    )


# ---- through the workflow ----------------------------------------------------------


def label_feature_config(train="in/train.csv", **data):
    return tiny_config(
        data={"format": "label_feature_csv", "train": train, "test": "", "test_labels": "", **data}
    )


def good_train_csv(n=70):
    rng = np.random.default_rng(0)
    rows = [f"{i % 7},{' '.join(map(str, rng.integers(0, 256, 2304)))}" for i in range(n)]
    return "label,feature\n" + "\n".join(rows) + "\n"


def put(workflow, rel, text):
    path = workflow.path(rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.slow
def test_workflow_shows_bad_row_in_terminal(workflow):
    put(workflow, "in/train.csv", good_train_csv(10) + "3,1 2 3\n")
    proc = workflow.run("--", "results/data/dataset.npz", config=label_feature_config(), check=False)
    assert proc.returncode != 0
    message = "in/train.csv:12: expected 2304 pixel values, found 3"
    assert message in proc.output  # the default profile shows the failed log
    # ... and the Snakefile's onerror handler repeats it as the run's last line, under the rule
    end = proc.stderr.strip().splitlines()
    assert end[-1].strip().endswith(message), end[-12:]
    assert "rule read_data:" in "\n".join(end[-12:]), end[-12:]
    log_lines = workflow.path("results/logs/read_data.log").read_text().strip().splitlines()
    assert log_lines[-1].endswith(message)  # the message ends the log
    assert not workflow.path("results/data/raw.npz").exists()
    assert not workflow.path("results/data/data_quality.csv").exists()


@pytest.mark.slow
def test_workflow_failure_keeps_earlier_outputs(workflow):
    train = put(workflow, "in/train.csv", good_train_csv())
    config = label_feature_config()
    workflow.run("--", "results/data/dataset.npz", config=config)
    dataset = workflow.path("results/data/dataset.npz")
    before = dataset.read_bytes()
    assert workflow.path("results/data/data_quality.csv").exists()

    train.write_text(good_train_csv().replace("\n5,", "\n5,x", 1))  # corrupt one row (line 7)
    proc = workflow.run("--", "results/data/dataset.npz", config=config, check=False)
    assert proc.returncode != 0
    assert "in/train.csv:7: pixel 1 is 'x" in proc.output
    assert dataset.read_bytes() == before  # split_data never ran again


@pytest.mark.slow
def test_workflow_missing_input_file_is_named(workflow):
    proc = workflow.run(
        "-n", "--", "results/data/dataset.npz", config=label_feature_config("in/nope.csv"), check=False
    )
    assert proc.returncode != 0
    assert "in/nope.csv" in proc.output


@pytest.mark.slow
@pytest.mark.parametrize(
    "override, key",
    [
        ({"data": {"validation_fraction": 2}}, "validation_fraction"),
        ({"data": {"format": "xyz"}}, "format"),
        ({"data": {"drop_duplicates": "yes"}}, "drop_duplicates"),
        ({"data": {"near_duplicate_max_diff": 99}}, "near_duplicate_max_diff"),
        ({"data": {"shuffle": True}}, "shuffle"),
        ({"data": {"format": "label_feature_csv", "train": ""}}, "train"),
        ({"synthetic": {"n_train": 10}}, "n_train"),
        ({"synthetic": {"seed": -1}}, "seed"),
        ({"samples": {"per_class": 0}}, "per_class"),
    ],
)
def test_bad_config_rejected_naming_the_key(workflow, override, key):
    proc = workflow.run("-n", config=tiny_config(**override), check=False)
    assert proc.returncode != 0
    assert "Error validating config file" in proc.output
    assert key in proc.output.split("Error validating config file", 1)[1]


@pytest.mark.slow
def test_dnn_that_cannot_follow_its_ratios_fails_at_start_up(workflow):
    """A CNN of 28,799 parameters: no DNN with widths 1 : 0.5 : 0.25 is
    within 1% (12-6-3 has 27,850, 13-7-3 30,184), so Snakemake stops while
    parsing, before any job, naming the keys."""
    proc = workflow.run("-n", config=tiny_config(cnn={"dense": [16]}), check=False)
    assert proc.returncode != 0
    assert "dnn.hidden_ratios [1.0, 0.5, 0.25] cannot be met" in proc.output
    assert "cnn.blocks, cnn.separable, cnn.head_pool, cnn.dense" in proc.output
    assert "rule " not in proc.output and not workflow.path("results").exists()
    assert workflow.run("-n", config=tiny_config()).returncode == 0
