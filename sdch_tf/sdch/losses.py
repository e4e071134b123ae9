"""SDCH's losses as pure functions (SDCH §3.2–§3.3, Eqs. 4, 7 and 8).

Layout: the paper writes Z and B as r × n matrices whose columns are samples; here every
batch is row-major, ``z`` and ``b`` of shape (n, r) with one sample per row, so the paper's
Zᵀ Z (n × n) is ``z @ z.T`` and its Z Zᵀ (r × r) is ``z.T @ z``.

All losses are sums, as the equations are written (docs/reproduction.md §1), not means.
"""
from __future__ import annotations

import tensorflow as tf

from sdch_tf.training.losses import label_similarity  # noqa: F401  (S^f, S^h of Eqs. 4, 7)

HASH_TERMS = ("similarity", "quantization", "independence", "balance")


def feature_loss(f_x: tf.Tensor, f_y: tf.Tensor, s_f: tf.Tensor) -> tf.Tensor:
    """L_f, SDCH Eq. 4: Σ_ij log(1 + exp(θ_ij)) − s_ij θ_ij with θ_ij = f_xiᵀ f_yj.

    The negative log-likelihood of the cross-modal similarities under the logistic model of
    Eq. 3. log(1 + exp(θ)) is computed as softplus(θ), which does not overflow for large θ.

    Args:
        f_x: (n, k) image features (img-fc3). f_y: (m, k) text features (txt-fc3).
        s_f: (n, m) in {0, 1}, S^f between image i and text j.
    Returns:
        scalar float32.
    """
    theta = tf.matmul(f_x, f_y, transpose_b=True)
    return tf.reduce_sum(tf.nn.softplus(theta) - s_f * theta)


def hash_loss_terms(
    z: tf.Tensor, b: tf.Tensor, s_h: tf.Tensor, beta1: float, beta2: float, beta3: float
) -> dict[str, tf.Tensor]:
    """The four weighted terms of L_h, SDCH Eq. 7; their sum is L_h.

    similarity   ‖(1/r) Zᵀ Z − S^h‖²     semantic similarity within and between modalities
    quantization β1 ‖Z − B‖²              asymmetric relaxation towards the binary codes
    independence β2 ‖(1/r) Z Zᵀ − I‖²     r × r, as Eq. 7 writes it (the text before Eq. 7 has ZᵀZ, a typo)
    balance      (β3/r) ‖Z‖²

    Args:
        z: (n, r) fc4 outputs of the batch (images and texts stacked as rows).
        b: (n, r) their current binary codes in {−1, +1}.
        s_h: (n, n) in {−1, +1}, S^h.
    Returns:
        dict of scalar float32 tensors keyed by ``HASH_TERMS``.
    """
    r = tf.cast(tf.shape(z)[1], z.dtype)
    gram = tf.matmul(z, z, transpose_b=True) / r
    bit_gram = tf.matmul(z, z, transpose_a=True) / r
    identity = tf.eye(tf.shape(z)[1], dtype=z.dtype)
    return {
        "similarity": tf.reduce_sum(tf.square(gram - s_h)),
        "quantization": beta1 * tf.reduce_sum(tf.square(z - b)),
        "independence": beta2 * tf.reduce_sum(tf.square(bit_gram - identity)),
        "balance": beta3 / r * tf.reduce_sum(tf.square(z)),
    }


def hash_loss(z: tf.Tensor, b: tf.Tensor, s_h: tf.Tensor, beta1: float, beta2: float, beta3: float) -> tf.Tensor:
    """L_h, SDCH Eq. 7: the sum of ``hash_loss_terms``. Shapes as there; returns a scalar."""
    return tf.add_n(list(hash_loss_terms(z, b, s_h, beta1, beta2, beta3).values()))


def total_loss(l_f: tf.Tensor, l_h: tf.Tensor, gamma: float) -> tf.Tensor:
    """L = L_f + γ L_h, SDCH Eq. 8."""
    return l_f + gamma * l_h
