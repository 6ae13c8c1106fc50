"""Parameter counts of the two models from their config, and the DNN widths
that match the CNN's count, without importing Keras.

Keras-free so that the Snakefile can check at start-up, before any job
runs, that ``dnn.hidden_ratios`` can be met for the configured CNN
(``check_config``); ``tests/test_models.py`` checks every formula here
against ``count_params()`` of the models that ``fer_workflow.models.build`` builds.
"""

import itertools
import math

from fer_workflow import IMAGE_SIZE, NUM_CLASSES, NUM_PIXELS

TOLERANCE = 0.01  # the DNN's parameter count may differ from the CNN's by 1%
CNN_KEYS = "cnn.blocks, cnn.separable, cnn.head_pool, cnn.dense"


def cnn_parameters(cnn_cfg, image_size=IMAGE_SIZE, num_classes=NUM_CLASSES):
    """Exact ``count_params()`` of ``models.build_cnn(cnn_cfg)`` (augmentation adds none).

    Conv2D: k*k*cin*cout (+ cout biases without batch norm); SeparableConv2D:
    k*k*cin depthwise + cin*cout pointwise (+ cout biases); batch norm 4*c;
    with ``residual``, a 1x1 shortcut conv (cin*cout, + batch norm or biases)
    in each block of two or more convs that changes the channel count;
    'same' convs keep the size, max-pooling by p floors it; the head is
    flatten (h*w*c) or global average (c), then dense layers and the logits.
    """
    total, size, channels, first = 0, image_size, 1, True
    for block in cnn_cfg["blocks"]:
        k, cout, bn = block["kernel"], block["filters"], block["batch_norm"]
        if cnn_cfg.get("residual", False) and block["convs"] > 1 and channels != cout:
            total += channels * cout + (4 * cout if bn else cout)  # 1x1 shortcut
        for _ in range(block["convs"]):
            if cnn_cfg["separable"] and not first:
                total += k * k * channels + channels * cout
            else:
                total += k * k * channels * cout
            total += 4 * cout if bn else cout
            channels, first = cout, False
        if block["pool"] > 1:
            size //= block["pool"]
    fan_in = size * size * channels if cnn_cfg["head_pool"] == "flatten" else channels
    for width in cnn_cfg["dense"]:
        total += fan_in * width + width
        fan_in = width
    return total + fan_in * num_classes + num_classes


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


def scaled_widths(scale, hidden_ratios):
    """One scale factor for all layers: ``max(1, round(scale * ratio))``."""
    return [max(1, round(scale * r)) for r in hidden_ratios]


def follows_ratios(widths, hidden_ratios):
    """Whether one scale ``s`` has every width within one unit of ``s * ratio``
    (a width of 1 also stands for any ``s * ratio`` below 1, the floor).
    Returns that ``s`` (the middle of the feasible interval) or None."""
    lo, hi = 0.0, math.inf
    for w, r in zip(widths, hidden_ratios, strict=True):
        lo = max(lo, (w - 1) / r if w > 1 else 0.0)
        hi = min(hi, (w + 1) / r)
    return (lo + hi) / 2 if lo < hi else None


def match_dnn_widths(
    target_params,
    hidden_ratios,
    batch_norm=True,
    input_size=NUM_PIXELS,
    num_classes=NUM_CLASSES,
    tolerance=TOLERANCE,
):
    """Hidden widths proportional to ``hidden_ratios`` whose DNN has ``target_params``.

    One scale factor ``s`` sets every width, ``max(1, round(s * ratio))``; the
    count grows with ``s``, so a bisection finds the two width vectors on
    either side of the target, and the closer one is taken if it is within
    ``tolerance``. Because the first layer costs ~input_size parameters per
    unit, that step can be coarser than the tolerance for a small CNN; then
    rounding may go either way: any widths that one scale puts within one
    unit of ``s * ratio`` (``follows_ratios``) qualify, and the closest such
    DNN within ``tolerance`` wins.
    Raises ValueError (naming ``dnn.hidden_ratios`` and the CNN's keys) if
    no DNN keeps both the ratios and the count.
    """
    ratios = [float(r) for r in hidden_ratios]

    def count(widths):
        return dnn_parameters(widths, batch_norm, input_size, num_classes)

    def bisect(fits):
        """The boundary s where ``fits(s)`` (monotone: True then False) turns False."""
        lo, hi = 0.0, 1.0
        while fits(hi):
            hi *= 2
        for _ in range(100):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if fits(mid) else (lo, mid)
        return lo, hi

    def error(widths):
        return abs(count(widths) - target_params)

    lo, hi = bisect(lambda s: count(scaled_widths(s, ratios)) <= target_params)
    below, above = scaled_widths(lo, ratios), scaled_widths(hi, ratios)
    best = min((below, above), key=error)
    if error(best) > tolerance * target_params:
        best = _within_one_unit(ratios, count, target_params, tolerance, bisect) or best
    if error(best) > tolerance * target_params:
        raise ValueError(
            f"dnn.hidden_ratios {list(hidden_ratios)} cannot be met by a DNN with {target_params} "
            f"parameters (the CNN's, set by {CNN_KEYS}) within {tolerance:.0%}: one scale factor "
            f"gives widths {below} ({count(below)} parameters) or {above} ({count(above)}); the "
            f"smallest such DNN has {count([1] * len(ratios))}. Change dnn.hidden_ratios (e.g. fewer "
            f"or relatively wider later layers) or the CNN's size."
        )
    return best


def _within_one_unit(ratios, count, target, tolerance, bisect, max_candidates=1_000_000):
    """The width vector closest to ``target`` parameters (within ``tolerance``)
    among those with one scale ``s`` putting every width within one unit of
    ``s * ratio``; None if there is none.

    Such a vector lies between ``low(s)`` (each width ``s * ratio - 1``) and
    ``high(s)`` (``s * ratio + 1``), and the count grows with every width, so
    only scales with count(high(s)) >= (1 - tolerance) * target and
    count(low(s)) <= (1 + tolerance) * target can hold one: bisection bounds
    that range of ``s``, then every width vector in it is tried.
    """

    def low(s):
        return [max(1, math.ceil(s * r - 1)) for r in ratios]

    def high(s):
        return [max(1, math.floor(s * r + 1)) for r in ratios]

    s_min = bisect(lambda s: count(high(s)) < (1 - tolerance) * target)[0]
    s_max = bisect(lambda s: count(low(s)) <= (1 + tolerance) * target)[1]
    ranges = [range(low(s_min)[i], high(s_max)[i] + 1) for i in range(len(ratios))]
    if math.prod(len(r) for r in ranges) > max_candidates:
        return None
    best, best_error = None, tolerance * target
    for widths in itertools.product(*ranges):
        e = abs(count(widths) - target)
        if e <= best_error and follows_ratios(widths, ratios) is not None:
            best, best_error = list(widths), e
    return best


def width_texts(widths, hidden_ratios):
    """The widths, their ratios to the first and the configured ratios, as text: {record key: text}."""
    first = widths[0]
    configured = [float(r) / float(hidden_ratios[0]) for r in hidden_ratios]
    return {
        "dnn_widths": " ".join(map(str, widths)),
        "dnn_width_ratios": " : ".join(f"{w / first:.3g}" for w in widths),
        "dnn_hidden_ratios": " : ".join(f"{r:.3g}" for r in configured),
    }


def check_config(config):
    """Raise ValueError (naming the keys) if the config's DNN cannot match its CNN.

    Called when the Snakefile is parsed, so a bad combination fails before
    any job runs. Returns the widths.
    """
    dnn = config["dnn"]
    return match_dnn_widths(cnn_parameters(config["cnn"]), dnn["hidden_ratios"], dnn["batch_norm"])
