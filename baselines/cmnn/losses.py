"""CM-NN's contrastive loss (Masci et al., TPAMI 2014; the form as transcribed in
craffel/midi-dataset's cross_modality_hashing.py, NOTES.md "Sources"):

    L_XY = ½ Σ_{(x,y)∈P} ‖ξ(x) − η(y)‖² + ½ Σ_{(x,y)∈N} max(0, m − ‖ξ(x) − η(y)‖)²

ξ, η the tanh outputs of the image and text networks; P the pairs sharing a label (SDCH's
similarity), N the others; the hinge is on the distance, then squared. Here every (image i,
text j) pair of a batch takes part and the sum is divided by the number of pairs (b²).
"""
from __future__ import annotations

from keras import ops


def pairwise_distances(a, b):
    """Euclidean distances ‖a_i − b_j‖: float (n, m) of float (n, k) and (m, k); differentiable at
    0 (a small floor under the square root: pairs of equal codes are common)."""
    squared = ops.sum(ops.square(a), axis=1)[:, None] + ops.sum(ops.square(b), axis=1)[None, :] \
        - 2.0 * ops.matmul(a, ops.transpose(b))
    return ops.sqrt(ops.maximum(squared, 1e-12))


def contrastive_loss(a, b, similarity, margin):
    """½ mean over all (i, j) of s_ij·d_ij² + (1 − s_ij)·max(0, m − d_ij)².

    Args:
        a: float (n, k) codes of one side; b: float (m, k) of the other.
        similarity: float (n, m) in {0, 1}.
        margin: m.
    Returns: a float scalar.
    """
    d = pairwise_distances(a, b)
    per_pair = similarity * ops.square(d) + (1.0 - similarity) * ops.square(ops.relu(margin - d))
    return 0.5 * ops.mean(per_pair)


def label_similarity(labels_a, labels_b):
    """s_ij = 1 if items i and j share a label (SDCH §3.1): float (n, m) of float (n, C), (m, C)."""
    return ops.cast(ops.matmul(labels_a, ops.transpose(labels_b)) > 0, "float32")


def cmnn_loss(image_codes, text_codes, labels, margin, image_intra_weight: float = 0.0,
              text_intra_weight: float = 0.0) -> dict:
    """L_XY (+ weighted L_X, L_Y of MM-NN) on a batch: codes float (b, k), labels float (b, C).
    Returns {"loss", "cross_modal", "image_intra", "text_intra"} float scalars."""
    s = label_similarity(labels, labels)
    cross = contrastive_loss(image_codes, text_codes, s, margin)
    image_intra = contrastive_loss(image_codes, image_codes, s, margin)
    text_intra = contrastive_loss(text_codes, text_codes, s, margin)
    loss = cross + image_intra_weight * image_intra + text_intra_weight * text_intra
    return {"loss": loss, "cross_modal": cross, "image_intra": image_intra, "text_intra": text_intra}
