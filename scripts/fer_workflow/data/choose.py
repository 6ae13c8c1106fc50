"""Which faces a figure or a measure looks at: one home for choosing them.

Every choice is seeded (``numpy.random.default_rng(seed)``), so a rule that
reruns with the same seed looks at the same faces, and two rules that ask
for the same faces get the same faces.
"""

import numpy as np

from fer_workflow import NUM_CLASSES


def spread_over_classes(labels, n, seed):
    """Indices of ``n`` faces spread over the classes, reproducible by seed.

    Classes take turns (0, 1, ..., 6, 0, ...), each giving a random face it
    has not given yet; a class that runs out is skipped. (The saliency
    figure, the faithfulness faces, cascading randomisation.)
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    queues = [list(rng.permutation(np.flatnonzero(labels == c))) for c in range(NUM_CLASSES)]
    chosen = []
    while len(chosen) < n and any(queues):
        for queue in queues:
            if queue and len(chosen) < n:
                chosen.append(int(queue.pop(0)))
    return np.array(chosen, dtype=np.int64)


def per_class(labels, k, seed, among=None):
    """Up to ``k`` random face indices of each class, sorted within the
    class: a list of 7 arrays (the sample grid). ``among`` (bool, one per
    face) keeps only those faces, e.g. the correctly classified ones."""
    labels = np.asarray(labels)
    keep = np.ones(len(labels), bool) if among is None else np.asarray(among, bool)
    rng = np.random.default_rng(seed)
    return [np.sort(rng.permutation(np.flatnonzero((labels == c) & keep))[:k]) for c in range(NUM_CLASSES)]


def correct_per_class(labels, predicted, k, seed):
    """Indices of up to ``k`` correctly classified faces of each class, one
    array in class order (the saliency-by-class figure and table)."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    return np.concatenate(per_class(labels, k, seed, among=labels == predicted)).astype(np.int64)
