"""The seed ensemble of CNNs: the mean of its members' probabilities, its
table against the run's CNN, the config checks and the rule that makes it."""

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, default_config, merge, parse_job_counts, tiny_config
from fer_workflow import arrays, config_check, data, findings
from fer_workflow.config_check import ConfigError
from fer_workflow.evaluation import ensemble, predict, tables


def toy_dataset(y_val, y_test):
    n_val, n_test = len(y_val), len(y_test)
    empty = np.zeros((0, 48, 48), np.uint8)
    return data.Dataset(
        x_train=empty,
        y_train=np.zeros(0, int),
        x_val=np.zeros((n_val, 48, 48), np.uint8),
        y_val=np.asarray(y_val),
        x_test=np.zeros((n_test, 48, 48), np.uint8),
        y_test=np.asarray(y_test),
        test_ids=np.arange(n_test),
        train_index=np.zeros(0, int),
        val_index=np.arange(n_val),
    )


def one_hot_probs(labels, confidence=0.9):
    probs = np.full((len(labels), 7), (1 - confidence) / 6, np.float32)
    probs[np.arange(len(labels)), labels] = confidence
    return probs


def member(val_labels, test_labels, flip_labels=None):
    """A member's predictions contract (plain and flipped views per split)."""
    flip_labels = val_labels if flip_labels is None else flip_labels
    return {
        "val_probs": one_hot_probs(val_labels),
        "val_probs_flip": one_hot_probs(flip_labels),
        "test_probs": one_hot_probs(test_labels),
        "test_probs_flip": one_hot_probs(test_labels),
    }


def test_average_is_the_mean_of_every_array():
    rng = np.random.default_rng(0)
    members = [{"val_probs": rng.random((5, 7)), "test_probs": rng.random((3, 7))} for _ in range(3)]
    out = ensemble.average(members)
    assert sorted(out) == ["test_probs", "val_probs"]
    np.testing.assert_allclose(
        out["val_probs"],
        (members[0]["val_probs"] + members[1]["val_probs"] + members[2]["val_probs"]) / 3,
        rtol=1e-6,
    )
    assert out["val_probs"].dtype == np.float32


def test_average_refuses_members_predicted_differently():
    a = {"val_probs": np.zeros((5, 7)), "val_probs_shift": np.zeros((5, 7))}
    b = {"val_probs": np.zeros((5, 7))}
    with pytest.raises(ValueError, match=r"member 1 holds the arrays \['val_probs'\].*tta_shift"):
        ensemble.average([a, b])
    with pytest.raises(ValueError, match="member 1's val_probs has shape"):
        ensemble.average([{"val_probs": np.zeros((5, 7))}, {"val_probs": np.zeros((4, 7))}])
    with pytest.raises(ValueError, match="at least one member"):
        ensemble.average([])


def test_majority_of_three_members_corrects_each_one():
    """Three members each wrong on a different third of the faces: the mean of
    their probabilities is right on every face, and the table says the
    ensemble wins those faces from the first member (McNemar)."""
    y = np.repeat(np.arange(6), 10)  # 60 faces
    wrong = [np.arange(60) % 3 == k for k in range(3)]
    members = [member(np.where(w, (y + 1) % 7, y), y) for w in wrong]
    table = ensemble.table(toy_dataset(y, y), ["a", "b", "c"], members, tta_flip=True)
    val = table[table["split"] == "validation"].set_index("predictions")
    assert list(val.index) == ["a", "b", "c", "ensemble of 3"]
    assert val.loc["a", "accuracy"] == pytest.approx(40 / 60)
    row = val.loc["ensemble of 3"]
    assert row["accuracy"] == 1.0 and row["members"] == 3
    assert row["vs_first_wins"] == 20 and row["vs_first_losses"] == 0
    assert row["vs_first_gain"] == pytest.approx(20 / 60)
    assert row["vs_first_p"] < 1e-5
    # b against a: each wins 20 faces the other loses, so no difference.
    assert val.loc["b", "vs_first_gain"] == 0 and val.loc["b", "vs_first_p"] == 1.0
    # The test split has labels here, so it has its rows too.
    assert set(table["split"]) == {"validation", "test"}
    # Counts are integers on the Markdown page, empty on the first member's row.
    lines = tables.markdown_table(table).splitlines()
    assert lines[2].endswith("| 60 |  |  |  |  |  |  |") and "| 20 | 0 |" in lines[5]


def test_table_uses_the_configured_tta():
    """A member right on the mirrored faces only: flip TTA decides the row."""
    y = np.zeros(10, int)
    plain_wrong = member(np.ones(10, int), y, flip_labels=y)
    plain_wrong["val_probs_flip"] = one_hot_probs(y, confidence=0.99)
    dataset = toy_dataset(y, np.full(4, -1))
    no_tta = ensemble.table(dataset, ["m"], [plain_wrong], tta_flip=False)
    with_tta = ensemble.table(dataset, ["m"], [plain_wrong], tta_flip=True)
    assert no_tta["accuracy"].iloc[0] == 0.0 and with_tta["accuracy"].iloc[0] == 1.0
    assert set(with_tta["split"]) == {"validation"}  # test labels unknown (-1)


def checked(overrides):
    config = merge(default_config(), overrides)
    return config_check.check(config, str(REPO / "config.schema.yaml"))


def test_config_ensemble_needs_seeds_and_not_the_runs_own():
    with pytest.raises(ConfigError, match=r"predict.model: 'ensemble' needs ensemble.seeds"):
        checked({"predict": {"model": "ensemble"}})
    with pytest.raises(ConfigError, match=r"ensemble.seeds: 42 is the run's own seed"):
        checked({"seed": 42, "ensemble": {"seeds": [42, 1]}})
    with pytest.raises(ConfigError, match="ensemble"):
        checked({"ensemble": {"seeds": [1, 1]}})
    checked({"predict": {"model": "ensemble"}, "ensemble": {"seeds": [1, 2]}})


def test_dry_run_trains_one_more_cnn_per_seed_and_shares_replicates(workflow):
    config = tiny_config(ensemble={"seeds": [3, 7]}, predict={"model": "ensemble"})
    jobs = workflow.dry_run_jobs(config=config)
    assert jobs["train_replicate"] == 2 and jobs["predict_replicate"] == 2  # CNNs only
    assert jobs["predict_ensemble"] == 1 and jobs["train_model"] == 2
    out = workflow.run("-n", "-p", "results/submission.csv", config=config)
    submission_job = out.output.split("rule write_submission:", 1)[1].split("\n\n", 1)[0]
    assert "results/eval/predictions_ensemble.npz" in submission_job
    # A seed in both lists is trained once: replicates train cnn and dnn for 3, the ensemble reuses cnn 3.
    jobs = workflow.dry_run_jobs(config=merge(config, {"replicates": {"seeds": [3]}}))
    assert jobs["train_replicate"] == 3
    # Without ensemble seeds nothing of it runs.
    assert "predict_ensemble" not in workflow.dry_run_jobs(config=tiny_config())


@pytest.mark.slow
def test_tiny_ensemble_run_writes_its_table_and_submission(completed_tiny_workflow, tmp_path):
    """On a copy of the shared tiny run: one more CNN (seed 1) trains, and
    the ensemble's table and submission are written from the two."""
    workflow = completed_tiny_workflow.clone(tmp_path / "wf")
    config = merge(workflow.config, {"ensemble": {"seeds": [1]}, "predict": {"model": "ensemble"}})
    proc = workflow.run("results/eval/ensemble.csv", "results/submission.csv", config=config)
    # The run's own CNN is reused: only the new member and what reads it run.
    assert set(parse_job_counts(proc.output)) - {"all"} == {
        "train_replicate", "predict_replicate", "predict_ensemble", "write_submission",
    }  # fmt: skip
    table = pd.read_csv(workflow.path("results/eval/ensemble.csv"))
    val = table[table["split"] == "validation"]
    assert list(val["predictions"]) == ["cnn seed 42", "cnn seed 1", "ensemble of 2"]
    assert val["accuracy"].between(0, 1).all() and (val["low"] <= val["accuracy"]).all()
    members = [
        arrays.load(workflow.path(p))
        for p in ("results/eval/predictions_cnn.npz", "results/replicates/predictions_cnn_seed1.npz")
    ]
    mean = arrays.load(workflow.path("results/eval/predictions_ensemble.npz"))
    np.testing.assert_allclose(
        mean["test_probs"], (members[0]["test_probs"] + members[1]["test_probs"]) / 2, rtol=1e-5, atol=1e-7
    )
    dataset = data.load(workflow.path("results/data/dataset.npz"))
    expected = predict.submission(dataset, mean, tta_flip=True, tta_shift=True)
    written = pd.read_csv(workflow.path("results/submission.csv"))
    assert (written["label"].to_numpy() == expected["label"].to_numpy()).all()
    assert "ensemble of 2" in workflow.path("results/eval/ensemble.md").read_text()


def test_findings_state_the_ensemble_claim_from_its_table():
    """The claim is read from predict_ensemble's table (its McNemar test is
    made there): supported when the ensemble wins faces, not when it equals
    the CNN, inconclusive with the reason when the run has no ensemble."""
    y = np.repeat(np.arange(6), 10)
    wrong = [np.arange(60) % 3 == k for k in range(3)]
    members = [member(np.where(w, (y + 1) % 7, y), y) for w in wrong]
    dataset = toy_dataset(y, np.full(4, -1))
    row = findings.ensemble_comparison(ensemble.table(dataset, ["a", "b", "c"], members), "nothing")
    assert row["verdict"] == "supported" and row["n"] == 60
    assert row["estimate"] == pytest.approx(20 / 60) and row["statistic"] == "20 vs 0 discordant"
    assert row["finding"].startswith("The ensemble of 3 is more accurate than the run's CNN")
    same = findings.ensemble_comparison(ensemble.table(dataset, ["a", "a"], [members[0]] * 2), "nothing")
    assert same["verdict"] == "not supported" and same["finding"].startswith("No gain found")
    none = findings.ensemble_comparison(None, "nothing")
    assert none["verdict"] == "inconclusive" and "ensemble.seeds is empty" in none["finding"]


def test_write_findings_reads_the_ensemble_table(workflow):
    config = tiny_config(ensemble={"seeds": [3]})
    out = workflow.run("-n", "-p", "results/findings.csv", config=config)
    job = out.output.split("rule write_findings:", 1)[1].split("\n\n", 1)[0]
    assert "results/eval/ensemble.csv" in job
