"""Sizes of the models computed from the config, without Keras: the exact
parameter count of the DNN for given widths, and the widths that match the
DNN to the CNN's parameter count. Used by ``models`` (training) and by
``config_check`` (at start-up, where importing Keras would cost seconds).
"""

from fer_workflow import NUM_CLASSES, NUM_PIXELS


def dnn_parameters(widths, batch_norm, input_size=NUM_PIXELS, num_classes=NUM_CLASSES):
    """Exact ``count_params()`` of ``build_dnn(widths, ...)``, from the layer formulas.

    A hidden Dense layer has in*w weights plus either w biases (no batch norm)
    or, with batch norm, 4*w (gamma, beta, moving mean and variance; the bias
    is dropped as redundant). The logits layer has in*7 + 7.
    """
    total, fan_in = 0, input_size
    for w in widths:
        total += fan_in * w + (4 * w if batch_norm else w)
        fan_in = w
    return total + fan_in * num_classes + num_classes


def match_dnn_widths(
    target_params,
    hidden_ratios,
    batch_norm=True,
    input_size=NUM_PIXELS,
    num_classes=NUM_CLASSES,
    tolerance=0.01,
):
    """Hidden widths proportional to ``hidden_ratios`` whose DNN has ``target_params``.

    The first hidden layer is the coarse knob (one unit costs ~input_size
    parameters), later layers are finer ones. So the widths are fixed from
    the first to the last: for layer i, binary-search the scale ``s`` of the
    remaining widths ``max(1, round(s * r))`` for the largest DNN not above
    the target (the count grows with ``s``) and keep layer i's width. The
    last width is then solved exactly (the count is linear in it), leaving
    an error of at most half of one of its units. Raises ValueError if the
    result is not within ``tolerance`` (relative) of the target, e.g. when
    the target is below the smallest possible DNN.
    """

    def count(widths):
        return dnn_parameters(widths, batch_norm, input_size, num_classes)

    def with_scale(fixed, scale):
        return fixed + [max(1, round(scale * r)) for r in hidden_ratios[len(fixed) :]]

    widths = []
    for _ in range(len(hidden_ratios) - 1):
        lo, hi = 0.0, 1.0
        while count(with_scale(widths, hi)) <= target_params:
            hi *= 2
        for _ in range(60):  # to far below one unit of the scale
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if count(with_scale(widths, mid)) <= target_params else (lo, mid)
        widths = with_scale(widths, lo)[: len(widths) + 1]
    # Last hidden width: count = (count with width 0) + width * unit.
    fan_in = widths[-1] if widths else input_size
    unit = fan_in + (4 if batch_norm else 1) + num_classes
    fixed = count(widths + [0])
    widths.append(max(1, round((target_params - fixed) / unit)))
    achieved = count(widths)
    if abs(achieved - target_params) > tolerance * target_params:
        raise ValueError(
            f"cannot match a DNN with hidden_ratios {list(hidden_ratios)} to "
            f"{target_params} parameters within {tolerance:.0%}: solved widths {widths} "
            f"give {achieved}; the smallest such DNN has {count([1] * len(widths))}"
        )
    return widths
