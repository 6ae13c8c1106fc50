"""Face regions and the one measure of saliency in them: the share of a
map's mass inside a region (``mass_shares``), which the saliency scores (the
synthetic faces' cue masks), the region claims of the faithfulness
evaluation and the by-class table all use; the named boxes of a region
(``region_masks``) and the null of a map that only looks at the middle of
the face (``centre_prior``)."""

import numpy as np
import pandas as pd

from fer_workflow import CLASS_NAMES, NUM_CLASSES


def region_masks(regions, shape=(48, 48)):
    """Bool masks of named regions, each a list of [x0, y0, x1, y1] boxes
    (pixels, x1 and y1 excluded)."""
    masks = {}
    for name, boxes in regions.items():
        mask = np.zeros(shape, bool)
        for x0, y0, x1, y1 in boxes:
            mask[y0:y1, x0:x1] = True
        masks[name] = mask
    return masks


def mass_shares(maps, masks):
    """Each map's share of its saliency mass inside each mask: float64 (n, r)
    for the r masks of ``masks`` (name -> bool mask, one (h, w) mask for every
    face or one per face, (n, h, w)); NaN for a map without positive mass."""
    maps = np.asarray(maps, np.float64)
    inside = np.zeros((len(maps), len(masks)))
    for k, mask in enumerate(masks.values()):
        inside[:, k] = (maps * np.asarray(mask, bool)).sum(axis=(1, 2))
    total = maps.sum(axis=(1, 2))
    shares = np.full(inside.shape, np.nan)
    ok = total > 0
    shares[ok] = inside[ok] / total[ok, None]
    return shares


# Std of the centre prior in pixels: a quarter of the 48-pixel side, so the
# prior holds most of its mass on the middle of the face and little on the
# border.
CENTRE_PRIOR_SIGMA = 12.0


def centre_prior(shape=(48, 48), sigma=CENTRE_PRIOR_SIGMA):
    """The null for "saliency falls on a region": a map that only looks at
    the middle of the face, an isotropic Gaussian centred on the image centre
    with std ``sigma`` pixels (unit mass). A region that gets more of a
    method's mass than of this prior's is preferred by the model, not merely
    central (faces are centred, so most salient pixels are too)."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w]
    prior = np.exp(-(((y - (h - 1) / 2) ** 2) + (x - (w - 1) / 2) ** 2) / (2 * sigma**2))
    return prior / prior.sum()


def region_table(maps, labels, regions):
    """Per class and region: faces, mean share of saliency mass inside the
    region (a map without mass counts as 0), its share of the image area,
    and their ratio (1 = no preference)."""
    maps = np.asarray(maps, np.float64)
    labels = np.asarray(labels)
    masks = region_masks(regions, maps.shape[1:])
    shares = np.nan_to_num(mass_shares(maps, masks), nan=0.0)
    rows = []
    for c in range(NUM_CLASSES):
        chosen = labels == c
        for k, (name, mask) in enumerate(masks.items()):
            area = float(mask.mean())
            mass = float(np.mean(shares[chosen, k])) if chosen.any() else np.nan
            rows.append(
                {
                    "class": CLASS_NAMES[c],
                    "n_faces": int(chosen.sum()),
                    "region": name,
                    "mass_share": mass,
                    "area_share": area,
                    "ratio": mass / area if area > 0 else np.nan,
                }
            )
    return pd.DataFrame(rows)
