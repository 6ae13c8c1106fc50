"""Near-duplicate faces: pairs whose pixels all differ by at most ``max_diff`` gray levels.

FER2013 holds re-encoded copies of one photograph: the same face with a few
gray levels of compression noise, so their bytes differ (docs/fer2013/near_duplicates.md).
The measure is the largest absolute pixel difference (the Chebyshev distance,
in gray levels): two faces are copies when every pixel is within ``max_diff``.

The search compares no pair of faces in Python and misses no pair. A mean of
differences that are each at most ``max_diff`` is itself at most ``max_diff``,
so two copies are also within ``max_diff`` in the mean of every block of
pixels (their block sums within ``block**2 * max_diff``). Each stage keeps
only the pairs that pass such a necessary condition:

1. a k-d tree over block sums (9 numbers a face: 3x3 blocks of 16x16
   pixels) lists every pair within the bound (scipy's ``cKDTree``, Chebyshev
   metric, a dual-tree search: no quadratic loop);
2. the same bound on 6x6 blocks of 8x8 pixels, then on 12x12 blocks of 4x4,
   narrows the candidates;
3. the survivors are checked on the pixels.

Because no stage can drop a true pair, the result is exact; the stages only
save work. FER2013's 35,887 faces at 32 levels: 2.7 million candidates from
the tree (most of the ~6 s), 9,300 after the 8x8 blocks, 3,800 after the
4x4 ones, 2,586 pairs on the pixels, 2,416 of them exact copies
(benchmarks/near_duplicates.py).
"""

import hashlib

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from fer_workflow import IMAGE_SIZE, NUM_PIXELS

# Block sizes (pixels a side) of the filter stages after the tree, coarse to fine; 1 = the pixels.
REFINE_BLOCKS = (8, 4, 1)
# Elements compared per step of a stage (bounds the temporary arrays to ~50 MB).
_CHUNK = 1 << 22


def tree_block(max_diff):
    """Block size of the k-d tree stage. 3x3 blocks of 16 pixels make a small,
    fast tree whose candidates stay a few million up to ~40 levels; wider
    thresholds (drawing the histogram) use 4x4 blocks of 12, whose tree is
    slower but keeps the candidates tens of millions fewer."""
    return 16 if max_diff <= 40 else 12


def block_sums(flat, block):
    """Sums of ``block`` x ``block`` pixel blocks of flat (n, 2304) images: int32 (n, (48 / block)**2)."""
    n, k = len(flat), IMAGE_SIZE // block
    return flat.reshape(n, k, block, k, block).sum(axis=(2, 4), dtype=np.int32).reshape(n, k * k)


def _flat(images):
    return np.ascontiguousarray(images, dtype=np.uint8).reshape(len(images), NUM_PIXELS)


def _check_max_diff(max_diff):
    if not 0 <= max_diff <= 255 or int(max_diff) != max_diff:
        raise ValueError(f"max_diff must be a whole number of gray levels in 0..255, not {max_diff!r}")
    return int(max_diff)


def _within(a, b, i, j, limit):
    """Mask over the pairs (a[i], b[j]) whose rows differ by at most ``limit`` in every column."""
    keep = np.empty(len(i), bool)
    step = max(1, _CHUNK // max(a.shape[1], 1))
    for start in range(0, len(i), step):
        part = slice(start, start + step)
        keep[part] = np.abs(a[i[part]].astype(np.int32) - b[j[part]]).max(axis=1, initial=0) <= limit
    return keep


def _search(flat, ref, max_diff):
    """Pairs (i, j) within ``max_diff``: i < j among ``flat`` when ``ref`` is None,
    else i a row of ``flat`` and j a row of ``ref``."""
    empty = np.zeros(0, np.int64)
    if len(flat) == 0 or (ref is not None and len(ref) == 0):
        return empty, empty
    block = tree_block(max_diff)
    radius = block * block * max_diff
    tree = cKDTree(block_sums(flat, block).astype(np.float64))
    if ref is None:
        found = tree.query_pairs(radius, p=np.inf, output_type="ndarray")
        i, j = found[:, 0].astype(np.int64), found[:, 1].astype(np.int64)
    else:
        other = cKDTree(block_sums(ref, block).astype(np.float64))
        found = tree.sparse_distance_matrix(other, radius, p=np.inf, output_type="ndarray")
        i, j = found["i"].astype(np.int64), found["j"].astype(np.int64)
    ref = flat if ref is None else ref
    for size in REFINE_BLOCKS:
        a, b = (flat, ref) if size == 1 else (block_sums(flat, size), block_sums(ref, size))
        keep = _within(a, b, i, j, size * size * max_diff)
        i, j = i[keep], j[keep]
    return i, j


# The last few self-searches by content: split_data asks for the groups of
# the training file several times (split, quality counts, leak check).
_CACHE = {}
_CACHE_SIZE = 4


def pairs(images, max_diff, reference=None):
    """Pairs of faces whose pixels all differ by at most ``max_diff`` gray levels.

    Without ``reference``: (i, j) with i < j, rows of ``images``. With it:
    (i, j), i a row of ``images`` and j a row of ``reference``. Exact copies
    (difference 0) are included. Returns two int64 arrays.
    """
    max_diff = _check_max_diff(max_diff)
    flat = _flat(images)
    if reference is not None:
        return _search(flat, _flat(reference), max_diff)
    key = (flat.shape, max_diff, hashlib.blake2b(flat.data).hexdigest())
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = _search(flat, None, max_diff)
    i, j = _CACHE[key]
    return i.copy(), j.copy()


def groups_from_pairs(n, i, j):
    """Each of ``n`` rows' group id, the index of its group's first row, where
    the groups are the connected components of the pairs (chains join)."""
    if n == 0:
        return np.zeros(0, np.int64)
    graph = coo_matrix((np.ones(len(i), np.int8), (i, j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    first = np.full(labels.max() + 1, n, np.int64)
    np.minimum.at(first, labels, np.arange(n))
    return first[labels]


def groups(images, max_diff):
    """For each image, the index of the first image of its near-duplicate group:
    images linked by a chain of copies within ``max_diff`` gray levels."""
    return groups_from_pairs(len(images), *pairs(images, max_diff))


def copies_in(images, reference, max_diff):
    """Boolean mask over ``images``: True where a face of ``reference`` is
    within ``max_diff`` gray levels at every pixel (a direct copy, not a chain)."""
    seen = np.zeros(len(images), bool)
    seen[pairs(images, max_diff, reference)[0]] = True
    return seen


def pair_distances(images, i, j):
    """The largest pixel difference (gray levels) of each pair (images[i], images[j])."""
    flat = _flat(images)
    distance = np.empty(len(i), np.int64)
    step = max(1, _CHUNK // NUM_PIXELS)
    for start in range(0, len(i), step):
        part = slice(start, start + step)
        distance[part] = np.abs(flat[i[part]].astype(np.int16) - flat[j[part]]).max(axis=1)
    return distance


def nearest_distances(images, cap):
    """Each face's distance (largest pixel difference) to its nearest other
    face, exact up to ``cap``; ``cap + 1`` where no other face is that close.
    Exact copies give 0. For the histogram that picks the threshold."""
    i, j = pairs(images, cap)
    d = pair_distances(images, i, j)
    nearest = np.full(len(images), cap + 1, np.int64)
    np.minimum.at(nearest, i, d)
    np.minimum.at(nearest, j, d)
    return nearest


def clear_cache():
    """Forget the remembered searches (for timing a fresh one)."""
    _CACHE.clear()
