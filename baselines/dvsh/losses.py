"""DVSH's objective as pure functions (Cao et al., KDD 2016; equations E4–E9 of
docs/baselines-research/dvsh.md, from a reading note of the paper: its own text could not be read).

    O = L + λ Q + β (L^x + L^y)                                                           (E9)
    L   = Σ over the batch's pairs i < j of max(0, μ_c − s_ij cos(h_i, h_j)), s_ij ∈ {−1, +1}  (E7)
    Q   = Σ_i Σ_k max(0, μ_b − |h_ik|)                                                        (E8)
    L^x = 1/(2b) Σ_i ‖u_i − h_i‖²                                                            (E5)
    L^y = 1/(2b) Σ_i Σ_t π_it ‖v_it − h_it‖² / Σ_t π_it                                       (E6)

h_it = tanh(h^x_i + h^y_it) are the fusion network's per-step codes and h_i their masked mean
(E3–E4); u_i is the image hashing network's output, v_it the text hashing network's per-step
output; π_it = 1 for a real word at step t, 0 for padding. L and Q are sums over the batch and
L^x, L^y carry 1/(2b), as the note writes them: their balance is what λ and β weigh
(baselines/dvsh/NOTES.md, "Losses").
"""
from __future__ import annotations

import tensorflow as tf

TERMS = ("cosine", "bits", "image_hash", "text_hash")


def masked_mean(steps: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Σ_t π_t x_t / Σ_t π_t (E4): steps (b, T, K), mask (b, T) in {0, 1} with Σ_t π_t ≥ 1 → (b, K)."""
    mask = tf.cast(mask, steps.dtype)
    return tf.reduce_sum(steps * mask[..., None], axis=1) / tf.reduce_sum(mask, axis=1, keepdims=True)


def cosine_margin_loss(codes: tf.Tensor, similarity: tf.Tensor, margin: float) -> tf.Tensor:
    """E7: the sum over the batch's pairs i < j of max(0, μ_c − s_ij cos(h_i, h_j)), s = 2S − 1.

    Args:
        codes: (b, K) unified codes h. similarity: (b, b) S in {0, 1}. margin: μ_c.
    Returns: a scalar (0 for b < 2).
    """
    unit = codes / (tf.norm(codes, axis=1, keepdims=True) + 1e-8)
    cosine = tf.matmul(unit, unit, transpose_b=True)
    signs = 2.0 * tf.cast(similarity, codes.dtype) - 1.0
    hinge = tf.nn.relu(margin - signs * cosine)
    b = tf.shape(codes)[0]
    upper = tf.linalg.band_part(tf.ones((b, b), codes.dtype), 0, -1) - tf.eye(b, dtype=codes.dtype)
    return tf.reduce_sum(hinge * upper)


def bit_margin_loss(codes: tf.Tensor, margin: float) -> tf.Tensor:
    """E8: Σ_i Σ_k max(0, μ_b − |h_ik|); codes (b, K). A scalar."""
    return tf.reduce_sum(tf.nn.relu(margin - tf.abs(codes)))


def image_hash_loss(image_codes: tf.Tensor, unified: tf.Tensor) -> tf.Tensor:
    """E5: 1/(2b) Σ_i ‖u_i − h_i‖²; both (b, K). A scalar."""
    return 0.5 * tf.reduce_sum(tf.square(image_codes - unified)) / tf.cast(tf.shape(unified)[0], unified.dtype)


def text_hash_loss(text_steps: tf.Tensor, unified_steps: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """E6: 1/(2b) Σ_i Σ_t π_it ‖v_it − h_it‖² / Σ_t π_it; steps (b, T, K), mask (b, T). A scalar."""
    per_item = masked_mean(tf.reduce_sum(tf.square(text_steps - unified_steps), axis=2, keepdims=True), mask)
    return 0.5 * tf.reduce_sum(per_item) / tf.cast(tf.shape(mask)[0], per_item.dtype)


def objective(unified_steps, mask, image_codes, text_steps, similarity, cosine_margin: float, bit_margin: float,
              lam: float, beta: float) -> dict[str, tf.Tensor]:
    """O of E9 and its terms for one batch.

    Args:
        unified_steps: (b, T, K) h_it. mask: (b, T) π. image_codes: (b, K) u. text_steps: (b, T, K) v_it.
        similarity: (b, b) S in {0, 1}. cosine_margin, bit_margin: μ_c, μ_b. lam, beta: λ, β.
    Returns:
        {"loss": O, "cosine": L, "bits": Q, "image_hash": L^x, "text_hash": L^y}; scalars.
    """
    unified = masked_mean(unified_steps, mask)
    terms = {"cosine": cosine_margin_loss(unified, similarity, cosine_margin),
             "bits": bit_margin_loss(unified, bit_margin),
             "image_hash": image_hash_loss(image_codes, unified),
             "text_hash": text_hash_loss(text_steps, unified_steps, mask)}
    loss = terms["cosine"] + lam * terms["bits"] + beta * (terms["image_hash"] + terms["text_hash"])
    return {"loss": loss, **terms}
