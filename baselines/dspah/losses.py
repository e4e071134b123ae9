"""DSPAH's losses (§II.C, §III): the FGSC similarity (Eqs. 2–4), the similarity-preserving MSE
terms (Eq. 5) and the quantisation loss (Eq. 6), as pure functions.

Notation: c = code length (``bits``); F (N, c) image outputs, G (N, c) text outputs, B (N, c)
codes in {−1, +1}; labels are multi-hot (·, C).

Eq. 7, L = L_inter + L_intra-image + L_intra-text + L_q, is minimised alternately (§III,
Algorithm 1): θ_x on a mini-batch of images with G fixed, then θ_y on the texts with F
fixed, then B. ``modality_objective`` is the part of Eq. 7 that depends on a mini-batch's
outputs of one network, written so that its gradient with respect to each output row is
exactly ∂L/∂f_i of Eq. 7 (baselines/dspah/NOTES.md):

    J_x = Σ_{i∈batch, j≤N} T(f_i, g_j; S^vt)  +  2 Σ_{i∈batch, j≤N} T(f_i, F_j; S^vv)  +  (1/c) Σ_{i∈batch} ‖b_i − f_i‖²

with T(u, v; s) = ((⟨u, v⟩ + c)/2 − s·c)² and F_j the stored outputs, constant, holding the
batch's own current outputs in its rows. The factor 2: f_i appears in both the (i, j) and
the (j, i) term of Eq. 5's symmetric intra-modality sum, once in the inter-modality sum.
Algorithm 1's printed gradients have typos (f_jk for g_jk in the inter term, q for c, and a
factor 2 on the inter term that Eq. 5 does not give); the equations are followed.
"""
from __future__ import annotations

import tensorflow as tf


def fgsc_similarity(labels_a, labels_b):
    """Fine-Grained Similarity Criterion, Eqs. 2–4: S_ij = |l_i ∩ l_j| / sqrt(|l_i| · |l_j|).

    Args:
        labels_a: (m, C) multi-hot labels (any value > 0 counts as present).
        labels_b: (n, C) multi-hot labels.
    Returns:
        (m, n) float32 in [0, 1]; 1 for identical label sets, 0 for disjoint ones, and 0 for
        an item without labels (DSPAH §II.A has every item labelled; 0 avoids 0/0).
    """
    a = tf.cast(tf.convert_to_tensor(labels_a) > 0, tf.float32)
    b = tf.cast(tf.convert_to_tensor(labels_b) > 0, tf.float32)
    shared = tf.matmul(a, b, transpose_b=True)
    norms = tf.sqrt(tf.reduce_sum(a, axis=1)[:, None] * tf.reduce_sum(b, axis=1)[None, :])
    return tf.math.divide_no_nan(shared, norms)


def similarity_mse(u, v, similarity, bits: int):
    """One term of Eq. 5: Σ_ij ((⟨u_i, v_j⟩ + c)/2 − s_ij · c)².

    Args:
        u: (m, c) outputs; v: (n, c) outputs; similarity: (m, n) FGSC values; bits: c.
    Returns:
        Scalar float32, a sum over the m·n pairs (Eq. 5 sums; it does not average).
    """
    c = float(bits)
    inner = tf.matmul(u, v, transpose_b=True)
    return tf.reduce_sum(tf.square((inner + c) / 2.0 - similarity * c))


def quantization_loss(codes, outputs, bits: int):
    """One modality's half of Eq. 6: (1/c) ‖B − F‖²_F. codes, outputs: (m, c) → scalar."""
    return tf.reduce_sum(tf.square(codes - outputs)) / float(bits)


def modality_objective(outputs, same_modality, other_modality, similarity, codes, bits: int,
                       normalizer=1.0) -> dict:
    """The mini-batch objective of one network's step (module docstring), and its terms.

    Args:
        outputs: (b, c) the network's outputs on the batch (differentiated).
        same_modality: (N, c) the stored outputs of the same network, the batch's rows
            already holding ``outputs`` (treated as constants).
        other_modality: (N, c) the other network's stored outputs (constants).
        similarity: (b, N) FGSC of the batch against the training set (Eqs. 2–4; the three
            matrices of §II.C coincide because the two modalities of a pair share labels).
        codes: (b, c) the batch's rows of B.
        bits: c.
        normalizer: the objective is divided by it (1: the sums of the equations).
    Returns:
        dict with 'inter' (Σ over the b·N inter-modality pairs), 'intra' (Σ over the b·N
        intra-modality pairs, counted once), 'quantization' ((1/c)‖B_b − outputs‖²) and
        'objective' = (inter + 2·intra + quantization) / normalizer.
    """
    same_modality = tf.stop_gradient(same_modality)
    other_modality = tf.stop_gradient(other_modality)
    inter = similarity_mse(outputs, other_modality, similarity, bits)
    intra = similarity_mse(outputs, same_modality, similarity, bits)
    quantization = quantization_loss(codes, outputs, bits)
    objective = (inter + 2.0 * intra + quantization) / normalizer
    return {"inter": inter, "intra": intra, "quantization": quantization, "objective": objective}

