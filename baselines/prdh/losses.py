"""PRDH's objective as pure functions (Yang et al., AAAI 2017; equations P1–P8 of
docs/baselines-research/prdh.md, as a reading note of the paper transcribes them).

Row-major layout: F, G, B are (n, r), one training sample per row. ℓ(θ, s) = log(1 + e^θ) − sθ.

    J = J1 + J2 + J3 + λ J4 + γ R                                                      (P7)
    J1 = Σ_ij ℓ(½ F_iᵀ G_j, S_ij)   J2 = Σ_ij ℓ(½ F_iᵀ F_j, S_ij)   J3 = Σ_ij ℓ(½ G_iᵀ G_j, S_ij)
    J4 = ½ Σ_{k≠l} C^F_kl² + ½ Σ_{k≠l} C^G_kl²   (C = the batch covariance of the outputs, DeCov)
    R = ‖B − F‖² + ‖B − G‖² + ‖F 1‖² + ‖G 1‖²

A network step updates one modality's rows for a batch with everything else fixed; ``step_loss_terms``
is J restricted to the terms that depend on that batch, so its gradient is exactly dJ/d(batch rows).
J2 is a symmetric double sum: a pair (i in the batch, j outside) appears as (i, j) and as (j, i), so
the off-batch part counts twice (baselines/prdh/NOTES.md, "Losses").
"""
from __future__ import annotations

import tensorflow as tf

STEP_TERMS = ("inter", "intra", "decorrelation", "quantization", "balance")


def pair_loss(theta: tf.Tensor, similarity: tf.Tensor) -> tf.Tensor:
    """Σ ℓ(θ, s) = Σ log(1 + e^θ) − sθ over all entries (PRDH P2–P3); θ, s of one shape. A scalar."""
    return tf.reduce_sum(tf.nn.softplus(theta) - similarity * theta)


def decorrelation(outputs: tf.Tensor) -> tf.Tensor:
    """½(‖C‖_F² − ‖diag C‖²) with C = (1/b) Σ_n (x_n − μ)(x_n − μ)ᵀ the (r, r) covariance of the
    rows of ``outputs`` (b, r) (PRDH P5, DeCov). 0 for b = 1. A scalar."""
    centred = outputs - tf.reduce_mean(outputs, axis=0, keepdims=True)
    covariance = tf.matmul(centred, centred, transpose_a=True) / tf.cast(tf.shape(outputs)[0], outputs.dtype)
    return 0.5 * (tf.reduce_sum(tf.square(covariance)) - tf.reduce_sum(tf.square(tf.linalg.diag_part(covariance))))


def step_loss_terms(own: tf.Tensor, own_buffer: tf.Tensor, other: tf.Tensor, rows: tf.Tensor,
                    similarity: tf.Tensor, codes: tf.Tensor, lam: float, gamma: float,
                    intra_one_sided: bool = False) -> dict[str, tf.Tensor]:
    """The batch's part of J (PRDH P7) for one network step, term by term.

    For the image step ``own`` = F_batch, ``own_buffer`` = F and ``other`` = G; for the text step
    ``own`` = G_batch, ``own_buffer`` = G and ``other`` = F.

    Args:
        own: (b, r) this step's network outputs for the batch.
        own_buffer: (n, r) this modality's outputs of all training samples (constant); its rows
            ``rows`` are replaced by ``own``.
        other: (n, r) the other modality's outputs of all training samples (constant).
        rows: (b,) int32 distinct training-set rows of the batch.
        similarity: (b, n) S between the batch's samples and all training samples, in {0, 1}.
        codes: (b, r) B rows of the batch.
        lam, gamma: weights of the decorrelation term and of R.
        intra_one_sided: the intra term as torchcmh writes it (Σ_{i∈batch, j} ℓ(½ own_iᵀ F̃_j) with F̃
            the buffer holding the batch's outputs as constants): half the exact gradient.

    Returns:
        {"inter": Σ_{i∈batch, j} ℓ(½ own_iᵀ other_j, S_ij),
         "intra": Σ_{i,j∈batch} ℓ(½ own_iᵀ own_j, S_ij) + 2 Σ_{i∈batch, j∉batch} ℓ(½ own_iᵀ F_j, S_ij),
         "decorrelation": λ J4 of the batch's outputs, "quantization": γ ‖B_batch − own‖²,
         "balance": γ ‖Σ_{j∉batch} F_j + Σ_i own_i‖²}; scalars.
    """
    n = tf.shape(own_buffer)[0]
    in_batch = tf.scatter_nd(tf.reshape(rows, (-1, 1)), tf.ones_like(rows, own.dtype), [n])  # (n,) 0/1
    inter = pair_loss(0.5 * tf.matmul(own, other, transpose_b=True), similarity)
    if intra_one_sided:
        frozen = tf.stop_gradient(own)
        buffer_rows = tf.tensor_scatter_nd_update(own_buffer, tf.reshape(rows, (-1, 1)), frozen)
        intra = pair_loss(0.5 * tf.matmul(own, buffer_rows, transpose_b=True), similarity)
    else:
        within = pair_loss(0.5 * tf.matmul(own, own, transpose_b=True),
                           tf.gather(similarity, rows, axis=1))
        buffer_theta = 0.5 * tf.matmul(own, own_buffer, transpose_b=True)  # (b, n)
        outside = tf.reduce_sum((tf.nn.softplus(buffer_theta) - similarity * buffer_theta) * (1.0 - in_batch))
        intra = within + 2.0 * outside
    rest_sum = tf.reduce_sum(own_buffer * (1.0 - in_batch)[:, None], axis=0)
    return {"inter": inter, "intra": intra, "decorrelation": lam * decorrelation(own),
            "quantization": gamma * tf.reduce_sum(tf.square(codes - own)),
            "balance": gamma * tf.reduce_sum(tf.square(rest_sum + tf.reduce_sum(own, axis=0)))}
