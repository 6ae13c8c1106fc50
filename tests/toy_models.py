"""The tests' one model factory: tiny Keras models with the workflow's model
contract (raw 0..255 pixels in, conv layers ``block<i>_conv<j>``, a "logits"
layer, then "probs"), built in a second from a seed."""

import keras

# The filter tests' layout: a conv without bias, batch norm and ReLU, then a
# block of two convs (the last without activation), as block_outputs must handle.
FILTER_BLOCKS = [
    [("conv", 6, {"use_bias": False}), "batch_norm", "relu", "pool"],
    [("conv", 10, {}), "relu", ("conv", 12, {})],
]


def toy_cnn(seed=0, filters=(8, 16), head=keras.layers.GlobalAveragePooling2D, blocks=None):
    """A tiny CNN. By default one ReLU conv and a 2x2 max pool per width in
    ``filters``; ``blocks`` gives the layout instead, one list per block of
    ``("conv", width, Conv2D keyword arguments)``, ``"batch_norm"``, ``"relu"``
    or ``"pool"`` (e.g. ``FILTER_BLOCKS``). Then ``head`` (a pooling layer),
    Dense "logits" and a float32 softmax "probs"."""
    if blocks is None:
        blocks = [[("conv", width, {"activation": "relu"}), "pool"] for width in filters]
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    for i, block in enumerate(blocks, start=1):
        convs = 0
        for layer in block:
            if layer == "batch_norm":
                x = keras.layers.BatchNormalization()(x)
            elif layer == "relu":
                x = keras.layers.Activation("relu")(x)
            elif layer == "pool":
                x = keras.layers.MaxPooling2D()(x)
            else:
                _, width, options = layer
                convs += 1
                x = keras.layers.Conv2D(width, 3, padding="same", name=f"block{i}_conv{convs}", **options)(x)
    x = head()(x)
    x = keras.layers.Dense(7, name="logits")(x)
    outputs = keras.layers.Activation("softmax", name="probs", dtype="float32")(x)
    return keras.Model(inputs, outputs)
