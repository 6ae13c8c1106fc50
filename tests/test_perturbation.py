"""The one pixel-removal module: ROAD's noisy linear imputation against a
case with a known answer (a linear ramp is imputed exactly), its noise, the
blur and mean replacements, and which pixels each curve's step removes."""

import numpy as np
import pytest

from fer_workflow.explain import faithfulness as fa
from fer_workflow.explain import perturbation


def ramp(h=48, w=48):
    y, x = np.mgrid[0:h, 0:w]
    return (3.0 * x + 2.0 * y + 10.0).astype(np.float32)


def interior(mask):
    """A mask without the image border (a border pixel's neighbours are one-sided)."""
    mask = mask.copy()
    mask[..., 0, :] = mask[..., -1, :] = mask[..., :, 0] = mask[..., :, -1] = False
    return mask


def test_a_linear_ramp_is_imputed_exactly():
    """A linear function is the weighted mean of its 8 neighbours (the stencil
    is symmetric), so with noise 0 the imputation gives it back, however many
    interior pixels are removed, in one block-diagonal solve for all masks."""
    rng = np.random.default_rng(0)
    fractions = np.array([0.1, 0.5, 0.9, 1.0])
    removed = interior(rng.random((2, 4, 48, 48)) < fractions[None, :, None, None])
    faces = np.stack([ramp(), 255 - ramp()])
    out = perturbation.NoisyLinearImputation(noise=0, chunk=3)(faces, removed)
    assert out.dtype == np.float32 and out.shape == (2, 4, 48, 48)
    np.testing.assert_allclose(out, np.broadcast_to(faces[:, None], out.shape), atol=1e-3)


def test_imputation_is_a_weighted_mean_of_the_neighbours_and_keeps_known_pixels():
    rng = np.random.default_rng(1)
    face = rng.uniform(0, 255, (1, 12, 12)).astype(np.float32)
    removed = np.zeros((1, 1, 12, 12), bool)
    removed[0, 0, 5, 6] = True  # one pixel: the weighted mean of its 8 known neighbours
    out = perturbation.NoisyLinearImputation(noise=0)(face, removed)[0, 0]
    f = face[0].astype(np.float64)
    direct = f[4, 6] + f[6, 6] + f[5, 5] + f[5, 7]
    diagonal = f[4, 5] + f[4, 7] + f[6, 5] + f[6, 7]
    assert out[5, 6] == pytest.approx((direct / 6 + diagonal / 12) / (4 / 6 + 4 / 12), rel=1e-5)
    keep = ~removed[0, 0]
    np.testing.assert_array_equal(out[keep], face[0][keep])


def test_noise_is_seeded_and_only_on_removed_pixels():
    removed = interior(np.random.default_rng(2).random((1, 2, 48, 48)) < 0.5)
    face = ramp()[None]
    a = perturbation.NoisyLinearImputation(noise=0.01, seed=3)(face, removed)
    b = perturbation.NoisyLinearImputation(noise=0.01, seed=3)(face, removed)
    np.testing.assert_array_equal(a, b)
    error = (a - face[:, None])[removed]
    assert 1.5 < error.std() < 3.5  # 0.01 of the 0..255 range = 2.55 gray levels
    np.testing.assert_array_equal(a[~removed], np.broadcast_to(face[:, None], a.shape)[~removed])


def test_blur_and_mean_fill():
    rng = np.random.default_rng(4)
    faces = rng.uniform(0, 255, (3, 48, 48)).astype(np.float32)
    removed = rng.random((3, 2, 48, 48)) < 0.3
    mean = perturbation.MeanFill()(faces, removed)
    assert np.allclose(
        mean[removed], np.broadcast_to(faces.mean(axis=(1, 2))[:, None, None, None], mean.shape)[removed]
    )
    blurred = perturbation.Blur(2.0)(faces, np.ones((3, 1, 48, 48), bool))[:, 0]
    assert blurred.std() < faces.std() / 3
    with pytest.raises(ValueError, match="do not match"):
        perturbation.Blur(2.0)(faces, removed[:2])
    with pytest.raises(ValueError, match="road"):
        perturbation.make("nope")


def test_removal_masks_of_each_curve():
    """Deletion and MoRF remove the top of the order, insertion keeps it,
    LeRF removes the bottom; counts are the rounded fractions."""
    order = np.arange(16)[None]  # pixel i has rank i
    fractions = [0.25, 0.5]
    masks = {
        m: perturbation.removal_masks(order, fractions, m, (4, 4)).reshape(2, 16)
        for m in ("deletion", "morf", "insertion", "lerf")
    }
    np.testing.assert_array_equal(masks["deletion"], masks["morf"])
    assert masks["morf"][0].nonzero()[0].tolist() == [0, 1, 2, 3]
    assert masks["insertion"][0].nonzero()[0].tolist() == list(range(4, 16))
    assert masks["lerf"][1].nonzero()[0].tolist() == list(range(8, 16))
    with pytest.raises(ValueError, match="mode"):
        perturbation.removal_masks(order, fractions, "up", (4, 4))


def test_road_curves_share_the_curve_code():
    """fa.curves with ROAD's imputation: at every fraction the step image is
    the imputed face, and the random order's MoRF and LeRF curves agree
    closely (both remove random pixels)."""
    from test_faithfulness import linear_model

    weights = np.zeros((48, 48), np.float32)
    weights[10:20, 10:20] = 0.05
    model = linear_model(weights)
    faces = np.stack([ramp()] * 3)
    order = fa.random_order(3, 48 * 48, seed=0)
    road = perturbation.NoisyLinearImputation(noise=0)
    morf = fa.curves(
        model, faces, order, np.zeros(3, int), mode="road_morf", replace=road, fractions=fa.ROAD_FRACTIONS
    )
    assert morf.shape == (3, 9)
    # A ramp is imputed exactly except on the border: the score barely moves.
    expected = np.exp((faces[0] * weights).sum() / 255)
    np.testing.assert_allclose(morf, expected / (expected + 6), rtol=1e-3)
    assert road.images_done == 27 and road.seconds > 0


def test_conjugate_gradients_agree_with_sparse_lu():
    """The system is symmetric positive definite: CG and LU give the same
    imputation to a thousandth of a gray level, at ROAD's largest fraction too."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(5)
    faces = gaussian_filter(rng.uniform(0, 255, (4, 48, 48)), (0, 2, 2))
    for fraction in (0.1, 0.9):
        removed = rng.random((4, 48, 48)) < fraction
        matrix, rhs, _ = perturbation._system(faces, removed)
        assert abs(matrix - matrix.T).max() < 1e-12
        np.testing.assert_allclose(
            perturbation.solve(matrix, rhs, "cg"), perturbation.solve(matrix, rhs, "lu"), atol=1e-3
        )
