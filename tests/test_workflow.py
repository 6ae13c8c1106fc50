"""The whole workflow on a tiny config: every artifact, nothing stale after a
run, and the README's "rerun one figure" sequence."""

import pandas as pd
import pytest

from conftest import END_OF_RUN, merge

pytestmark = pytest.mark.slow

ARTIFACTS = [
    "resources/synthetic/train.csv",
    "resources/synthetic/masks.npz",
    "results/data/dataset.npz",
    "results/data/class_counts.csv",
    "results/data/data_quality.csv",
    "results/figures/samples.png",
    "results/models/cnn.keras",
    "results/models/dnn.keras",
    "results/models/cnn.history.csv",
    "results/models/dnn.summary.txt",
    "results/figures/learning_curves.png",
    "results/metrics.csv",
    "results/metrics.md",
    "results/metrics.html",
    "results/figures/confusion_matrix_cnn.png",
    "results/figures/confusion_matrix_dnn.png",
    "results/eval/confused_pairs_cnn.csv",
    "results/figures/architecture_cnn.png",
    "results/figures/architecture_dnn.png",
    "results/eval/calibration_cnn.json",
    "results/figures/reliability_dnn.png",
    "results/submission.csv",
    "results/figures/saliency.png",
    "results/eval/saliency_scores.csv",
    "results/figures/filters_block2_conv1.png",
    "results/figures/filter_classes_block2_conv1.png",
    "results/eval/filter_classes_block2_conv1.csv",
    "results/eval/filter_tests_block2_conv1.csv",
    "results/figures/activations_block1_conv1.png",
    "results/findings.csv",
    "results/findings.md",
    "results/findings.html",
    "results/eval/faithfulness_faces.npz",
    # the built-in faces' simulated FER+ votes, and the annotator analysis
    "resources/synthetic/votes.csv",
    "results/figures/annotator_confusion.png",
    "results/figures/agreement_pairs.png",
    "results/eval/annotator_confusion.csv",
    "results/eval/agreement_pairs.csv",
    "results/eval/agreement_accuracy.csv",
    "results/eval/agreement_findings.csv",
    # the run's own timings, summarised for the report
    "results/timings.csv",
    "results/figures/timings.png",
]


def test_every_artifact_is_written(completed_tiny_workflow):
    wf = completed_tiny_workflow
    missing = [a for a in ARTIFACTS if not wf.path(a).is_file() or wf.path(a).stat().st_size == 0]
    assert not missing
    for rule_log in wf.path("results/logs").iterdir():
        assert rule_log.suffix == ".log"
    metrics = pd.read_csv(wf.path("results/metrics.csv"))
    assert list(metrics["model"]) == ["cnn", "dnn"]
    findings = pd.read_csv(wf.path("results/eval/agreement_findings.csv"))
    assert list(findings.columns) == [
        "claim_id", "claim", "split", "chosen_on_split", "estimate", "low", "high",
        "test", "statistic", "p", "n", "verdict", "finding",
    ]  # fmt: skip
    assert set(findings["verdict"]) <= {"supported", "not supported", "inconclusive"}
    quality = pd.read_csv(wf.path("results/data/data_quality.csv")).set_index("check")["count"]
    assert quality["train_votes_not_face"] == 0 and quality["train_dropped_not_faces"] == 0
    submission = pd.read_csv(wf.path("results/submission.csv"))
    assert list(submission.columns) == ["id", "label"]
    assert len(submission) == wf.config["synthetic"]["n_test"]


def test_findings_state_every_claim_with_its_test(completed_tiny_workflow):
    findings = pd.read_csv(completed_tiny_workflow.path("results/findings.csv"))
    ids = set(findings["claim_id"])
    # the CNN against the DNN on both labelled splits; every method against random on both curves
    assert {"cnn_beats_dnn_validation", "cnn_beats_dnn_test"} <= ids
    for method in completed_tiny_workflow.config["saliency"]["faithfulness"]["methods"]:
        assert {f"{method}_deletion_beats_random", f"{method}_insertion_beats_random"} <= ids
        assert f"{method}_passes_sanity" in ids
    assert any(i.startswith("cnn_confuses_") for i in ids)
    assert set(findings["verdict"]) <= {"supported", "not supported", "inconclusive"}
    # The filter-image claims are measured on the filter images, not on a split of faces.
    assert {"validation", "test"} <= set(findings["split"]) <= {"validation", "test", "filter images"}
    assert any(i.startswith("filter_classes_differ_from_null_") for i in ids)
    assert findings["finding"].str.len().min() > 20
    tested = findings[findings["verdict"] != "inconclusive"]
    assert tested["estimate"].notna().all() and (tested["n"] > 0).all()
    # the wording follows the verdict
    for row in findings.itertuples():
        text = row.finding.lower()
        negative = "not shown" in text or "no difference" in text or "opposite" in text
        assert negative == (row.verdict == "not supported"), row.finding
    # the annotators' claims (simulated votes of the built-in faces) are findings too
    agreement = pd.read_csv(completed_tiny_workflow.path("results/eval/agreement_findings.csv"))
    assert len(agreement) and set(agreement["claim_id"]) <= ids
    markdown = completed_tiny_workflow.path("results/findings.md").read_text()
    assert f"{len(findings)} claims:" in markdown


def test_nothing_to_do_after_a_run(completed_tiny_workflow):
    wf = completed_tiny_workflow
    proc = wf.run("-n", config=wf.config)
    assert "Nothing to be done" in proc.output, proc.output


def summary_status(wf, config):
    """{output file: (status, plan)} from `snakemake --summary`."""
    rows = [line.split("\t") for line in wf.run("--summary", config=config).stdout.splitlines()]
    header = rows[0]
    status, plan = header.index("status"), header.index("plan")
    return {row[0]: (row[status], row[plan]) for row in rows[1:] if len(row) == len(header)}


def test_rerun_one_figure(completed_tiny_workflow, tmp_path):
    """The README's sequence: change one figure's parameter, see what is stale,
    preview, rerun it alone, force one target."""
    wf = completed_tiny_workflow.clone(tmp_path / "wf")
    changed = merge(wf.config, {"samples": {"per_class": 3}})

    stale = {f: s for f, s in summary_status(wf, changed).items() if s != ("ok", "no update")}
    # ... and the timings summary, which follows every rerun
    timings = {f: stale.pop(f, None) for f in ("results/timings.csv", "results/figures/timings.png")}
    assert stale == {"results/figures/samples.png": ("params changed", "update pending")}
    assert all(plan == "update pending" for _, plan in timings.values()), timings

    preview = wf.run("-n", config=changed)
    assert "Params have changed since last execution" in preview.output
    assert wf.dry_run_jobs(config=changed) == {**END_OF_RUN, "plot_samples": 1}

    before = wf.path("results/models/cnn.keras").stat().st_mtime_ns
    wf.run(config=changed)
    assert wf.path("results/models/cnn.keras").stat().st_mtime_ns == before
    assert "Nothing to be done" in wf.run("-n", config=changed).output
    assert set(summary_status(wf, changed).values()) == {("ok", "no update")}

    forced = wf.dry_run_jobs("--forcerun", "plot_learning_curves", config=changed)
    assert forced == {**END_OF_RUN, "plot_learning_curves": 1}
