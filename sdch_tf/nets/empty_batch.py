"""Convolutions that stay right on an empty per-replica batch, whatever the CPU.

TensorFlow's oneDNN kernels mishandle an empty batch: Conv2D and DepthwiseConv2D return their
*input* unchanged (a (0, 32, 32, 3) batch through a 3→8 channel convolution comes out
(0, 32, 32, 3), and the next convolution fails with "input depth must be evenly divisible by
filter depth: 3 vs 8"), and MaxPool's gradient aborts the process ("Check failed: dtype() ==
expected_dtype"). Every other layer these networks use is right on an empty batch.
TensorFlow turns oneDNN on by default only on CPUs with AVX512-VNNI, AVX512-BF16 or AMX (Intel
Sapphire Rapids, AMD Zen 4, …), so the same code runs on one machine and fails on another
(docs/cpu-independence.md has the measurements).

An empty batch arises in this project in one place: under ``--distribute`` a global batch
smaller than the number of replicas gives some replica an empty slice (a last partial batch of
one pair over two devices). There, and only there, every convolution and max pooling is
skipped on an empty slice and a correctly shaped empty tensor is returned instead (``skip_if_empty``). One-device
graphs are left exactly as they were, so recorded single-device runs keep their numerics.
"""
from __future__ import annotations

from typing import Callable, Sequence

import keras
import tensorflow as tf


def _replicas() -> int:
    context = tf.distribute.get_replica_context()
    return 1 if context is None else int(context.num_replicas_in_sync)


def skip_if_empty(compute: Callable[[tf.Tensor], tf.Tensor], inputs: tf.Tensor,
                  output_tail: Sequence[int | None], dtype=None) -> tf.Tensor:
    """``compute(inputs)``, or an empty (0, *output_tail) tensor when ``inputs`` has no rows.

    The guard is built only inside a replica context with more than one replica (the only
    place an empty batch reaches a network here) and when ``output_tail`` is fully known.

    Args:
        compute: (b, ...) → (b, *output_tail); the convolution (with bias and activation).
        inputs: (b, ...) with b possibly 0 at run time.
        output_tail: the static output shape without the batch dimension.
        dtype: of the empty result (default: the inputs' dtype).
    """
    if _replicas() == 1 or any(d is None for d in output_tail):
        return compute(inputs)
    tail = [int(d) for d in output_tail]
    empty = lambda: tf.zeros([0, *tail], dtype or inputs.dtype)  # noqa: E731
    outputs = tf.cond(tf.shape(inputs)[0] > 0, lambda: compute(inputs), empty)
    return tf.ensure_shape(outputs, [None, *tail])


@keras.saving.register_keras_serializable(package="sdch_tf")
class Conv2D(keras.layers.Conv2D):
    """``keras.layers.Conv2D`` whose convolution is skipped on an empty per-replica batch
    (``skip_if_empty``); identical to Keras' layer on one device."""

    def convolution_op(self, inputs, kernel):
        tail = self.compute_output_shape(tuple(inputs.shape))[1:]
        return skip_if_empty(lambda x: super(Conv2D, self).convolution_op(x, kernel), inputs, tail,
                             dtype=self.compute_dtype)


@keras.saving.register_keras_serializable(package="sdch_tf")
class MaxPooling2D(keras.layers.MaxPooling2D):
    """``keras.layers.MaxPooling2D`` skipped on an empty per-replica batch (``skip_if_empty``)."""

    def call(self, inputs):
        tail = self.compute_output_shape(tuple(inputs.shape))[1:]
        return skip_if_empty(super().call, inputs, tail)
