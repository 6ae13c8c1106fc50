"""Backend-specific fast paths of Keras layers, kept out of the model code.

``models.py`` and ``training.py`` use only the Keras API so the models
train under any Keras backend; a layer here is a Keras layer (same config,
weights and results) that takes a faster route on TensorFlow and is exactly
its Keras parent elsewhere.
"""

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="fer_workflow")
class FusedBatchNormalization(layers.BatchNormalization):
    """Keras' BatchNormalization (same weights, config and results) that runs
    on TensorFlow's fused kernel, one op forward and one backward.

    Keras 3 builds batch norm from about ten element-wise ops and reductions
    (moments, then scale and shift), each a pass over the feature map, and as
    many again for the gradient: on a 2-core CPU they took a third of the
    default CNN's training step. TensorFlow's ``FusedBatchNormV3`` (oneDNN on
    x86) does it in one pass each way, in float32 statistics for float16 and
    bfloat16 inputs as Keras does. Under another backend, or for what the
    fused kernel cannot do (masks, renorm, an axis other than the last of a
    4-D input), it is exactly Keras' layer.
    """

    def call(self, inputs, training=None, mask=None):
        if (
            keras.backend.backend() != "tensorflow"
            or mask is not None
            or self.renorm
            or len(inputs.shape) != 4
            or self.axis not in (-1, 3)
        ):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        channels = inputs.shape[-1]
        gamma = ops.convert_to_tensor(self.gamma) if self.scale else ops.ones((channels,))
        beta = ops.convert_to_tensor(self.beta) if self.center else ops.zeros((channels,))
        if training and self.trainable:
            outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                inputs, gamma, beta, epsilon=self.epsilon, is_training=True
            )
            # The kernel returns the unbiased batch variance; Keras averages the biased one.
            count = ops.cast(ops.size(inputs) // channels, variance.dtype)
            variance = variance * (count - 1) / count
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(
                self.moving_variance * self.momentum + variance * (1.0 - self.momentum)
            )
        else:
            outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
                inputs,
                gamma,
                beta,
                mean=ops.convert_to_tensor(self.moving_mean),
                variance=ops.convert_to_tensor(self.moving_variance),
                epsilon=self.epsilon,
                is_training=False,
            )
        return ops.cast(outputs, self.compute_dtype)
