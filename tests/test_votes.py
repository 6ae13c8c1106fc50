"""FER+ votes: reading and matching them to the images (every error with file,
line and reason), the split carrying them, quality counts, soft targets."""

import numpy as np
import pandas as pd
import pytest
from test_readers import faces, feature, write_label_feature_test, write_label_feature_train

from conftest import FER2013, FERPLUS, REPO, WHERE, tiny_config
from fer_workflow import arrays, data
from fer_workflow.data import readers, votes

HEADER = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"


def vote_rows(usages, seed=0):
    """Random vote rows (n, 10) summing to 10, one per usage."""
    rng = np.random.default_rng(seed)
    return np.stack([np.bincount(rng.integers(0, 10, 10), minlength=10) for _ in usages]).astype(np.int32)


def write_votes(path, usages, rows, header=HEADER):
    lines = [header] + [
        f"{u},fer{k:07d}.png,{','.join(str(v) for v in row)}"
        for k, (u, row) in enumerate(zip(usages, rows, strict=True))
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def csv_input(tmp_path):
    """label_feature_csv files: 6 training and 5 test faces."""
    train = write_label_feature_train(tmp_path / "train.csv", faces(6), np.arange(6) % 7)
    test = write_label_feature_test(tmp_path / "test.csv", faces(5, seed=1), np.arange(5))
    return train, test


def test_training_votes_match_the_training_rows(tmp_path, csv_input):
    rows = vote_rows(range(6))
    path = write_votes(tmp_path / "votes.csv", ["Training"] * 6, rows)
    raw = readers.read("label_feature_csv", *csv_input, votes=path)
    np.testing.assert_array_equal(raw.votes_train, rows)
    assert raw.votes_train.dtype == np.int32
    assert raw.votes_test.shape == (0, 10)  # FER2013's test votes are withheld: none is fine


def test_full_file_test_rows_are_public_then_private(tmp_path, csv_input):
    """fer2013new.csv's order: Training rows, then test.csv's PublicTest rows, then PrivateTest rows
    (here interleaved in the file: positions count within each Usage)."""
    usages = ["Training"] * 3 + ["PrivateTest", "PublicTest", "Training", "PublicTest"]
    usages += ["Training", "PrivateTest", "Training", "PublicTest"]
    rows = vote_rows(usages, seed=2)
    path = write_votes(tmp_path / "votes.csv", usages, rows)
    raw = readers.read("label_feature_csv", *csv_input, votes=path)
    u = np.array(usages)
    np.testing.assert_array_equal(raw.votes_train, rows[u == "Training"])
    expected_test = np.concatenate([rows[u == "PublicTest"], rows[u == "PrivateTest"]])
    np.testing.assert_array_equal(raw.votes_test, expected_test)


def write_fer2013(path, usages, seed=0):
    images = faces(len(usages), seed)
    rows = "".join(f"{k % 7},{feature(x)},{u}\n" for k, (x, u) in enumerate(zip(images, usages, strict=True)))
    path.write_text("emotion,pixels,Usage\n" + rows)
    return path


def test_fer2013_format_matches_test_votes_by_usage(tmp_path):
    """fer2013.csv's test images keep their file order; each takes the vote row of
    the same position among the rows of its Usage."""
    image_usages = ["Training", "PublicTest", "Training", "PrivateTest", "PublicTest", "PrivateTest"]
    train = write_fer2013(tmp_path / "fer2013.csv", image_usages)
    vote_usages = ["PrivateTest", "Training", "PublicTest", "PublicTest", "PrivateTest", "Training"]
    rows = vote_rows(vote_usages, seed=3)
    path = write_votes(tmp_path / "votes.csv", vote_usages, rows)
    raw = readers.read("fer2013", train, votes=path)
    np.testing.assert_array_equal(raw.votes_train, rows[[1, 5]])
    # test images in file order: PublicTest #0, PrivateTest #0, PublicTest #1, PrivateTest #1
    np.testing.assert_array_equal(raw.votes_test, rows[[2, 0, 3, 4]])


def error(fmt, train, test, votes_path):
    with pytest.raises(readers.DataError) as info:
        readers.read(fmt, train, test, votes=votes_path)
    return info.value


@pytest.mark.parametrize(
    "usages, edit, line, reason",
    [
        # one Training row short: named after the last Training row
        (["Training"] * 5, None, 6, "5 Training rows of votes for 6 Training images"),
        # one row too many: named at the first row without an image
        (["Training"] * 7, None, 8, "7 Training rows of votes for 6 Training images"),
        # test votes, but this run has no test file
        (["Training"] * 6 + ["PublicTest"], "no_test", 8, "but this run has no test images"),
        (["Training"] * 6 + ["PublicTest"] * 3, None, 10, "3 PublicTest + 0 PrivateTest rows of votes for 5"),
        (["Training"] * 6 + ["PublicTest"] * 3 + ["PrivateTest"] * 3, None, 13, "votes for 5 test images"),
        (["Training"] * 6, ("negative", 4), 4, "vote anger='-1' is not a count of annotators"),
        (["Training"] * 6, ("fraction", 6), 6, "vote anger='2.5' is not a count of annotators"),
        (["Training"] * 6, ("usage", 3), 3, "unknown Usage 'Validation'"),
    ],
)
def test_vote_errors_name_file_line_and_reason(tmp_path, csv_input, usages, edit, line, reason):
    rows = vote_rows(usages).astype(object)
    kind, row = edit if isinstance(edit, tuple) else (edit, None)
    if kind == "negative":
        rows[row - 2, 4] = -1
    if kind == "fraction":
        rows[row - 2, 4] = 2.5
    if kind == "usage":
        usages = list(usages)
        usages[row - 2] = "Validation"
    path = write_votes(tmp_path / "votes.csv", usages, rows)
    train, test = csv_input
    err = error("label_feature_csv", train, None if kind == "no_test" else test, path)
    assert err.path == str(path) and err.line == line, str(err)
    assert reason in err.reason, str(err)
    assert str(err).startswith(f"{path}:{line}: ")


def test_missing_vote_column(tmp_path, csv_input):
    header = HEADER.replace(",contempt", "")
    rows = np.delete(vote_rows(range(6)), 7, axis=1)
    path = write_votes(tmp_path / "votes.csv", ["Training"] * 6, rows, header=header)
    err = error("label_feature_csv", *csv_input, path)
    assert err.line == 1 and "missing column(s) contempt" in err.reason, str(err)


def test_votes_for_a_usage_without_images(tmp_path):
    """fer2013.csv without test rows: PublicTest votes have no images."""
    train = write_fer2013(tmp_path / "fer2013.csv", ["Training"] * 3)
    path = write_votes(tmp_path / "votes.csv", ["Training"] * 3 + ["PublicTest"], vote_rows(range(4)))
    err = error("fer2013", train, None, path)
    assert err.line == 5 and "1 PublicTest rows of votes, but this run has no PublicTest images" in err.reason


def test_folder_format_cannot_take_votes(tmp_path):
    from PIL import Image

    (tmp_path / "train" / "happy").mkdir(parents=True)
    Image.fromarray(faces(1)[0]).save(tmp_path / "train" / "happy" / "a.png")
    path = write_votes(tmp_path / "votes.csv", ["Training"], vote_rows([0]))
    err = error("folder", tmp_path / "train", None, path)
    assert "format folder orders images by class and file name" in str(err)


def test_raw_and_dataset_files_without_votes_still_load(tmp_path):
    """A raw.npz or dataset.npz written before votes existed loads with empty votes."""
    x, y = faces(4), np.arange(4, dtype=np.int8)
    raw = readers.Raw(x, y, x[:0], y[:0], np.zeros(0, np.int64))
    old = {k: v for k, v in raw.__dict__.items() if not k.startswith("votes")}
    arrays.save(tmp_path / "raw.npz", old)
    assert readers.Raw.load(tmp_path / "raw.npz").votes_train.shape == (0, 10)
    dataset, _ = data.make_dataset(x, y, x[:0], y[:0], np.zeros(0, np.int64), 0.25, 0)
    old = {k: v for k, v in dataset.__dict__.items() if not k.startswith("votes")}
    arrays.save(tmp_path / "dataset.npz", old)
    loaded = data.load(tmp_path / "dataset.npz")
    assert loaded.votes_val.shape == (0, 10) and not votes.has_votes(loaded)


# ---- what the votes say ---------------------------------------------------------------------------


def test_plurality_ties_and_classes():
    v = np.zeros((6, 10), np.int32)
    v[0, [0, 3]] = [6, 4]  # neutral
    v[1, [0, 3]] = [5, 5]  # a tie: no plurality
    v[2, 9] = 10  # not a face
    v[3, [8, 4]] = [6, 4]  # unknown
    v[4, [7, 4]] = [5, 4]  # contempt
    # row 5: no votes
    assert votes.plurality(v).tolist() == [0, -1, 9, 8, 7, -1]
    assert votes.plurality_class(v).tolist() == [6, -1, -1, -1, -1, -1]
    assert votes.not_a_face(v).tolist() == [False, False, True, True, False, False]
    np.testing.assert_array_equal(votes.class_votes(v)[0], [0, 0, 0, 0, 4, 0, 6])  # Sad 4, Neutral 6


def test_soft_targets_are_the_vote_distribution_over_the_seven_classes():
    v = np.zeros((3, 10), np.int32)
    v[0, [1, 2, 8]] = [6, 2, 2]  # happiness 6, surprise 2, unknown 2 (left out)
    v[1, 9] = 10  # only "not a face": keeps its label
    v[2, [4, 5]] = [1, 1]
    t = votes.soft_targets(v, [3, 2, 0])
    np.testing.assert_allclose(t[0], [0, 0, 0, 0.75, 0, 0.25, 0])
    np.testing.assert_allclose(t[1], np.eye(7)[2])
    np.testing.assert_allclose(t[2], [0.5, 0.5, 0, 0, 0, 0, 0])
    assert t.dtype == np.float32


def test_training_targets_labels_votes_and_without_votes():
    x, y = faces(8), np.array([0, 1, 2, 3, 4, 5, 6, 3], np.int8)
    dataset, _ = data.make_dataset(x, y, x[:0], y[:0], np.zeros(0, np.int64), 0.25, 0)
    np.testing.assert_array_equal(votes.training_targets(dataset), np.eye(7)[dataset.y_train])
    with pytest.raises(ValueError, match="targets: votes needs annotator votes"):
        votes.training_targets(dataset, "votes")
    v = np.zeros((8, 10), np.int32)
    v[:, 1] = 10  # everyone says happiness
    with_votes = votes.attach(dataset, v, votes.empty())
    np.testing.assert_array_equal(
        votes.training_targets(with_votes, "votes"), np.eye(7)[[3] * len(dataset.y_train)]
    )


def duplicated_faces():
    """Eight distinct faces and two copies of face 0 (rows 8, 9) with their own votes."""
    x = faces(8, seed=4)
    x = np.concatenate([x, x[[0, 0]]])
    y = np.array([0, 1, 2, 3, 4, 5, 6, 3, 0, 0], np.int8)
    v = np.zeros((10, 10), np.int32)
    v[np.arange(10), np.arange(10) % 7] = np.arange(1, 11)  # every row's votes differ, all expressions
    return x, y, v


@pytest.mark.parametrize("seed", range(4))
def test_split_carries_each_face_its_own_votes(seed):
    x, y, v = duplicated_faces()
    dataset, _ = data.make_dataset(x, y, x[:2], np.full(2, -1, np.int8), np.arange(2), 0.3, seed)
    dataset = votes.attach(dataset, v, v[:2])
    np.testing.assert_array_equal(dataset.votes_train, v[dataset.train_index])
    np.testing.assert_array_equal(dataset.votes_val, v[dataset.val_index])
    np.testing.assert_array_equal(dataset.votes_test, v[:2])
    # the group of face 0 (rows 0, 8, 9) lies on one side, each copy with its own votes
    side = dataset.train_index if 0 in dataset.train_index else dataset.val_index
    group_votes = dataset.votes_train if side is dataset.train_index else dataset.votes_val
    for row in (0, 8, 9):
        assert row in side
        np.testing.assert_array_equal(group_votes[np.flatnonzero(side == row)[0]], v[row])
    assert votes.has_votes(dataset)


def test_save_load_round_trip_with_votes(tmp_path):
    x, y, v = duplicated_faces()
    dataset, _ = data.make_dataset(x, y, x[:0], y[:0], np.zeros(0, np.int64), 0.3, 0)
    dataset = votes.attach(dataset, v, votes.empty())
    data.save(dataset, tmp_path / "d.npz")
    loaded = data.load(tmp_path / "d.npz")
    np.testing.assert_array_equal(loaded.votes_train, dataset.votes_train)
    np.testing.assert_array_equal(loaded.votes_val, dataset.votes_val)
    assert loaded.votes_test.shape == (0, 10)


def test_drop_not_faces_before_the_split():
    x, y, v = duplicated_faces()
    v[3] = 0
    v[3, votes.NOT_FACE] = 10
    v[5] = 0
    v[5, [votes.UNKNOWN, 0]] = [6, 4]
    drop = votes.not_a_face(v)
    assert np.flatnonzero(drop).tolist() == [3, 5]
    dataset, dropped = data.make_dataset(x, y, x[:0], y[:0], np.zeros(0, np.int64), 0.3, 0, exclude=drop)
    kept = np.concatenate([dataset.train_index, dataset.val_index])
    assert 3 not in kept and 5 not in kept and len(kept) == 8
    assert dropped == 0  # the duplicates count stays the duplicates'


def test_quality_counts_of_the_votes():
    v = np.zeros((6, 10), np.int32)
    v[0, votes.NOT_FACE] = 10
    v[1, [votes.UNKNOWN, 0]] = [6, 4]
    v[2, [votes.CONTEMPT, 4]] = [5, 4]
    v[3, [0, 3]] = [5, 5]  # tie
    v[4, 3] = 10  # sadness: Sad (4), labelled Sad
    v[5, 0] = 10  # neutral, labelled Angry: disagrees
    labels = np.array([0, 0, 0, 0, 4, 0])
    counts = votes.quality_counts(v, labels)
    assert counts == {
        "train_votes_not_face": 1,
        "train_votes_unknown": 1,
        "train_votes_contempt": 1,
        "train_votes_no_plurality": 1,
        "train_votes_disagree": 1,
    }
    raw = readers.Raw(faces(6), labels.astype(np.int8), faces(0), np.zeros(0, np.int8), np.zeros(0, np.int64))
    raw.votes_train = v
    assert votes.dropped_rows(raw, False) is None and votes.dropped_rows(raw, True).tolist() == [
        1,
        1,
        0,
        0,
        0,
        0,
    ]
    table = votes.quality_table(votes.raw_quality_counts(raw, votes.dropped_rows(raw, True)))
    assert table["check"].tolist()[-1] == "train_dropped_not_faces" and table["count"].tolist()[-1] == 2
    assert table["description"].str.len().min() > 10
    assert votes.raw_quality_counts(readers.Raw(faces(1), labels[:1], faces(0), labels[:0], labels[:0])) == {}


@pytest.mark.skipif(FERPLUS is None, reason=f"no FER+ file in {WHERE.format('ferplus')}")
def test_the_real_ferplus_training_votes():
    """The FER+ file of FER2013's 28,709 training rows reads, and its counts are those
    the data's README states (28,224 rows with a first-column plurality among the 7)."""
    numbers, usage, v = votes.read_file(FERPLUS / "fer2013new_training.csv")
    assert len(v) == 28_709 and set(usage) == {"Training"} and numbers[0] == 2
    assert np.bincount(v.sum(axis=1)).tolist()[9:] == [1, 28_708]
    assert int((votes.CLASS_OF_COLUMN[v.argmax(axis=1)] >= 0).sum()) == 28_224  # README's tie rule
    column = votes.plurality(v)
    assert int((column == votes.NO_PLURALITY).sum()) == 1_449
    assert int(votes.not_a_face(v).sum()) == 150 + 170
    table = pd.Series(votes.plurality_class(v)).value_counts()
    assert int(table.drop(-1).sum()) == 26_778
    assert int((column == votes.CONTEMPT).sum()) == 162
    if FER2013:
        train = FER2013 / "train.csv.gz"  # the README's 65.8%: the label agrees with the plurality
        numbers, (labels,) = readers.read_csv_rows(train, ["label"])
        labels = readers.parse_labels(train, numbers, labels)
        plural = votes.plurality_class(v)
        assert round(100 * float(np.mean(labels[plural >= 0] == plural[plural >= 0])), 1) == 65.8


def test_training_on_votes_fits_the_votes_not_the_labels(tmp_path):
    """Soft targets reach the loss: with every face's votes on happiness, a model
    trained on the votes answers Happy whatever the (random) labels say."""
    import keras
    import yaml

    from fer_workflow import models
    from fer_workflow.evaluation import predict
    from fer_workflow.models import training

    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 255, (96, 48, 48)).astype(np.uint8), rng.integers(0, 7, 96).astype(np.int8)
    y[y == 3] = 4  # no face is labelled Happy
    v = np.zeros((96, 10), np.int32)
    v[:, 1] = 10
    dataset, _ = data.make_dataset(x, y, x[:0], y[:0], np.zeros(0, np.int64), 0.25, 0)
    dataset = votes.attach(dataset, v, votes.empty())
    train_cfg = yaml.safe_load((REPO / "config.yaml").read_text())["train"]
    train_cfg.update(epochs=3, batch_size=16, learning_rate=0.02, targets="votes", mixed_precision=False)
    train_cfg["early_stopping"] = {"patience": 0}  # it would keep the epoch best on the labels
    keras.utils.set_random_seed(0)
    cnn = {
        "blocks": [{"filters": 2, "convs": 1, "kernel": 3, "batch_norm": False, "pool": 4, "dropout": 0.0}]
    }
    model = models.build_cnn(
        {**cnn, "separable": False, "head_pool": "avg", "dense": [], "dense_dropout": 0.0}
    )
    history = training.train(model, dataset, train_cfg, 0, tmp_path / "backup")
    answers = predict.predict_probs(model, dataset.x_val).argmax(axis=1)
    assert (answers == 3).all(), answers
    assert (history["val_accuracy"] == 0).all()  # validation is scored against the labels, never Happy


@pytest.mark.slow
def test_workflow_trains_on_the_votes(workflow):
    """The ferplus preset's switches end to end on the built-in faces: train.targets: votes
    with data.drop_not_faces (the simulated annotators never say "not a face")."""
    config = tiny_config(train={"targets": "votes"}, data={"drop_not_faces": True})
    workflow.run("results/eval/agreement_findings.csv", config=config)  # no explanations needed
    log = workflow.path("results/logs/train_cnn.log").read_text()
    assert "targets: the FER+ vote distributions (0 faces without votes for the 7 keep their label)" in log
    quality = pd.read_csv(workflow.path("results/data/data_quality.csv")).set_index("check")["count"]
    assert quality["train_dropped_not_faces"] == 0
    findings = pd.read_csv(workflow.path("results/eval/agreement_findings.csv"))
    assert len(findings) >= 6
