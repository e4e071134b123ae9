"""CMHN's binary code step (Eq. 6–7).

Fixing M and the networks, each unified code minimises Eq. 6, the class term of Eq. 3 plus λ1
times the quantisation loss of Eq. 4; CMHN solves it in closed form (Eq. 7, "similar to" DGH):

    b_n = sgn(y_n Mᵀ + λ1 (h_un + h_vn)),

y_n (1 × C) the labels of pair n in {0, 1}, as CMHN §2 defines Y: y_n Mᵀ = Σ_{j ∈ labels of n} m_j,
the sum over the sample's own classes that Eq. 6 writes as Σ_j m_{c_n, j}. (Only the SVMs of
Eq. 3 need signed targets. With y ∈ {−1, +1} here every code would also carry the common
offset −Σ_j m_j of the absent classes, most of them for every sample: measured on the
synthetic set, the codes became so unbalanced that the image network collapsed onto the
majority code, mAP at chance; with {0, 1} it learns.) The SVM bias does not appear: it is a
constant of Eq. 6 in b_n. sgn(0) = +1.
"""
from __future__ import annotations

import numpy as np


def binary_code_step(labels, projection, image_outputs, text_outputs, lambda1: float) -> np.ndarray:
    """B from Eq. 7.

    Args:
        labels: Y, (n, C) in {0, 1}.
        projection: M, (K, C), the SVM weight vectors of the classification step.
        image_outputs: H_u, (n, K) image-network outputs of the training pairs.
        text_outputs: H_v, (n, K) text-network outputs.
        lambda1: λ1 (0.2, CMHN §3).

    Returns:
        float32 (n, K) codes in {−1, +1}.
    """
    labels = np.asarray(labels)
    projection = np.asarray(projection, np.float64)
    image_outputs = np.asarray(image_outputs, np.float64)
    text_outputs = np.asarray(text_outputs, np.float64)
    if labels.ndim != 2 or projection.ndim != 2:
        raise ValueError(f"need labels (n, C) and M (K, C), got {labels.shape} and {projection.shape}")
    n, num_labels = labels.shape
    bits = projection.shape[0]
    if projection.shape != (bits, num_labels) or image_outputs.shape != (n, bits) or text_outputs.shape != (n, bits):
        raise ValueError(f"need labels (n, C), M (K, C), H_u and H_v (n, K); got {labels.shape}, "
                         f"{projection.shape}, {image_outputs.shape}, {text_outputs.shape}")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    scores = labels.astype(np.float64) @ projection.T + lambda1 * (image_outputs + text_outputs)
    return np.where(scores >= 0, 1.0, -1.0).astype(np.float32)
