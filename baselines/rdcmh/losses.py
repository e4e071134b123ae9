"""RDCMH's objective, Eq. 4: weighted triplet ranking terms (Eqs. 3, 5) and quantisation.

    L = Σ_q Σ_(i,j) [(1 − s^xx_ij)[δdH_xx]_+ + (1 − s^yy_ij)[δdH_yy]_+
                     + (1 − s^yx_ij)[δdH_yx]_+ + (1 − s^xy_ij)[δdH_xy]_+]
        + λ/2 (‖B − F‖² + ‖B − G‖²)

    δdH_xx = dH(x_q, x_i) − dH(x_q, x_j)      δdH_yy = dH(y_q, y_i) − dH(y_q, y_j)
    δdH_xy = dH(x_q, x_i) − dH(y_q, y_j)      δdH_yx = dH(y_q, y_i) − dH(x_q, x_j)     (Eq. 5)

for the pairs (i, j) in which i is more similar to q than j (Eq. 3: j with s_qi > s_qj). The
Hamming distance is written through the inner product, dH(a, b) = (c − aᵀb)/2 (§Optimization),
on the real-valued network outputs F (images) and G (texts), the usual relaxation; sign(·) has
no gradient. The cross terms are taken as Eq. 5 prints them — an image–image distance against
a text–text distance — which Eqs. 9–10 confirm (∂/∂F_i has (1 − s^xy)h(F_q) from dH(x_q, x_i)).

Orientation: each term ranks by its own list (§Semi-supervised Semantic Ranking gives three:
r^x from S^xx, r^y from S^yy, r^xy from S^xy): a pair counts for the xx term in the order
S^xx puts it, for yy in S^yy's order, for xy and yx in S^xy's order, and not at all where that
similarity ties (Eq. 3's strict s_qi > s_qj). The weights 1 − s_ij are symmetric in i, j.

Sums, not means, as Eq. 4 writes them. Shapes: b queries, k points per query, P pairs
(``triplets.PAIRS``), r bits.
"""
from __future__ import annotations

import tensorflow as tf

from baselines.rdcmh.triplets import PAIRS

RANKING_TERMS = ("xx", "yy", "xy", "yx")
_FIRST = [i for i, _ in PAIRS]
_SECOND = [j for _, j in PAIRS]


def relaxed_hamming(query, points):
    """dH = (r − ⟨query, point⟩)/2 for query (b, r) and points (b, k, r) → (b, k)."""
    bits = tf.cast(tf.shape(query)[-1], query.dtype)
    return 0.5 * (bits - tf.einsum("br,bkr->bk", query, points))


def _orient(s_qm, d):
    """For each pair (i, j): (d of the point closer to q, d of the other, 1 if s_qi ≠ s_qj else 0),
    closeness by s_qm (b, k); d (b, k) → three (b, P)."""
    s_i, s_j = tf.gather(s_qm, _FIRST, axis=1), tf.gather(s_qm, _SECOND, axis=1)
    d_i, d_j = tf.gather(d, _FIRST, axis=1), tf.gather(d, _SECOND, axis=1)
    first_closer = s_i > s_j
    valid = tf.cast(tf.not_equal(s_i, s_j), d.dtype)
    return tf.where(first_closer, d_i, d_j), tf.where(first_closer, d_j, d_i), valid


def ranking_terms(f_q, f_m, g_q, g_m, s_qm_image, s_qm_text, s_mm_image, s_mm_text, margin: float = 0.0):
    """The four weighted triplet ranking sums of Eq. 4 over a batch of triplets.

    Args:
        f_q: (b, r) image outputs F of the queries; f_m: (b, k, r) of their k points.
        g_q, g_m: the same for the text outputs G.
        s_qm_image, s_qm_text: (b, k) S^xx, S^yy between each query and its points.
        s_mm_image, s_mm_text: (b, P) S^xx, S^yy between the two points of each pair.
        margin: added inside [·]_+ (0 in Eqs. 2–5).

    Returns:
        {'xx', 'yy', 'xy', 'yx'}: scalar sums over queries and pairs.
    """
    d_x, d_y = relaxed_hamming(f_q, f_m), relaxed_hamming(g_q, g_m)   # (b, k)
    s_qm_cross = 0.5 * (s_qm_image + s_qm_text)                       # S^xy = (S^xx + S^yy)/2
    s_mm_cross = 0.5 * (s_mm_image + s_mm_text)

    def hinge(weight_s, valid, closer, farther):
        return tf.reduce_sum((1.0 - weight_s) * valid * tf.nn.relu(margin + closer - farther))

    x_near, x_far, x_valid = _orient(s_qm_image, d_x)
    y_near, y_far, y_valid = _orient(s_qm_text, d_y)
    cx_near, cx_far, c_valid = _orient(s_qm_cross, d_x)
    cy_near, cy_far, _ = _orient(s_qm_cross, d_y)
    return {
        "xx": hinge(s_mm_image, x_valid, x_near, x_far),
        "yy": hinge(s_mm_text, y_valid, y_near, y_far),
        "xy": hinge(s_mm_cross, c_valid, cx_near, cy_far),   # dH(x_q, x_i) − dH(y_q, y_j)
        "yx": hinge(s_mm_cross, c_valid, cy_near, cx_far),   # dH(y_q, y_i) − dH(x_q, x_j)
    }


def quantization_loss(codes, outputs, lam: float):
    """λ/2 ‖B − outputs‖²_F for codes B and network outputs of the same shape (Eq. 4)."""
    return 0.5 * lam * tf.reduce_sum(tf.square(codes - outputs))
