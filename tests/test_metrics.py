"""Metrics, confusion matrices and most-confused pairs against hand-computed values."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from conftest import END_OF_RUN, merge
from fer_workflow import CLASS_NAMES, data
from fer_workflow.data import Dataset
from fer_workflow.evaluation import metrics, tables
from fer_workflow.models import record
from fer_workflow.plots import evaluation, save

# A tiny prediction set (classes 4..6 never occur as true labels).
Y_TRUE = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3])
Y_PRED = np.array([0, 0, 1, 1, 0, 2, 3, 3, 4, 3])


def one_hot(labels, high=0.9, n=7):
    """Probabilities that put ``high`` on ``labels``."""
    probs = np.full((len(labels), n), (1 - high) / (n - 1), dtype=np.float32)
    probs[np.arange(len(labels)), labels] = high
    return probs


def dataset(y_val, y_test, n_train=5):
    """A Dataset with the given labels (images are not used by the metrics)."""
    y_val, y_test = np.asarray(y_val, dtype=np.int8), np.asarray(y_test, dtype=np.int8)
    blank = np.zeros((0, 48, 48), np.uint8)
    return Dataset(
        x_train=np.zeros((n_train, 48, 48), np.uint8),
        y_train=np.zeros(n_train, np.int8),
        x_val=np.zeros((len(y_val), 48, 48), np.uint8),
        y_val=y_val,
        x_test=np.zeros((len(y_test), 48, 48), np.uint8) if len(y_test) else blank,
        y_test=y_test,
        test_ids=np.arange(1, len(y_test) + 1, dtype=np.int64),
        train_index=np.arange(n_train),
        val_index=np.arange(n_train, n_train + len(y_val)),
    )


def test_scores_match_hand_computed_values():
    row = metrics.scores(Y_TRUE, Y_PRED)
    assert row["accuracy"] == pytest.approx(0.7)
    # Per-class F1 over the classes present (0..4): 2/3, 1/2, 1, 6/7, 0.
    assert row["macro_f1"] == pytest.approx((2 / 3 + 1 / 2 + 1 + 6 / 7 + 0) / 5)
    assert row["recall_Angry"] == pytest.approx(2 / 3)
    assert row["recall_Disgust"] == pytest.approx(1 / 2)
    assert row["recall_Fear"] == pytest.approx(1.0)
    assert row["recall_Happy"] == pytest.approx(3 / 4)
    # No true Sad/Surprise/Neutral faces: recall undefined, not 0.
    assert (
        np.isnan(row["recall_Sad"]) and np.isnan(row["recall_Surprise"]) and np.isnan(row["recall_Neutral"])
    )
    assert [k for k in row if k.startswith("recall_")] == [f"recall_{c}" for c in CLASS_NAMES]


def test_confusion_rows_sum_to_100_and_zero_support_rows_are_zero():
    counts = metrics.confusion_counts(Y_TRUE, Y_PRED)
    assert counts.shape == (7, 7)
    assert counts[0].tolist() == [2, 1, 0, 0, 0, 0, 0]
    assert counts[3].tolist() == [0, 0, 0, 3, 1, 0, 0]
    percent = metrics.normalize_rows(counts)
    np.testing.assert_allclose(percent[:4].sum(axis=1), 100)
    np.testing.assert_allclose(percent[0, :2], [200 / 3, 100 / 3])
    assert np.all(percent[4:] == 0) and np.all(np.isfinite(percent))


def pairs_counts():
    counts = np.zeros((7, 7), dtype=int)
    counts[0, :3] = [5, 3, 2]  # support 10: 0->1 30%, 0->2 20%
    counts[1, :3] = [6, 10, 4]  # support 20: 1->0 30%, 1->2 20%
    counts[2, 2:5] = [8, 1, 1]  # support 10: 2->3 10%, 2->4 10% (same rate and count)
    counts[3, 3] = 7  # never confused
    return counts


def test_pairs_are_ranked_by_rate_then_count_then_class():
    pairs = metrics.most_confused_pairs(pairs_counts(), k=10, split="test")
    assert list(pairs.columns) == metrics.PAIR_COLUMNS
    assert list(zip(pairs["true"], pairs["predicted"], strict=True)) == [
        (1, 0),  # 30%, 6 faces
        (0, 1),  # 30%, 3 faces
        (1, 2),  # 20%, 4 faces
        (0, 2),  # 20%, 2 faces
        (2, 3),  # 10%, 1 face: tie with 2->4, lower predicted index first
        (2, 4),
    ]
    assert pairs["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose(pairs["rate"], [0.3, 0.3, 0.2, 0.2, 0.1, 0.1])
    assert pairs["support"].tolist() == [20, 10, 20, 10, 10, 10]
    assert pairs["true_name"].iloc[0] == "Disgust" and pairs["predicted_name"].iloc[0] == "Angry"
    assert set(pairs["split"]) == {"test"}
    # Only 6 pairs were ever confused: never-confused pairs (count 0) are not listed.
    assert len(pairs) == 6


def test_pairs_top_k_truncates():
    pairs = metrics.most_confused_pairs(pairs_counts(), k=2)
    assert list(zip(pairs["true"], pairs["predicted"], strict=True)) == [(1, 0), (0, 1)]
    assert metrics.most_confused_pairs(np.eye(7, dtype=int) * 5, k=3).empty


def test_pair_sentence():
    counts = np.zeros((7, 7), dtype=int)
    counts[1, 1], counts[1, 0] = 36, 12
    pair = metrics.most_confused_pairs(counts, k=1).iloc[0]
    assert tables.pair_sentence(pair) == "25% of Disgust predicted as Angry (12 of 48)"
    assert tables.format_percent(0.004) == "0.4%"


def history_frame():
    return pd.DataFrame(
        {
            "epoch": [1, 2],
            "val_accuracy": [0.5, 0.4],
            "seconds": [1.0, 2.0],
            "loss": [1, 1],
            "accuracy": [0, 0],
        }
    )


def facts(parameters):
    """A model's record as ``record.read`` gives it (the fields the table takes)."""
    stats = record.history_stats(history_frame(), restored_best=True)
    return {"model": "cnn", "parameters": parameters, "flops": 99, **stats}


def test_model_row_uses_validation_and_test_labels():
    # Validation: predictions right on 7 of 10. Test: distinct labels, predictions right on 1 of 4.
    y_test = [5, 5, 6, 6]
    ds = dataset(Y_TRUE, y_test)
    # The flipped faces' predictions are more confident, so they win the average.
    predictions = {
        "val_probs": one_hot(Y_PRED),
        "val_probs_flip": one_hot(Y_TRUE, high=0.99),
        "test_probs": one_hot([5, 0, 0, 0]),
        "test_probs_flip": one_hot([5, 5, 6, 0], high=0.99),
    }
    row = metrics.model_row("cnn", facts(1234), ds, predictions)
    assert row["model"] == "cnn" and row["parameters"] == 1234
    assert row["epochs"] == 2 and row["train_seconds"] == 3.0
    # Early stopping restored epoch 1 (the best val_accuracy): validation chose it.
    assert row["kept_epoch"] == 1 and row["epoch_chosen_on"] == "validation"
    assert "best_val_epoch" not in row  # the kept epoch says it; the record keeps it
    assert row["val_accuracy"] == pytest.approx(0.7)
    assert row["val_accuracy_flip"] == pytest.approx(1.0)
    assert row["macro_f1"] == pytest.approx((2 / 3 + 1 / 2 + 1 + 6 / 7 + 0) / 5)
    assert row["recall_Happy"] == pytest.approx(3 / 4)
    # Test accuracy is scored against y_test (not y_val): 1 of 4 plain, 3 of 4 with flip TTA.
    assert row["test_accuracy"] == pytest.approx(0.25)
    assert row["test_accuracy_flip"] == pytest.approx(0.75)
    assert list(row)[:11] == [
        "model",
        "parameters",
        "epochs",
        "kept_epoch",
        "epoch_chosen_on",
        "train_seconds",
        "val_accuracy",
        "val_accuracy_flip",
        "macro_f1",
        "recall_Angry",
        "recall_Disgust",
    ]
    # Without shifted views the shift-TTA columns are empty; they come last.
    assert list(row)[-2:] == metrics.TTA_COLUMNS
    assert np.isnan(row["val_accuracy_tta"]) and np.isnan(row["test_accuracy_tta"])


def test_model_row_scores_shift_tta_when_the_predictions_hold_it():
    ds = dataset(Y_TRUE, [5, 5, 6, 6])
    # Plain and flipped views are wrong; the shifted views (four each, so weight 8 of 10) are right.
    predictions = {
        "val_probs": one_hot(Y_PRED),
        "val_probs_flip": one_hot(Y_PRED),
        "val_probs_shift": one_hot(Y_TRUE, high=0.6),
        "val_probs_shift_flip": one_hot(Y_TRUE, high=0.6),
        "test_probs": one_hot([0, 0, 0, 0]),
        "test_probs_flip": one_hot([0, 0, 0, 0]),
        "test_probs_shift": one_hot([5, 5, 6, 0], high=0.6),
        "test_probs_shift_flip": one_hot([5, 5, 6, 0], high=0.6),
    }
    row = metrics.model_row("cnn", facts(1), ds, predictions)
    assert row["val_accuracy"] == row["val_accuracy_flip"] == pytest.approx(0.7)
    assert row["val_accuracy_tta"] == pytest.approx(1.0)
    assert row["test_accuracy_flip"] == pytest.approx(0.0)
    assert row["test_accuracy_tta"] == pytest.approx(0.75)


def test_model_row_without_test_labels_leaves_test_accuracy_empty(tmp_path):
    ds = dataset(Y_TRUE, [-1, -1, -1])
    predictions = {
        "val_probs": one_hot(Y_PRED),
        "val_probs_flip": one_hot(Y_PRED),
        "test_probs": one_hot([0, 1, 2]),
        "test_probs_flip": one_hot([0, 1, 2]),
    }
    row = metrics.model_row("dnn", facts(10), ds, predictions)
    assert np.isnan(row["test_accuracy"]) and np.isnan(row["test_accuracy_flip"])
    table = pd.DataFrame([row])
    table.to_csv(tmp_path / "m.csv", index=False)
    assert (tmp_path / "m.csv").read_text().splitlines()[1].endswith(",,")


def test_test_split_without_labels_fails_naming_the_config_key():
    ds = dataset(Y_TRUE, [-1, -1])
    predictions = {"test_probs": one_hot([0, 1]), "test_probs_flip": one_hot([0, 1])}
    with pytest.raises(ValueError, match="split must be|split is"):
        metrics.split_labels_and_probs(ds, predictions, "test")


def test_predictions_of_another_dataset_are_rejected():
    ds = dataset(Y_TRUE, [])
    with pytest.raises(ValueError, match="do not belong"):
        metrics.split_labels_and_probs(ds, {"val_probs": one_hot([0, 1])}, "validation")


def test_metrics_markdown_has_table_and_sentences():
    table = pd.DataFrame(
        [
            {
                "model": "cnn",
                "parameters": 1234,
                "train_seconds": 12.345,
                "val_accuracy": 0.5,
                "test_accuracy": np.nan,
            }
        ]
    )
    pairs = {"cnn": metrics.most_confused_pairs(pairs_counts(), k=2, split="validation")}
    text = tables.metrics_markdown(table, pairs)
    # test_accuracy has no value: left out of the page (metrics.csv keeps it)
    assert "| model | parameters | train_seconds | val_accuracy |\n" in text
    assert "| cnn | 1234 | 12.3 | 0.500 |" in text
    assert "## Most-confused pairs: cnn (validation)" in text
    assert "1. 30% of Disgust predicted as Angry (6 of 20)" in text
    assert "2. 30% of Angry predicted as Disgust (3 of 10)" in text

    page = tables.metrics_html(table, pairs)
    assert page.startswith("<html>") and page.rstrip().endswith("</html>")
    headers = re.findall(r"<th>(.*?)</th>", page)
    cells = re.findall(r"<td>(.*?)</td>", page)
    assert headers == ["model", "parameters", "train_seconds", "val_accuracy"]
    assert cells == ["cnn", "1234", "12.3", "0.500"]
    assert "<li>30% of Disgust predicted as Angry (6 of 20)</li>" in page


def test_confusion_matrix_figure(tmp_path):
    counts = metrics.confusion_counts(Y_TRUE, Y_PRED)
    fig = evaluation.confusion_matrix_figure(counts, "cnn", "validation", 0.7)
    ax = fig.axes[0]
    assert "CNN" in ax.get_title() and "validation" in ax.get_title() and "70.0%" in ax.get_title()
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 49
    assert "67%\n2" in texts and "33%\n1" in texts  # Angry row: 2 of 3 right, 1 as Disgust
    assert [t.get_text() for t in ax.get_xticklabels()] == list(CLASS_NAMES)
    assert ax.get_yticklabels()[0].get_text() == "Angry (n=3)"
    assert len(fig.axes) == 2  # the colour bar
    save(fig, tmp_path / "cm.png")
    assert (tmp_path / "cm.png").stat().st_size > 10_000


# --- the rules, on the shared tiny workflow run -------------------------------------------------


@pytest.mark.slow
def test_evaluation_outputs_of_the_tiny_run(completed_tiny_workflow):
    from fer_workflow import arrays, data

    wf = completed_tiny_workflow
    ds = data.load(wf.path("results/data/dataset.npz"))
    preds = arrays.load(wf.path("results/eval/predictions_cnn.npz"))
    assert preds["val_probs"].shape == preds["val_probs_flip"].shape == (len(ds.y_val), 7)
    assert preds["test_probs"].shape == (len(ds.y_test), 7)
    # The tiny config sets predict.tta_shift: the shifted views are stored and scored.
    assert preds["val_probs_shift"].shape == preds["val_probs_shift_flip"].shape == (len(ds.y_val), 7)
    assert preds["test_probs_shift_flip"].shape == (len(ds.y_test), 7)

    table = pd.read_csv(wf.path("results/metrics.csv"))
    assert table["val_accuracy_tta"].between(0, 1).all() and table["test_accuracy_tta"].between(0, 1).all()
    assert list(table["model"]) == ["cnn", "dnn"]
    assert list(table.columns[:9]) == [
        "model",
        "parameters",
        "epochs",
        "kept_epoch",
        "epoch_chosen_on",
        "train_seconds",
        "val_accuracy",
        "val_accuracy_flip",
        "macro_f1",
    ]
    assert [c for c in table.columns if c.startswith("recall_")] == [f"recall_{c}" for c in CLASS_NAMES]
    cnn = table.iloc[0]
    # Size and training come from the model's record, which agrees with its history.
    facts = record.read(wf.path("results/models/cnn.json"))
    assert [cnn[c] for c in ("parameters", "epochs", "kept_epoch", "epoch_chosen_on")] == [
        facts["parameters"],
        facts["epochs"],
        facts["kept_epoch"],
        facts["epoch_chosen_on"],
    ]
    assert cnn["train_seconds"] == pytest.approx(facts["train_seconds"], rel=1e-12)
    history = pd.read_csv(wf.path("results/models/cnn.history.csv"))
    assert cnn["epochs"] == len(history) <= wf.config["train"]["epochs"]
    # TINY keeps early stopping on: the kept epoch is the best validation epoch.
    assert cnn["epoch_chosen_on"] == "validation"
    assert cnn["kept_epoch"] == facts["best_val_epoch"] == history["epoch"][history["val_accuracy"].idxmax()]
    assert cnn["train_seconds"] == pytest.approx(history["seconds"].sum(), rel=1e-12)
    y_val = ds.y_val
    assert cnn["val_accuracy"] == pytest.approx(np.mean(preds["val_probs"].argmax(axis=1) == y_val))
    # Built-in data knows its test labels: test accuracy is scored against y_test.
    assert cnn["test_accuracy"] == pytest.approx(np.mean(preds["test_probs"].argmax(axis=1) == ds.y_test))
    # 95% intervals bracket the scores; the unseen-test subset is the test
    # images with no copy (exact or near) in the whole training file (raw.npz).
    assert cnn["val_accuracy_low"] <= cnn["val_accuracy"] <= cnn["val_accuracy_high"]
    assert cnn["test_macro_f1_low"] <= cnn["test_macro_f1"] <= cnn["test_macro_f1_high"]
    raw = np.load(wf.path("results/data/raw.npz"))
    unseen = ~data.copies_in(ds.x_test, raw["x_train"], wf.config["data"]["near_duplicate_max_diff"])
    assert cnn["test_unseen_images"] == unseen.sum()
    y_pred = preds["test_probs"].argmax(axis=1)
    assert cnn["test_unseen_accuracy"] == pytest.approx(np.mean(y_pred[unseen] == ds.y_test[unseen]))

    pairs = pd.read_csv(wf.path("results/eval/confused_pairs_cnn.csv"))
    assert list(pairs.columns) == metrics.PAIR_COLUMNS
    assert 0 < len(pairs) <= wf.config["evaluate"]["top_k_pairs"]
    assert (pairs["rate"].diff().dropna() <= 0).all() and set(pairs["split"]) == {"validation"}
    text = wf.path("results/metrics.md").read_text()
    assert "## Most-confused pairs: cnn (validation)" in text
    for _, pair in pairs.iterrows():
        assert tables.pair_sentence(pair) in text

    submission = pd.read_csv(wf.path("results/submission.csv"))
    assert submission["id"].tolist() == ds.test_ids.tolist()
    # TINY predicts with flips and 1-pixel shifts: ten views, the face and its
    # mirror once each, the mean of the four shifts of each four times.
    total = preds["test_probs"] + preds["test_probs_flip"]
    total = total + 4 * (preds["test_probs_shift"] + preds["test_probs_shift_flip"])
    assert submission["label"].tolist() == total.argmax(axis=1).tolist()


@pytest.mark.slow
def test_evaluation_knobs_rerun_only_their_rules(completed_tiny_workflow, tmp_path):
    config = completed_tiny_workflow.config
    wf = completed_tiny_workflow.clone(tmp_path / "wf")
    on_test = merge(config, {"evaluate": {"split": "test", "top_k_pairs": 2}})
    # top_k_pairs also feeds the annotators' pairs and the findings
    assert wf.dry_run_jobs(config=on_test) == {
        **END_OF_RUN,
        "plot_confusion_matrix": 2,
        "metrics_table": 1,
        "annotator_agreement": 1,
        "write_findings": 1,
    }
    no_tta = merge(config, {"predict": {"tta_flip": False}})
    assert wf.dry_run_jobs(config=no_tta) == {**END_OF_RUN, "write_submission": 1}

    wf.run(config=on_test)
    pairs = pd.read_csv(wf.path("results/eval/confused_pairs_dnn.csv"))
    assert set(pairs["split"]) == {"test"} and len(pairs) <= 2
    assert "## Most-confused pairs: dnn (test)" in wf.path("results/metrics.md").read_text()


# --- 95% intervals and the unseen test subset (issue 12) ----------------------------------------


@pytest.mark.parametrize(
    "correct, n, low, high",
    [
        # Hand-computed as the roots x of (p - x)² = z² x (1 - x) / n, z = 1.959964
        (7, 10, 0.396778, 0.892209),
        (0, 10, 0.0, 0.277533),
        (10, 10, 0.722467, 1.0),
        (50, 100, 0.403832, 0.596168),
    ],
)
def test_wilson_interval_matches_hand_computed_values(correct, n, low, high):
    assert metrics.wilson_interval(correct, n) == pytest.approx((low, high), abs=1e-6)


def test_wilson_interval_of_nothing_is_nan():
    assert all(np.isnan(metrics.wilson_interval(0, 0)))


def test_macro_f1_batch_matches_hand_computed_values_and_sklearn():
    # The module's 10-image example (macro-F1 over the 5 classes present), and
    # two resamples of y_true = [0, 1], y_pred = [0, 0]: images (0, 1) give
    # F1 2/3 for class 0 and 0 for class 1; images (1, 1) give 0 for both.
    assert metrics.macro_f1_batch(Y_TRUE, Y_PRED) == pytest.approx([(2 / 3 + 1 / 2 + 1 + 6 / 7 + 0) / 5])
    assert metrics.macro_f1_batch([[0, 1], [1, 1]], [[0, 0], [0, 0]]) == pytest.approx([1 / 3, 0])
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(0, 7, (50, 30)), rng.integers(0, 7, (50, 30))
    y_pred[:, :10] = y_true[:, :10]
    expected = [f1_score(t, p, average="macro", zero_division=0) for t, p in zip(y_true, y_pred, strict=True)]
    np.testing.assert_allclose(metrics.macro_f1_batch(y_true, y_pred), expected, rtol=1e-12)


def test_bootstrap_macro_f1_interval_hand_computed_cases():
    # Perfect predictions: every resample scores 1.
    assert metrics.bootstrap_macro_f1_interval([0, 1, 2, 3], [0, 1, 2, 3]) == (1.0, 1.0)
    # y_true [0, 1], y_pred [0, 0]: a resample scores 1 (image 0 twice, p = 1/4),
    # 0 (image 1 twice, 1/4) or 1/3 (both, 1/2); the 2.5% and 97.5% quantiles of
    # 1000 resamples are 0 and 1.
    idx = metrics.bootstrap_indices(2)
    values = metrics.macro_f1_batch(np.array([0, 1])[idx], np.array([0, 0])[idx])
    assert set(np.round(values, 6)) == {0.0, round(1 / 3, 6), 1.0}
    assert metrics.bootstrap_macro_f1_interval([0, 1], [0, 0]) == (0.0, 1.0)
    # Fixed seed: the same labels give the same interval; it brackets the point estimate.
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 7, 300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 7, 300))
    low, high = metrics.bootstrap_macro_f1_interval(y_true, y_pred)
    assert (low, high) == metrics.bootstrap_macro_f1_interval(y_true, y_pred)
    assert low < f1_score(y_true, y_pred, average="macro") < high
    assert 0.05 < high - low < 0.2
    assert all(np.isnan(metrics.bootstrap_macro_f1_interval([], [])))


def test_has_copy_in_compares_exact_pixels():
    reference = np.zeros((3, 48, 48), np.uint8)
    reference[1, 0, 0], reference[2, 5, 5] = 1, 9
    images = np.zeros((4, 48, 48), np.uint8)
    images[1, 0, 0] = 1  # = reference[1]
    images[2, 0, 0] = 2  # differs in one pixel
    images[3, 5, 5] = 9  # = reference[2]
    assert data.copies_in(images, reference).tolist() == [True, True, False, True]
    assert data.copies_in(images, reference[:0]).tolist() == [False] * 4


def test_model_row_reports_intervals_and_the_unseen_test_subset():
    y_test = [5, 5, 6, 6, 0]
    ds = dataset(Y_TRUE, y_test)
    predictions = {
        "val_probs": one_hot(Y_PRED),
        "val_probs_flip": one_hot(Y_PRED),
        "test_probs": one_hot([5, 0, 6, 0, 0]),  # right on test images 0, 2, 4
        "test_probs_flip": one_hot([5, 0, 6, 0, 0]),
    }
    seen = np.array([True, False, False, False, True])  # unseen: 1, 2, 3 -> 1 of 3 right
    row = metrics.model_row("cnn", facts(1), ds, predictions, test_seen=seen)
    assert list(row)[-len(metrics.INTERVAL_COLUMNS) - 2 :] == metrics.INTERVAL_COLUMNS + metrics.TTA_COLUMNS
    assert (row["val_accuracy_low"], row["val_accuracy_high"]) == pytest.approx(
        (0.396778, 0.892209), abs=1e-6
    )
    assert row["macro_f1_low"] < row["macro_f1"] < row["macro_f1_high"]
    assert row["test_accuracy"] == pytest.approx(0.6)
    assert row["test_macro_f1"] == pytest.approx(f1_score(y_test, [5, 0, 6, 0, 0], average="macro"))
    assert (row["test_accuracy_low"], row["test_accuracy_high"]) == pytest.approx(
        metrics.wilson_interval(3, 5)
    )
    assert row["test_unseen_images"] == 3 and row["test_unseen_accuracy"] == pytest.approx(1 / 3)
    assert (row["test_unseen_accuracy_low"], row["test_unseen_accuracy_high"]) == pytest.approx(
        metrics.wilson_interval(1, 3)
    )
    table = pd.DataFrame([row])
    text = tables.metrics_markdown(table, {})
    assert "Wilson" in text and "bootstrap" in text
    # Point and interval in one cell; no _low/_high columns on the page.
    assert "| cnn |" in text and "| 0.700 [0.397, 0.892] |" in text and "_low" not in text
    assert f"| 3 | 0.333 {tables.interval(*metrics.wilson_interval(1, 3))} |" in text
    # The per-class recalls in a table of their own, one column per class.
    assert f"## {tables.RECALL_HEADING}\n\n| model | Angry | Disgust |" in text
    assert "recall_" not in text
    assert "Wilson" in tables.metrics_html(table, {})
    assert "<td>0.700 [0.397, 0.892]</td>" in tables.metrics_html(table, {})
    # The epoch columns are explained under the table.
    assert "| kept_epoch | epoch_chosen_on |" in text and "| 1 | validation |" in text
    assert tables.EPOCH_NOTE in text and tables.EPOCH_NOTE in tables.metrics_html(table, {})


def test_model_row_without_test_labels_leaves_test_intervals_empty():
    ds = dataset(Y_TRUE, [-1, -1])
    predictions = {
        "val_probs": one_hot(Y_PRED),
        "val_probs_flip": one_hot(Y_PRED),
        "test_probs": one_hot([0, 1]),
        "test_probs_flip": one_hot([0, 1]),
    }
    row = metrics.model_row("dnn", facts(1), ds, predictions, test_seen=np.array([False, True]))
    assert np.isfinite(row["val_accuracy_low"]) and np.isfinite(row["macro_f1_high"])
    test_columns = [c for c in metrics.INTERVAL_COLUMNS if c.startswith("test_")]
    assert all(np.isnan(row[c]) for c in test_columns)
