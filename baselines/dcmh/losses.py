"""DCMH's objective as pure functions (Jiang & Li, CVPR 2017, Eq. 2; code process_DCMH.m).

Row-major layout: F, G, B are (n, r) with one training sample per row (the paper and the
MATLAB code write r × n matrices). Θ_ij = ½ F_iᵀ G_j, S_ij = 1 when image i and text j share
a label. The objective (DCMH Eq. 2, with B_x = B_y = B):

    J = −Σ_ij (S_ij Θ_ij − log(1 + e^Θ_ij)) + γ (‖B − F‖² + ‖B − G‖²) + η (‖F 1‖² + ‖G 1‖²)

where F 1 ∈ R^r sums F over the training samples. A network step updates one modality's
rows for a batch with everything else fixed; ``step_loss_terms`` is J restricted to the terms
that depend on that batch, whose gradient is exactly the code's dJ/dF_batch (or dJ/dG_batch);
the model descends their sum divided by batch_size · n, as update_net.m divides the gradient.
"""
from __future__ import annotations

import tensorflow as tf

STEP_TERMS = ("logloss", "quantization", "balance")


def step_loss_terms(own: tf.Tensor, other: tf.Tensor, similarity: tf.Tensor, codes: tf.Tensor,
                    own_rest_sum: tf.Tensor, gamma: float, eta: float) -> dict[str, tf.Tensor]:
    """The batch's part of J (DCMH Eq. 2) for one network step, as three summed terms.

    For the image step ``own`` = F_batch and ``other`` = G; for the text step ``own`` = G_batch
    and ``other`` = F (S is symmetric, so the same function serves both; DCMH §3.3).

    Args:
        own: (b, r) this step's network outputs for the batch.
        other: (n, r) the other modality's outputs for all training samples (buffer, constant).
        similarity: (b, n) S between the batch's samples and all training samples, in {0, 1}.
        codes: (b, r) B rows of the batch.
        own_rest_sum: (r,) Σ of this modality's buffer rows outside the batch (constant), so that
            ``own_rest_sum + Σ_batch own`` is F 1 (or G 1) with the batch's rows replaced.
        gamma, eta: weights of the quantisation and balance terms.

    Returns:
        {"logloss": Σ_{i∈batch, j} log(1 + e^Θ_ij) − S_ij Θ_ij with Θ_ij = ½ own_iᵀ other_j,
         "quantization": γ ‖B_batch − own‖², "balance": η ‖own_rest_sum + Σ_i own_i‖²}; scalars.
    """
    theta = 0.5 * tf.matmul(own, other, transpose_b=True)
    # log(1 + e^θ) as softplus: no overflow for large θ.
    logloss = tf.reduce_sum(tf.nn.softplus(theta) - similarity * theta)
    quantization = gamma * tf.reduce_sum(tf.square(codes - own))
    balance = eta * tf.reduce_sum(tf.square(own_rest_sum + tf.reduce_sum(own, axis=0)))
    return {"logloss": logloss, "quantization": quantization, "balance": balance}


def objective(f, g, b, labels, gamma: float, eta: float, chunk: int = 2048) -> dict[str, float]:
    """J of DCMH Eq. 2 over all training pairs (code process_DCMH.m ``calc_loss``), by row chunks.

    Args:
        f, g, b: (n, r) image outputs, text outputs, codes. labels: (n, C) 0/1 training labels.
        chunk: rows of Θ computed at once (memory: chunk · n floats).

    Returns:
        {"objective", "logloss", "quantization", "balance"} as Python floats.
    """
    f, g, b = (tf.convert_to_tensor(v, tf.float32) for v in (f, g, b))
    labels = tf.convert_to_tensor(labels, tf.float32)
    logloss = 0.0
    for start in range(0, int(f.shape[0]), chunk):
        theta = 0.5 * tf.matmul(f[start:start + chunk], g, transpose_b=True)
        s = tf.cast(tf.matmul(labels[start:start + chunk], labels, transpose_b=True) > 0, tf.float32)
        logloss += float(tf.reduce_sum(tf.nn.softplus(theta) - s * theta))
    quantization = gamma * float(tf.reduce_sum(tf.square(b - f)) + tf.reduce_sum(tf.square(b - g)))
    balance = eta * float(tf.reduce_sum(tf.square(tf.reduce_sum(f, 0))) + tf.reduce_sum(tf.square(tf.reduce_sum(g, 0))))
    return {"objective": logloss + quantization + balance, "logloss": logloss, "quantization": quantization,
            "balance": balance}
