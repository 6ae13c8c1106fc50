"""The annotator analysis on built cases with known answers, and on the built-in
faces' simulated annotators: the analysis recovers the rates they were given."""

import numpy as np
import pytest
from scipy import stats as sps

from fer_workflow.data import readers, synthetic, votes
from fer_workflow.evaluation import metrics
from fer_workflow.findings import agreement
from fer_workflow.plots import agreement as agreement_plots

ANGRY, DISGUST, FEAR, HAPPY, SAD, SURPRISE, NEUTRAL = range(7)


def unanimous(classes, k=10, rest=None):
    """Votes (n, 10): ``k`` annotators for each face's class (a FER2013 class), the
    other 10 - k for ``rest`` (a FER2013 class per face, or None: none)."""
    v = np.zeros((len(classes), 10), np.int32)
    v[np.arange(len(classes)), votes.COLUMN_OF_CLASS[classes]] = k
    if rest is not None:
        v[np.arange(len(classes)), votes.COLUMN_OF_CLASS[rest]] += 10 - k
    return v


def test_annotator_confusion_counts_label_against_plurality():
    labels = np.array([SAD, SAD, SAD, FEAR, FEAR, HAPPY])
    plural = np.array([SAD, NEUTRAL, NEUTRAL, FEAR, SAD, HAPPY])
    v = unanimous(plural, k=6, rest=labels)
    v[5] = 0
    v[5, votes.NOT_FACE] = 10  # not a face: left out of the matrix
    counts = agreement.confusion(labels, v)
    assert counts[SAD, SAD] == 1 and counts[SAD, NEUTRAL] == 2 and counts[FEAR, SAD] == 1
    assert counts.sum() == 5 and counts[HAPPY].sum() == 0
    table = agreement.confusion_table(labels, v, "validation")
    sad = table[table["label"] == SAD].set_index("plurality")
    assert sad.loc["Neutral", "rate"] == pytest.approx(2 / 3)
    happy = table[table["label"] == HAPPY].set_index("plurality")
    assert happy.loc["NF", "count"] == 1 and happy.loc["NF", "share_of_label"] == 1.0
    assert np.isnan(happy.loc["Happy", "rate"])  # no face of Happy has a plurality among the 7


def test_newcombe_interval_matches_the_published_example():
    """Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 - 48/80, method 10."""
    low, high = agreement.newcombe_interval(56, 70, 48, 80)
    assert low == pytest.approx(0.0524, abs=1e-4) and high == pytest.approx(0.3339, abs=1e-4)
    assert np.isnan(agreement.newcombe_interval(1, 0, 1, 2)[0])


def built_pair_case():
    """20 Fear faces: 8 predicted Sad, of which 6 have at least 3 votes for Sad (4 have 5);
    12 predicted Fear, of which 1 has 3 votes for Sad. 10 Happy faces, all right."""
    y_true = np.array([FEAR] * 20 + [HAPPY] * 10)
    y_pred = np.array([SAD] * 8 + [FEAR] * 12 + [HAPPY] * 10)
    sad_votes = np.array([5, 5, 5, 5, 3, 3, 1, 0] + [3] + [0] * 11 + [0] * 10)
    v = unanimous(y_true, k=10)
    v[:, votes.COLUMN_OF_CLASS[FEAR]] -= sad_votes
    v[:, votes.COLUMN_OF_CLASS[SAD]] += sad_votes
    return y_true, y_pred, v


def test_pair_row_known_answers():
    y_true, y_pred, v = built_pair_case()
    row = agreement.pair_row(y_true, y_pred, v, FEAR, SAD, 3)
    assert (row["confused_faces"], row["confused_with_votes"]) == (8, 6)
    assert (row["correct_faces"], row["correct_with_votes"]) == (12, 1)
    assert row["confused_share"] == pytest.approx(0.75) and row["correct_share"] == pytest.approx(1 / 12)
    assert (row["confused_low"], row["confused_high"]) == pytest.approx(metrics.wilson_interval(6, 8))
    assert row["difference"] == pytest.approx(0.75 - 1 / 12)
    odds, p = sps.fisher_exact([[6, 2], [1, 11]])
    assert row["p"] == pytest.approx(p) and row["odds_ratio"] == pytest.approx(odds)
    at5 = agreement.pair_row(y_true, y_pred, v, FEAR, SAD, 5)
    assert (at5["confused_with_votes"], at5["correct_with_votes"]) == (4, 0)
    at1 = agreement.pair_row(y_true, y_pred, v, FEAR, SAD, 1)
    assert at1["confused_with_votes"] == 7


def test_pair_table_and_its_finding():
    y_true, y_pred, v = built_pair_case()
    pairs = agreement.pair_table(y_true, y_pred, v, top_k=5, model="cnn")
    assert list(pairs.columns) == agreement.PAIR_COLUMNS
    assert pairs["k"].tolist() == [1, 3, 5]  # one confused pair
    assert pairs["p_holm"].tolist() == pytest.approx(pairs["p"].tolist())  # Holm over one pair
    rows = agreement.pair_findings(pairs, "cnn")
    assert len(rows) == 1 and rows[0]["verdict"] == "supported"
    assert rows[0]["finding"].startswith("The CNN's Fear-as-Sad errors fall on faces people also read as Sad")
    assert rows[0]["n"] == 20 and rows[0]["chosen_on_split"] == "see findings"


def test_a_confusion_people_do_not_share_is_not_supported():
    """The model calls Fear faces Sad where no annotator does."""
    y_true = np.array([FEAR] * 40)
    y_pred = np.array([SAD] * 10 + [FEAR] * 30)
    v = unanimous(y_true, k=7, rest=np.array([SURPRISE] * 40))
    pairs = agreement.pair_table(y_true, y_pred, v, top_k=3, model="cnn")
    (row,) = agreement.pair_findings(pairs, "cnn")
    assert row["verdict"] == "not supported" and row["finding"].startswith("No difference found")
    assert row["estimate"] == 0


def test_accuracy_against_labels_plurality_and_plausible_answers():
    # 10 faces labelled Sad; the annotators say Neutral (6 votes) on 4 of them, Sad on 5,
    # and tie on one. The model answers Neutral on the 4 and on one Sad face.
    y_true = np.array([SAD] * 10)
    plural = np.array([NEUTRAL] * 4 + [SAD] * 6)
    v = unanimous(plural, k=6, rest=np.array([SAD] * 4 + [FEAR] * 6))
    v[9] = 0
    v[9, votes.COLUMN_OF_CLASS[[SAD, NEUTRAL]]] = 5  # a tie: no plurality
    y_pred = np.array([NEUTRAL] * 4 + [NEUTRAL] + [SAD] * 5)
    table = agreement.accuracy_table(y_true, {"cnn": y_pred}, v).set_index(["rater", "measure"])
    assert table.loc[("cnn", "labels"), ["count", "faces"]].tolist() == [5, 10]
    assert table.loc[("cnn", "labels_on_plurality_faces"), ["count", "faces"]].tolist() == [4, 9]
    assert table.loc[("cnn", "plurality"), ["count", "faces"]].tolist() == [8, 9]
    # plausible: Neutral has 6 votes on faces 0-3, 0 on face 4; Sad >= 3 on faces 5-9
    assert table.loc[("cnn", "plausible"), ["count", "faces"]].tolist() == [9, 10]
    assert table.loc[("fer2013_labels", "plurality"), ["count", "faces"]].tolist() == [5, 9]
    assert table.loc[("fer2013_labels", "plausible"), "count"] == 10  # Sad has 4, 6 or 5 votes
    low, high = metrics.wilson_interval(8, 9)
    assert table.loc[("cnn", "plurality"), ["low", "high"]].tolist() == pytest.approx([low, high])


def test_model_findings_verdicts_follow_the_tests():
    """A model that answers the plurality everywhere: it agrees more with the plurality than
    with the labels, and is above (not below) the labels' own agreement."""
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 7, 300)
    plural = np.where(rng.random(300) < 0.3, (y_true + 1) % 7, y_true)
    v = unanimous(plural, k=7, rest=y_true)
    rows = {r["claim_id"]: r for r in agreement.model_findings(y_true, plural, v, "cnn")}
    assert rows["cnn_agrees_more_with_plurality_than_labels"]["verdict"] == "supported"
    ceiling = rows["cnn_below_label_ceiling"]
    assert ceiling["verdict"] == "not supported" and ceiling["finding"].startswith("The opposite holds")
    assert rows["cnn_plausible_beyond_labels"]["verdict"] == "supported"
    for row in rows.values():
        assert row["split"] == "validation" and row["p"] < 1e-6 and row["n"] == 300


def test_findings_table_has_the_findings_columns():
    y_true, y_pred, v = built_pair_case()
    pairs = agreement.pair_table(y_true, y_pred, v, top_k=5, model="cnn")
    table = agreement.findings(pairs, y_true, {"cnn": y_pred, "dnn": y_true}, v)
    assert list(table.columns) == [
        "claim_id", "claim", "split", "chosen_on_split", "estimate", "low", "high",
        "test", "statistic", "p", "n", "verdict", "finding",
    ]  # fmt: skip
    assert set(table["verdict"]) <= {"supported", "not supported", "inconclusive"}
    assert table["claim_id"].is_unique and len(table) == 3 + 3 + 1


def test_figures(tmp_path):
    y_true, y_pred, v = built_pair_case()
    pairs = agreement.pair_table(y_true, y_pred, v, top_k=5, model="cnn")
    fig = agreement_plots.confusion_figure(
        agreement.confusion(y_true, v), metrics.confusion_counts(y_true, y_pred), "cnn", "validation"
    )
    assert len(fig.axes) == 3  # two matrices and their colour bar
    agreement_plots.pairs_figure(pairs, "cnn").savefig(tmp_path / "pairs.png")


# ---- the built-in faces' simulated annotators --------------------------------------------------


@pytest.fixture(scope="module")
def synthetic_votes(tmp_path_factory):
    """The built-in data with its simulated FER+ file, read back through the reader."""
    folder = tmp_path_factory.mktemp("synthetic")
    paths = [folder / name for name in ("train.csv", "test.csv", "test_labels.csv", "masks.npz", "votes.csv")]
    synthetic.write_all(3000, 300, 2013, *paths)
    return readers.read("synthetic", paths[0], paths[1], paths[2], votes=paths[4])


def test_votes_file_is_in_the_ferplus_form(synthetic_votes):
    raw = synthetic_votes
    assert raw.votes_train.shape == (3000, 10) and raw.votes_test.shape == (300, 10)
    assert (raw.votes_train.sum(axis=1) == synthetic.ANNOTATORS).all()
    assert (raw.votes_train[:, votes.NOT_FACE] == 0).all()


def test_analysis_recovers_the_simulated_confusion_rates(synthetic_votes):
    """For each designed pair (i read as j at rate r): the share of class i's faces whose
    plurality is j is r within its 95% Wilson interval; other off-diagonal cells stay small."""
    raw = synthetic_votes
    counts = agreement.confusion(raw.y_train, raw.votes_train)
    support = counts.sum(axis=1)
    for (i, j), rate in synthetic.VOTE_CONFUSIONS.items():
        low, high = metrics.wilson_interval(counts[i, j], support[i])
        assert low <= rate <= high, (i, j, rate, counts[i, j] / support[i], low, high)
    designed = np.zeros((7, 7), bool)
    for i, j in synthetic.VOTE_CONFUSIONS:
        designed[i, j] = True
    off = counts / support[:, None]
    np.fill_diagonal(off, 0)
    assert off[~designed].max() < 0.02
    test_counts = agreement.confusion(raw.y_test, raw.votes_test)
    sad_neutral = synthetic.VOTE_CONFUSIONS[(SAD, NEUTRAL)]
    low, high = metrics.wilson_interval(test_counts[SAD, NEUTRAL], test_counts[SAD].sum())
    assert low <= sad_neutral <= high  # the test faces' votes too


def test_faces_read_as_the_other_class_are_the_nearest_to_it():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(7), 200)
    params = synthetic.sample_params(labels, rng)
    read = synthetic.readings(labels, params)
    sad = labels == SAD
    closer = synthetic.expression_distance(params, SAD) - synthetic.expression_distance(params, NEUTRAL)
    as_neutral = closer[sad & (read == NEUTRAL)]
    as_sad = closer[sad & (read == SAD)]
    assert as_neutral.min() >= np.median(as_sad)  # read as Neutral: the most Neutral-like Sad faces
    assert (read[sad] == NEUTRAL).sum() == round(synthetic.VOTE_CONFUSIONS[(SAD, NEUTRAL)] * 200)
