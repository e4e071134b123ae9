"""Loss pieces shared by the methods."""
from __future__ import annotations

import tensorflow as tf


def label_similarity(labels_a: tf.Tensor, labels_b: tf.Tensor) -> tf.Tensor:
    """1 where two samples share at least one label, else 0 (SDCH §4.1).

    Args:
        labels_a: (n, C) 0/1. labels_b: (m, C) 0/1.
    Returns:
        float32 (n, m) in {0, 1}.
    """
    overlap = tf.matmul(tf.cast(labels_a, tf.float32), tf.cast(labels_b, tf.float32), transpose_b=True)
    return tf.cast(overlap > 0, tf.float32)
