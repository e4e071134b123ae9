"""BatchNorm statistics of the global batch when DSPAH trains on several replicas (``--distribute``).

DSPAH's ResNets normalise by batch statistics in training (baselines/dspah/NOTES.md). Under
``tf.distribute`` each replica holds a part of the batch, and per-replica statistics of a part
are not those of the one-device batch: the layers must reduce across the replicas. Keras'
``BatchNormalization(synchronized=True)`` does, but computes the variance as E[x²] − E[x]²,
which cancels catastrophically where a channel's mean is large against its spread. On the
smoke preset that alone (single device, the synchronized formula against the plain one) moved
the second epoch's text loss by 5 % — DSPAH's training amplifies small differences. So the
layers here use ``global_moments``, the two-pass computation of ``tf.nn.moments`` (what a plain
layer computes on one device) with its sums all-reduced: two passes, three small all-reduces
per layer, statistics equal to the one-device ones up to float rounding.
"""
from __future__ import annotations

import keras
import tensorflow as tf


def global_moments(x, axes):
    """Mean and biased variance of ``x`` over ``axes``, over every replica's ``x`` (float32).

    ``tf.nn.moments`` (mean, then the mean squared deviation from it) with the sums taken over
    the replicas; the plain ``tf.nn.moments`` outside a replica context or on one replica.
    Differentiable: the gradient of an all-reduced sum reaches every replica's inputs.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return tf.nn.moments(x, axes)
    x = tf.cast(x, tf.float32)
    sum_ = tf.distribute.ReduceOp.SUM
    count = context.all_reduce(sum_, tf.cast(tf.reduce_prod(tf.gather(tf.shape(x), axes)), tf.float32))
    mean = context.all_reduce(sum_, tf.reduce_sum(x, axes, keepdims=True)) / count
    # stop_gradient as tf.nn.moments: Σ (x − mean) = 0, so the mean's path adds nothing.
    squares = tf.reduce_sum(tf.math.squared_difference(x, tf.stop_gradient(mean)), axes, keepdims=True)
    variance = context.all_reduce(sum_, squares) / count
    return tf.squeeze(mean, axes), tf.squeeze(variance, axes)


def synchronize_batch_norm(model: keras.Model) -> int:
    """Makes every BatchNormalization layer inside ``model`` (nested models included) normalise
    by the global batch's statistics (``global_moments``) in training. Returns their number.

    For models trained under a strategy of several replicas; on one device the layers are best
    left alone (``global_moments`` is then ``tf.nn.moments``, the plain layer's own, anyway).
    Replaces the layer's ``_moments`` (Keras 3's hook for its batch statistics); masked inputs,
    which DSPAH's nets never give, keep the layer's own computation.
    """
    if not callable(getattr(keras.layers.BatchNormalization, "_moments", None)):
        raise RuntimeError(f"keras {keras.__version__}: BatchNormalization has no _moments(inputs, mask) to "
                           "replace; baselines/dspah/batch_norm.py needs updating for this version")
    count = 0
    stack = [model]
    while stack:
        layer = stack.pop()
        if isinstance(layer, keras.layers.BatchNormalization) and not getattr(layer, "_global_moments", False):
            own = layer._moments

            def moments(inputs, mask, layer=layer, own=own):
                if mask is not None:
                    return own(inputs, mask)
                return global_moments(inputs, layer._reduction_axes)

            layer._moments = moments
            layer._global_moments = True
            count += 1
        stack.extend(getattr(layer, "layers", ()))
    return count
