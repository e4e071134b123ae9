"""SCM's objective and its label algebra, as pure numpy functions (NOTES.md, "Equations").

S = 2 L̃ L̃ᵀ − 1 1ᵀ (L̃: binarised labels with unit-length rows) is never formed: every product
with it goes through the labels, O(n c_L) instead of O(n²).
"""
from __future__ import annotations

import numpy as np


def normalized_labels(labels: np.ndarray) -> np.ndarray:
    """L̃, float64 (n, c_L): labels binarised (> 0) and scaled to unit-length rows; an unlabelled
    row stays zero (trainSCM_seq.m divides it by 1e-8)."""
    binary = (np.asarray(labels) > 0).astype(np.float64)
    length = np.sqrt((binary ** 2).sum(axis=1, keepdims=True))
    length[length == 0] = 1e-8
    return binary / length


def semantic_cross_covariance(x: np.ndarray, y: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Xᵀ S Y = 2 (XᵀL̃)(YᵀL̃)ᵀ − (Xᵀ1)(Yᵀ1)ᵀ, float64 (d_x, d_y), for x (n, d_x), y (n, d_y)
    and labels (n, c_L) (trainSCM_seq.m's CxyB)."""
    l_tilde = normalized_labels(labels)
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return 2.0 * (x.T @ l_tilde) @ (y.T @ l_tilde).T - np.outer(x.sum(axis=0), y.sum(axis=0))


def scm_objective(codes_x: np.ndarray, codes_y: np.ndarray, labels: np.ndarray, chunk: int = 1024) -> float:
    """‖B_x B_yᵀ − c S‖²_F / n², the mean squared error of the code inner products against c S,
    for codes (n, c) in {−1, +1} and labels (n, c_L); row blocks of ``chunk`` (no n × n matrix)."""
    codes_x = np.asarray(codes_x, np.float64)
    codes_y = np.asarray(codes_y, np.float64)
    l_tilde = normalized_labels(labels)
    n, bits = codes_x.shape
    total = 0.0
    for start in range(0, n, chunk):
        rows = slice(start, start + chunk)
        target = bits * (2.0 * l_tilde[rows] @ l_tilde.T - 1.0)
        total += float(((codes_x[rows] @ codes_y.T - target) ** 2).sum())
    return total / (n * n)
