"""How pixels are removed from a face: written once, passed to every curve.

A perturbation is a callable ``perturb(images, removed) -> images``:
``images`` (n, h, w) float pixels (0..255), ``removed`` (n, k, h, w) bool,
k removal masks per face; it returns float32 (n, k, h, w), each face with
its removed pixels replaced. Deletion, insertion and ROAD (``faithfulness``)
and the saliency scores' deletion test (``faithfulness.scores``) differ only in
which masks they pass and which perturbation, the way Quantus passes a
``perturb_func`` to every metric.

- ``Blur``: the removed pixels from a Gaussian-blurred copy of the face
  (Petsiuk et al. 2018, RISE's deletion and insertion).
- ``MeanFill``: the removed pixels set to the face's mean gray level.
- ``NoisyLinearImputation``: ROAD (Rong et al. 2022, "A Consistent and
  Efficient Evaluation Strategy for Attribution Methods", ICML): each
  removed pixel is the weighted mean of its 8 neighbours (direct ones
  weight 1/6, diagonal ones 1/12, as the paper's code), known neighbours
  fixed, removed ones unknown, so one sparse linear system per face; then
  Gaussian noise is added to the imputed pixels. The imputed values follow
  the face's own smooth shading instead of a blur the model never saw, so
  the removal itself leaks little information about the mask's shape.
  The system is symmetric positive definite (the weights are symmetric and
  each row's diagonal is the sum of all its neighbours' weights, known ones
  included), so it is solved by conjugate gradients with a Jacobi
  preconditioner, a few faces' systems at once as one block-diagonal system
  (benchmarks/faithfulness.py compares it with SciPy's sparse LU; the two
  agree within a thousandth of a gray level); sparse LU is the fallback.
"""

import logging
import time

import numpy as np

log = logging.getLogger(__name__)

# ROAD's neighbour weights (Rong et al.'s NoisyLinearImputer): direct 1/6, diagonal 1/12.
NEIGHBOURS = (
    (-1, 0, 1 / 6), (1, 0, 1 / 6), (0, -1, 1 / 6), (0, 1, 1 / 6),
    (-1, -1, 1 / 12), (-1, 1, 1 / 12), (1, -1, 1 / 12), (1, 1, 1 / 12),
)  # fmt: skip
# Faces x masks per solve: a block-diagonal system of up to this many images
# (up to about 2,300 unknowns each). Conjugate gradients run until the
# hardest block converges, so large chunks waste iterations and single faces
# waste calls: 4 was the fastest of 1, 2, 4, 8, 16 on the 2-core machine
# (benchmarks/faithfulness.py prints the time per image for 4 and for 1).
SOLVE_CHUNK = 4
# Relative residual at which conjugate gradients stop: the imputed pixels are
# then within about 1e-3 gray levels of the exact solution (tested).
CG_RTOL = 1e-9


def _check(images, removed):
    x = np.asarray(images, np.float32)
    removed = np.asarray(removed, bool)
    if removed.ndim != 4 or removed.shape[0] != x.shape[0] or removed.shape[2:] != x.shape[1:]:
        raise ValueError(f"removed masks {removed.shape} do not match images {x.shape} as (n, k, h, w)")
    return x, removed


class Blur:
    """Removed pixels from a Gaussian-blurred copy of the face (std ``sigma`` pixels)."""

    name = "blur"

    def __init__(self, sigma=4.0):
        self.sigma = float(sigma)

    def __call__(self, images, removed):
        from scipy.ndimage import gaussian_filter

        x, removed = _check(images, removed)
        soft = gaussian_filter(x, sigma=(0, self.sigma, self.sigma), mode="nearest")
        return np.where(removed, soft[:, None], x[:, None])


class MeanFill:
    """Removed pixels set to the face's mean gray level (no new edges, no content)."""

    name = "mean"

    def __call__(self, images, removed):
        x, removed = _check(images, removed)
        return np.where(removed, x.mean(axis=(1, 2), keepdims=True)[:, None], x[:, None])


def _system(values, removed):
    """The sparse system of one chunk: A u = b for the removed pixels u of
    every image in ``values`` (m, h, w) with masks ``removed`` (m, h, w).

    Row of removed pixel p: sum_q w_q u_p - sum_{q removed} w_q u_q =
    sum_{q known} w_q v_q over p's neighbours q inside the image, i.e.
    u_p is the weighted mean of its neighbours."""
    from scipy import sparse

    m, h, w = removed.shape
    index = np.full(removed.shape, -1, np.int64)
    where = np.nonzero(removed)
    index[where] = np.arange(len(where[0]))
    n_unknown = len(where[0])
    img, ys, xs = where
    diag = np.zeros(n_unknown)
    rhs = np.zeros(n_unknown)
    rows, cols, vals = [np.arange(n_unknown)], [np.arange(n_unknown)], []
    for dy, dx, weight in NEIGHBOURS:
        qy, qx = ys + dy, xs + dx
        inside = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
        p = np.flatnonzero(inside)
        q_index = index[img[p], qy[p], qx[p]]
        diag[p] += weight
        unknown = q_index >= 0
        rows.append(p[unknown])
        cols.append(q_index[unknown])
        vals.append(np.full(unknown.sum(), -weight))
        known = p[~unknown]
        rhs[known] += weight * values[img[known], qy[known], qx[known]]
    matrix = sparse.csr_matrix(
        (np.concatenate([diag, *vals]), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_unknown, n_unknown),
    )
    return matrix, rhs, where


def solve(matrix, rhs, method="cg"):
    """The imputation system's solution: conjugate gradients with a Jacobi
    preconditioner (``cg``), or sparse LU (``lu``, also the fallback when
    CG does not converge)."""
    from scipy import sparse
    from scipy.sparse.linalg import cg, spsolve

    if method == "cg":
        jacobi = sparse.diags(1.0 / matrix.diagonal())
        solved, info = cg(matrix, rhs, rtol=CG_RTOL, M=jacobi, maxiter=10 * matrix.shape[0])
        if info == 0:
            return solved
        log.warning("conjugate gradients did not converge (info %d): sparse LU instead", info)
    return spsolve(matrix.tocsc(), rhs)


class NoisyLinearImputation:
    """ROAD's noisy linear imputation (see the module docstring).

    ``noise``: std of the Gaussian noise added to each imputed pixel, as a
    fraction of the pixel range (ROAD's 0.01 on 0..1 inputs: 2.55 gray
    levels on 0..255); seeded, so the same call gives the same images.
    ``seconds`` and ``images_done`` add up the solves' cost (logged, and
    printed by benchmarks/faithfulness.py); ``method``: ``cg`` or ``lu``
    (``solve``).
    """

    name = "road"

    def __init__(self, noise=0.01, seed=0, chunk=SOLVE_CHUNK, method="cg"):
        self.noise = float(noise)
        self.method = method
        self.seed = seed
        self.chunk = int(chunk)
        self.seconds = 0.0
        self.images_done = 0
        self._calls = 0

    def impute(self, values, removed):
        """Each image of ``values`` (m, h, w) with its ``removed`` pixels imputed, float32."""

        start = time.perf_counter()
        values = np.asarray(values, np.float64)
        out = values.copy()
        rng = np.random.default_rng([*np.atleast_1d(self.seed), self._calls])
        self._calls += 1
        for first in range(0, len(values), self.chunk):
            part = slice(first, first + self.chunk)
            if not removed[part].any():
                continue
            matrix, rhs, (img, ys, xs) = _system(values[part], removed[part])
            solved = solve(matrix, rhs, self.method)
            if self.noise:
                solved = solved + rng.normal(0.0, self.noise * 255.0, size=solved.shape)
            out[part][img, ys, xs] = solved
        self.seconds += time.perf_counter() - start
        self.images_done += len(values)
        return out.astype(np.float32)

    def __call__(self, images, removed):
        x, removed = _check(images, removed)
        n, k, h, w = removed.shape
        faces = np.broadcast_to(x[:, None], removed.shape).reshape(n * k, h, w)
        return self.impute(faces, removed.reshape(n * k, h, w)).reshape(n, k, h, w)


PERTURBATIONS = {"blur": Blur, "mean": MeanFill, "road": NoisyLinearImputation}


def make(name, **options):
    """A perturbation by name (``PERTURBATIONS``), with its options."""
    if name not in PERTURBATIONS:
        raise ValueError(f"perturbation must be one of {', '.join(PERTURBATIONS)}, not {name!r}")
    return PERTURBATIONS[name](**options)


# ---- which pixels each step removes ---------------------------------------------------


def ranks(order):
    """Each pixel's rank (0 = most relevant) from an order, most relevant first: (n, h*w)."""
    order = np.asarray(order)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(order.shape[1])[None, :], axis=1)
    return rank


def removal_masks(order, fractions, mode, shape):
    """The removed pixels of every step: bool (n, len(fractions), h, w).

    ``order``: each face's pixel indices, most relevant first. At fraction f
    (of the pixels, rounded) ``deletion`` and ``morf`` remove the most
    relevant pixels, ``lerf`` the least relevant ones, and ``insertion``
    restores the most relevant ones (removes all others).
    """
    rank = ranks(order)
    n_pixels = rank.shape[1]
    counts = np.round(np.asarray(fractions, np.float64) * n_pixels).astype(np.int64)
    r = rank[:, None, :]
    c = counts[None, :, None]
    if mode in ("deletion", "morf"):
        removed = r < c
    elif mode == "insertion":
        removed = r >= c
    elif mode == "lerf":
        removed = r >= n_pixels - c
    else:
        raise ValueError(f"mode must be deletion, insertion, morf or lerf, not {mode!r}")
    return removed.reshape(len(rank), len(counts), *shape)
