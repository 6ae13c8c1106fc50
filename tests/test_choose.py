"""Choosing faces (data/choose.py): the one home of every seeded choice of faces."""

import numpy as np

from fer_workflow.data import choose


def test_spread_over_classes_spreads_over_classes_and_is_seeded():
    labels = np.repeat(np.arange(7), [50, 3, 20, 60, 30, 25, 40])
    chosen = choose.spread_over_classes(labels, 14, seed=5)
    assert len(set(chosen.tolist())) == 14
    assert np.bincount(labels[chosen], minlength=7).tolist() == [2] * 7
    np.testing.assert_array_equal(chosen, choose.spread_over_classes(labels, 14, seed=5))
    assert not np.array_equal(chosen, choose.spread_over_classes(labels, 14, seed=6))
    # A rare class that runs out is skipped; asking for too many returns all.
    few = choose.spread_over_classes(labels, 40, seed=5)
    assert np.sum(labels[few] == 1) == 3 and len(few) == 40
    assert len(choose.spread_over_classes(labels[:10], 99, seed=0)) == 10


def test_per_class_keeps_only_the_faces_asked_for_and_is_seeded():
    labels = np.array([0, 0, 0, 1, 3, 3])
    predicted = np.array([0, 0, 1, 1, 3, 2])
    chosen = choose.correct_per_class(labels, predicted, 1, seed=0)
    assert len(chosen) == 3 and set(labels[chosen]) == {0, 1, 3}
    assert (labels[chosen] == predicted[chosen]).all()
    picks = choose.per_class(labels, 2, seed=0, among=labels == predicted)
    assert [len(p) for p in picks] == [2, 1, 0, 1, 0, 0, 0]
    assert all((np.diff(p) > 0).all() for p in picks)
    np.testing.assert_array_equal(
        np.concatenate(picks), choose.correct_per_class(labels, predicted, 2, seed=0)
    )
