"""The two models of the study, built from the config: a CNN and a fully
connected DNN whose widths are solved so that both have the same number of
parameters (``fer_workflow.models.sizing``, re-exported here).

Only the ``keras`` API is used (no TensorFlow calls), so the same code builds
and trains under another Keras backend (``KERAS_BACKEND=jax``).

Both models take raw pixels, float32 (n, 48, 48, 1) in 0..255, apply the same
augmentation layers (``augment.RandomAffine``, then ``augment.Cutout`` if
set; active only in training) and ``Rescaling(1/255)``, and end in a linear
``logits`` Dense layer followed by a float32 ``probs`` softmax, so
``model(x)`` gives probabilities and the pre-softmax score is
``model.get_layer("logits").output``.
"""

import keras
from keras import layers

from fer_workflow import IMAGE_SIZE, MODEL_NAMES, NUM_CLASSES, conv_layer_name
from fer_workflow.models.augment import TRAINING_ONLY, Cutout, RandomAffine
from fer_workflow.models.layers import FusedBatchNormalization
from fer_workflow.models.sizing import (  # noqa: F401 (Keras-free; re-exported)
    cnn_parameters,
    dnn_parameters,
    match_dnn_widths,
    width_texts,
)

# In a Keras-free module, so the start-up config check can use them too.

INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)


def _inputs_and_preprocessing(augment_cfg):
    """Input, the augmentation layers (identical for both models) and rescaling."""
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = inputs
    if augment_cfg and augment_cfg.get("enabled", False):
        x = RandomAffine(
            flip=augment_cfg.get("flip", False),
            shift=augment_cfg.get("shift", 0.0),
            rotation=augment_cfg.get("rotation", 0.0),
            zoom=augment_cfg.get("zoom", 0.0),
            name="augment",
            # Resample in float32 under any policy: in bfloat16 (8-bit mantissa)
            # the source coordinates would be off by up to 1/8 pixel.
            dtype="float32",
        )(x)
        if augment_cfg.get("cutout", 0.0):
            x = Cutout(augment_cfg["cutout"], name="cutout", dtype="float32")(x)
    x = layers.Rescaling(1.0 / 255, name="rescaling")(x)
    return inputs, x


def _output(x):
    """The contract's last two layers: linear logits, then a float32 softmax."""
    x = layers.Dense(NUM_CLASSES, name="logits")(x)
    return layers.Activation("softmax", name="probs", dtype="float32")(x)


def build_cnn(cnn_cfg, augment_cfg=None, name="cnn", fused_batch_norm=True):
    """The CNN described by the config's ``cnn`` section.

    Each block has ``convs`` conv layers (``block{i}_conv{j}``, 'same' padding),
    each followed by batch norm (if set) and ReLU, then max-pooling and
    dropout. With ``separable``, every conv after the very first one is
    depthwise-separable. With ``residual``, a block of two or more convs adds
    its input to its last conv's batch-normed output before that ReLU (He et
    al. 2016), through a 1x1 conv and batch norm (``block{i}_shortcut``,
    ``block{i}_shortcut_bn``) where the channel count changes. The head
    reduces the last block (flatten or global average), then dense ReLU layers with dropout before each dense layer,
    the logits included. Batch norm is ``FusedBatchNormalization`` (Keras'
    layer on TensorFlow's fused kernel) unless ``fused_batch_norm=False``.
    """
    inputs, x = _inputs_and_preprocessing(augment_cfg)
    first = True
    norm = FusedBatchNormalization if fused_batch_norm else layers.BatchNormalization
    for i, block in enumerate(cnn_cfg["blocks"], start=1):
        bn = block["batch_norm"]
        shortcut = x if cnn_cfg.get("residual", False) and block["convs"] > 1 else None
        for j in range(1, block["convs"] + 1):
            conv = layers.SeparableConv2D if cnn_cfg["separable"] and not first else layers.Conv2D
            # With batch norm right after, a conv bias is redundant.
            x = conv(
                block["filters"],
                block["kernel"],
                padding="same",
                use_bias=not bn,
                name=conv_layer_name(i, j),
            )(x)
            if bn:
                x = norm(name=f"block{i}_bn{j}")(x)
            if shortcut is not None and j == block["convs"]:
                if shortcut.shape[-1] != block["filters"]:
                    shortcut = layers.Conv2D(block["filters"], 1, use_bias=not bn, name=f"block{i}_shortcut")(
                        shortcut
                    )
                    if bn:
                        shortcut = norm(name=f"block{i}_shortcut_bn")(shortcut)
                x = layers.Add(name=f"block{i}_add")([x, shortcut])
            x = layers.Activation("relu", name=f"block{i}_relu{j}")(x)
            first = False
        if block["pool"] > 1:
            x = layers.MaxPooling2D(block["pool"], name=f"block{i}_pool")(x)
        if block["dropout"] > 0:
            x = layers.Dropout(block["dropout"], name=f"block{i}_dropout")(x)
    if cnn_cfg["head_pool"] == "avg":
        x = layers.GlobalAveragePooling2D(name="head_pool")(x)
    else:
        x = layers.Flatten(name="head_pool")(x)
    dropout = cnn_cfg["dense_dropout"]
    for k, width in enumerate(cnn_cfg["dense"], start=1):
        if dropout > 0:
            x = layers.Dropout(dropout, name=f"dense{k}_dropout")(x)
        x = layers.Dense(width, activation="relu", name=f"dense{k}")(x)
    if dropout > 0:
        x = layers.Dropout(dropout, name="logits_dropout")(x)
    return keras.Model(inputs, _output(x), name=name)


def build_dnn(widths, dnn_cfg, augment_cfg=None, name="dnn"):
    """Fully connected model: Flatten, then Dense(width) [+ BN] + ReLU [+ dropout] per width."""
    inputs, x = _inputs_and_preprocessing(augment_cfg)
    x = layers.Flatten(name="flatten")(x)
    bn = dnn_cfg["batch_norm"]
    for k, width in enumerate(widths, start=1):
        x = layers.Dense(int(width), use_bias=not bn, name=f"dense{k}")(x)
        if bn:
            x = layers.BatchNormalization(name=f"dense{k}_bn")(x)
        x = layers.Activation("relu", name=f"dense{k}_relu")(x)
        if dnn_cfg["dropout"] > 0:
            x = layers.Dropout(dnn_cfg["dropout"], name=f"dense{k}_dropout")(x)
    return keras.Model(inputs, _output(x), name=name)


def build_study_model(name, cnn_cfg, dnn_cfg, augment_cfg=None):
    """One of the study's two models by name (``MODEL_NAMES``): the CNN of
    ``cnn_cfg``, or the DNN whose widths are solved from that CNN's parameter
    count. Returns ``(model, extra, dnn)``: ``extra`` the summary's lines on
    the DNN's sizing and ``dnn`` the record's facts on it ({} and None for the
    CNN). Any other name is refused, naming the known ones: the study is a
    fixed pair, and a third name is no DNN by default."""
    if name not in MODEL_NAMES:
        raise ValueError(
            f"unknown model {name!r}: the study trains {' and '.join(MODEL_NAMES)} "
            "(a third model needs its own builder: docs/development.md, 'Adding a model')"
        )
    cnn = build_cnn(cnn_cfg, augment_cfg)
    if name == "cnn":
        return cnn, {}, None
    target = cnn.count_params()
    widths = match_dnn_widths(target, dnn_cfg["hidden_ratios"], dnn_cfg["batch_norm"])
    model = build_dnn(widths, dnn_cfg, augment_cfg)
    extra = {"matched_to_cnn_parameters": target, **width_texts(widths, dnn_cfg["hidden_ratios"])}
    dnn = {
        "hidden_widths": [int(w) for w in widths],
        "hidden_ratios": [float(r) for r in dnn_cfg["hidden_ratios"]],
        "matched_to_cnn_parameters": int(target),
    }
    return model, extra, dnn


def count_flops(model):
    """Forward-pass FLOPs per image: 2 x multiply-adds of conv and dense layers.

    Counted: Conv2D (2*H*W*k*k*Cin*Cout), DepthwiseConv2D and the two parts
    of SeparableConv2D (depthwise 2*H*W*k*k*Cin, pointwise 2*H*W*Cin*Cout),
    Dense (2*in*out), all at their output resolution. Not counted: biases,
    batch norm, activations, pooling, dropout, augmentation and rescaling
    (element-wise work, a few percent of the total here). Training costs
    about 3x the forward pass (forward, gradient w.r.t. inputs and weights).
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.SeparableConv2D):
            h, w, cout = layer.output.shape[1:]
            kh, kw = layer.kernel_size
            cin = layer.input.shape[-1] * layer.depth_multiplier
            total += 2 * h * w * kh * kw * layer.input.shape[-1] * layer.depth_multiplier
            total += 2 * h * w * cin * cout
        elif isinstance(layer, layers.DepthwiseConv2D):
            h, w, cout = layer.output.shape[1:]
            kh, kw = layer.kernel_size
            total += 2 * h * w * kh * kw * cout
        elif isinstance(layer, layers.Conv2D):
            h, w, cout = layer.output.shape[1:]
            kh, kw = layer.kernel_size
            total += 2 * h * w * kh * kw * layer.input.shape[-1] * cout
        elif isinstance(layer, layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units
    return int(total)


def inference_model(model):
    """The trained ``model`` with built-in Keras layers only, for saving.

    The training-only augmentation layers are left out (they pass images
    through at inference) and each ``FusedBatchNormalization`` becomes
    Keras' ``BatchNormalization`` with the same weights (the same function).
    The saved ``.keras`` file then loads with ``keras.saving.load_model`` in
    any Python with Keras installed, without this package on the path. The
    other layers are shared with ``model`` (same weight variables). The
    training model, and so the resumable backups, are left as they are.
    """
    own = (*TRAINING_ONLY, FusedBatchNormalization)
    if not any(isinstance(layer, own) for layer in model.layers):
        return model

    def plain(layer):
        if isinstance(layer, FusedBatchNormalization):
            return layers.BatchNormalization.from_config(layer.get_config())
        return layer

    def call(layer, *args, **kwargs):
        # Skip the augmentation: its input goes straight to the next layer.
        return args[0] if isinstance(layer, TRAINING_ONLY) else layer(*args, **kwargs)

    clone = keras.models.clone_model(model, clone_function=plain, call_function=call)
    for layer in model.layers:
        if isinstance(layer, FusedBatchNormalization):
            clone.get_layer(layer.name).set_weights(layer.get_weights())
    return clone


def load_model(path):
    """Load a trained ``.keras`` model for inference."""
    # This module imports the custom layers (RandomAffine, Cutout,
    # FusedBatchNormalization), which registers them for loading.
    return keras.models.load_model(path, compile=False)
