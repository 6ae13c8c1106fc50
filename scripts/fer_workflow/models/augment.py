"""Training-time augmentation as one Keras layer: random flip, shift, rotation
and zoom composed into a single affine map and applied with one bilinear
resampling.

Why not Keras' RandomFlip/RandomTranslation/RandomRotation/RandomZoom: under
the JAX backend those three affine layers each go through
``jax.scipy.ndimage.map_coordinates`` over a 3-D (height, width, channel)
grid, which is slow on CPU and far slower on accelerators (keras-team/keras
#23229; here it made the first epoch of the GPU preset take 409 s on an
H200). On TensorFlow they use ``ImageProjectiveTransformV3``, which XLA
cannot compile, so ``jit_compile`` was silently dropped. This layer uses
only ``keras.ops`` element-wise math and one gather per corner, so it runs
the same on every backend, compiles with XLA, and blurs the face once
instead of once per transform. ``benchmarks/augment.py`` compares the two.

The ranges mean what Keras' layers' factors mean: ``shift`` a fraction of
height and width, ``rotation`` a fraction of a full turn, ``zoom`` a
fraction of the size (positive zooms out); each is drawn uniformly from
[-value, value] per image. Pixels that map outside the image take the
nearest edge pixel (Keras' ``fill_mode="nearest"``).

``Cutout`` (DeVries & Taylor 2017) hides one random square of each training
face behind the face's mean gray, so the net cannot lean on one region
alone; the same keras.ops-only design.
"""

import math

import keras
from keras import ops


def affine_sample(images, flip, angle, zoom, shift_y, shift_x):
    """Resample ``images`` (batch, height, width, channels) under per-image maps.

    ``flip`` is -1 (mirror) or 1, ``angle`` is in radians, ``zoom`` a
    relative scale change (0: none, 0.1: 10% zoomed out) and ``shift_*``
    shifts in pixels; each has shape (batch,). The face is mirrored, scaled,
    rotated about the image centre, then shifted: output pixel (y, x) reads
    the input at the inverse map of (y, x), bilinearly interpolated, clamped
    to the edge. Coordinates and weights are float32 whatever the images'
    dtype: float16 has no integer-exact range past 2048 and TensorFlow has no
    float16 ``Range`` kernel, so a mixed-precision model resamples in float32
    and gets its own dtype back.
    """
    batch = ops.shape(images)[0]
    height, width, channels = images.shape[1:]
    out_dtype, dtype = images.dtype, "float32"
    images = ops.cast(images, dtype)

    def per_image(value):
        return ops.reshape(ops.cast(value, dtype), (-1, 1, 1))

    # Output grid, centred on the image centre.
    v = ops.reshape(ops.arange(height, dtype=dtype) - (height - 1) / 2, (1, height, 1))
    u = ops.reshape(ops.arange(width, dtype=dtype) - (width - 1) / 2, (1, 1, width))
    u = u - per_image(shift_x)
    v = v - per_image(shift_y)
    cos, sin = ops.cos(per_image(angle)), ops.sin(per_image(angle))
    scale = 1 + per_image(zoom)
    src_x = per_image(flip) * (cos * u + sin * v) * scale + (width - 1) / 2
    src_y = (cos * v - sin * u) * scale + (height - 1) / 2
    src_x = ops.clip(src_x, 0, width - 1)
    src_y = ops.clip(src_y, 0, height - 1)

    x0, y0 = ops.floor(src_x), ops.floor(src_y)
    wx, wy = ops.expand_dims(src_x - x0, -1), ops.expand_dims(src_y - y0, -1)
    x0, y0 = ops.cast(x0, "int32"), ops.cast(y0, "int32")
    x1, y1 = ops.minimum(x0 + 1, width - 1), ops.minimum(y0 + 1, height - 1)
    base = ops.reshape(ops.arange(batch, dtype="int32") * (height * width), (-1, 1, 1))
    flat = ops.reshape(images, (-1, channels))

    def at(y, x):
        return ops.take(flat, base + y * width + x, axis=0)

    top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx
    bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx
    return ops.cast(top * (1 - wy) + bottom * wy, out_dtype)


@keras.saving.register_keras_serializable(package="fer_workflow")
class RandomAffine(keras.layers.Layer):
    """Random horizontal flip, shift, rotation and zoom in one resampling.

    Active only in training; at inference it passes the images through.
    """

    def __init__(self, flip=False, shift=0.0, rotation=0.0, zoom=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        for key, value in (("shift", shift), ("rotation", rotation), ("zoom", zoom)):
            if not 0 <= value < 1:
                raise ValueError(f"RandomAffine: {key} must be in [0, 1), got {value}")
        self.flip, self.shift, self.rotation, self.zoom = bool(flip), shift, rotation, zoom
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, images, training=None):
        if not training or not (self.flip or self.shift or self.rotation or self.zoom):
            return images
        batch = ops.shape(images)[0]

        def uniform(limit):
            return keras.random.uniform((batch,), -limit, limit, seed=self.seed_generator)

        zero = ops.zeros((batch,))
        flip = zero + 1
        if self.flip:
            flip = ops.where(keras.random.uniform((batch,), seed=self.seed_generator) < 0.5, -1.0, 1.0)
        angle = uniform(self.rotation * 2 * math.pi) if self.rotation else zero
        zoom = uniform(self.zoom) if self.zoom else zero
        shift_y = uniform(self.shift * images.shape[1]) if self.shift else zero
        shift_x = uniform(self.shift * images.shape[2]) if self.shift else zero
        return affine_sample(images, flip, angle, zoom, shift_y, shift_x)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "flip": self.flip,
            "shift": self.shift,
            "rotation": self.rotation,
            "zoom": self.zoom,
            "seed": self.seed,
        }


def erase_squares(images, size, top, left):
    """``images`` (batch, height, width, channels) with a ``size`` x ``size``
    square per image, rows ``top``.. and columns ``left``.. (shape (batch,),
    integers, possibly outside the image: the square is clipped), set to the
    image's mean over all its pixels."""
    height, width = images.shape[1:3]
    rows = ops.reshape(ops.arange(height, dtype="int32"), (1, height, 1, 1))
    cols = ops.reshape(ops.arange(width, dtype="int32"), (1, 1, width, 1))
    top = ops.reshape(ops.cast(top, "int32"), (-1, 1, 1, 1))
    left = ops.reshape(ops.cast(left, "int32"), (-1, 1, 1, 1))
    inside = (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size)
    mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
    return ops.where(inside, mean, images)


@keras.saving.register_keras_serializable(package="fer_workflow")
class Cutout(keras.layers.Layer):
    """Hide one square of side ``size`` x the image side per training image
    behind the image's mean; its centre is uniform over the image, so the
    square may be cut by the border (DeVries & Taylor 2017). Pass-through at
    inference."""

    def __init__(self, size=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= size <= 0.5:
            raise ValueError(f"Cutout: size must be in [0, 0.5], got {size}")
        self.size, self.seed = size, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        side = round(self.size * images.shape[1])
        if not training or side == 0:
            return images
        batch = ops.shape(images)[0]

        def corner(extent):
            centre = ops.floor(keras.random.uniform((batch,), 0, extent, seed=self.seed_generator))
            return centre - side // 2

        return erase_squares(images, side, corner(images.shape[1]), corner(images.shape[2]))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size, "seed": self.seed}


# The layers that act only in training (pass-through at inference).
TRAINING_ONLY = (RandomAffine, Cutout)
