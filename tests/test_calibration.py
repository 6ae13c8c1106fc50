"""Temperature scaling: the fitted temperature undoes a deliberate over- (and
under-) confidence and lowers the ECE, never changes a label; the ECE is the
weighted mean gap per bin; the workflow's calibration record and the metrics
table's columns agree with the predictions."""

import json

import numpy as np
import pandas as pd
import pytest

from fer_workflow import arrays, data
from fer_workflow.evaluation import calibration, tables
from fer_workflow.plots import evaluation


def calibrated_model(n=4000, seed=0):
    """Logits whose softmax is calibrated by construction: each label is drawn from it."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (n, 7))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(7, p=p) for p in probs])
    return logits, labels


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("sharpness", [4.0, 0.5])
def test_fitted_temperature_undoes_over_and_under_confidence(sharpness):
    logits, labels = calibrated_model()
    # sharpness 4: a deliberately over-confident model (logits x 4); 0.5: under-confident.
    probs = softmax(sharpness * logits)
    t = calibration.fit_temperature(probs, labels)
    assert t == pytest.approx(sharpness, rel=0.1)
    calibrated = calibration.apply_temperature(probs, t)
    before, after = calibration.ece(probs, labels), calibration.ece(calibrated, labels)
    assert after < before / 3 and after < 0.03, (before, after)
    assert calibration.nll(calibrated, labels) < calibration.nll(probs, labels)
    np.testing.assert_array_equal(calibrated.argmax(axis=1), probs.argmax(axis=1))  # labels unchanged
    np.testing.assert_allclose(calibrated.sum(axis=1), 1, atol=1e-12)


def test_temperature_one_is_the_identity_and_float32_zeros_stay_finite():
    probs = np.array([[1.0, 0, 0, 0, 0, 0, 0], [0.2, 0.3, 0.5, 0, 0, 0, 0]], np.float32)
    out = calibration.apply_temperature(probs, 1.0)
    np.testing.assert_allclose(out, probs, atol=1e-7)
    assert np.isfinite(calibration.apply_temperature(probs, 3.0)).all()


def test_ece_is_the_weighted_gap_per_bin():
    # Two faces in the bin (0.8667, 0.9333] (confidence 0.9, one right), two in (0.5333, 0.6] (0.6, both right).
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.4, 0.6]])
    labels = np.array([0, 1, 0, 1])
    probs = np.pad(probs, ((0, 0), (0, 5)))
    assert calibration.ece(probs, labels) == pytest.approx(0.5 * abs(0.5 - 0.9) + 0.5 * abs(1.0 - 0.6))
    bins = calibration.reliability_bins(probs, labels)
    assert bins["count"].sum() == 4 and bins["count"][13] == 2 and bins["count"][8] == 2


def test_calibrate_record_without_test_labels_and_bad_temperatures(tmp_path):
    logits, labels = calibrated_model(500)
    record = calibration.calibrate(softmax(2 * logits), labels, softmax(2 * logits), -np.ones(500))
    assert record["test_faces"] == 0 and record["test_ece"] is None
    columns = calibration.metric_columns(record)
    assert list(columns) == calibration.METRIC_COLUMNS and np.isnan(columns["test_ece"])
    calibration.write(record, tmp_path / "c.json")
    assert calibration.read(tmp_path / "c.json")["temperature"] == record["temperature"]
    (tmp_path / "bad.json").write_text(json.dumps({"temperature": -1}))
    with pytest.raises(ValueError, match="bad.json.*positive"):
        calibration.read(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="empty split"):
        calibration.fit_temperature(np.zeros((0, 7)), [])


def test_metrics_markdown_puts_calibration_in_its_own_table():
    table = pd.DataFrame(
        [
            {
                "model": "cnn",
                "val_accuracy": 0.6,
                "temperature": 1.5,
                "val_ece": 0.1,
                "val_ece_calibrated": 0.02,
                "test_ece": float("nan"),
                "test_ece_calibrated": float("nan"),
            }
        ]
    )
    text = tables.metrics_markdown(table, {})
    main, calibrated = text.split("## Calibration")
    assert "temperature" not in main and "val_accuracy" in main
    assert "| cnn | 1.500 | 0.100 | 0.020 |  |  |" in calibrated
    html = tables.metrics_html(table, {})
    assert "<h3>Calibration</h3>" in html


def test_reliability_figure_has_a_panel_per_split_and_state():
    logits, labels = calibrated_model(300)
    probs = softmax(3 * logits)
    panels = [
        (name, calibration.reliability_bins(p, labels) | {"ece": calibration.ece(p, labels)})
        for name, p in (("before", probs), ("after", calibration.apply_temperature(probs, 3)))
    ]
    fig = evaluation.reliability_figure(panels, "cnn", 3.0)
    assert len(fig.axes) == 4
    assert "ECE" in fig.axes[0].get_title()


@pytest.mark.slow
def test_workflow_calibration_and_metrics_columns(completed_tiny_workflow):
    wf = completed_tiny_workflow
    ds = data.load(wf.path("results/data/dataset.npz"))
    table = pd.read_csv(wf.path("results/metrics.csv")).set_index("model")
    assert list(table.columns[-len(calibration.METRIC_COLUMNS) :]) == calibration.METRIC_COLUMNS
    for model in ("cnn", "dnn"):
        record = calibration.read(wf.path(f"results/eval/calibration_{model}.json"))
        preds = arrays.load(wf.path(f"results/eval/predictions_{model}.npz"))
        assert record["temperature"] == pytest.approx(
            calibration.fit_temperature(preds["val_probs"], ds.y_val)
        )
        assert table.loc[model, "val_ece"] == pytest.approx(calibration.ece(preds["val_probs"], ds.y_val))
        # The built-in data has test labels: the test ECE is measured too.
        assert table.loc[model, "test_ece_calibrated"] == pytest.approx(record["test_ece_calibrated"])
        assert wf.path(f"results/figures/reliability_{model}.png").stat().st_size > 0
    assert "## Calibration" in wf.path("results/metrics.md").read_text()


def test_a_malformed_record_beside_a_model_is_a_warning(tmp_path, caplog, capsys):
    """A record beside a model that is not JSON: a WARNING in the log (and so
    in the terminal, where the Snakefile resolves the model) and in the
    warning the classify jobs log, never a silent uncalibrated INFO."""
    import logging

    from fer_workflow.use import shipped

    model = tmp_path / "mine.keras"
    model.write_bytes(b"not read here")
    (tmp_path / "mine.json").write_text('{"temperature": 1.3,')  # cut off
    handler = logging.StreamHandler()  # what runtime.setup and Snakemake's logger do: records to stderr
    logging.getLogger().addHandler(handler)
    try:
        with caplog.at_level(logging.INFO):
            choice = shipped.resolve({"model": str(model)}, "results/models/cnn.keras", "x.json", "fer2013")
    finally:
        logging.getLogger().removeHandler(handler)
    assert choice["calibration"] is None and choice["data"] == shipped.UNKNOWN
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "mine.json is not a readable JSON record" in warnings[0].getMessage()
    assert "mine.json is not a readable JSON record" in capsys.readouterr().err
    sentence = shipped.warning(choice["data"], choice["description"], choice["problem"])
    assert sentence.startswith("WARNING: ") and "uncalibrated" in sentence
    # a readable record: no warning
    (tmp_path / "mine.json").write_text(json.dumps({"temperature": 1.3}))
    caplog.clear()
    with caplog.at_level(logging.INFO):
        choice = shipped.resolve({"model": str(model)}, "results/models/cnn.keras", "x.json", "fer2013")
    assert choice["problem"] == "" and not [r for r in caplog.records if r.levelno >= logging.WARNING]
