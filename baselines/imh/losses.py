"""IMH's matrices as pure numpy functions (NOTES.md, "Equations"; the authors' crossMediaTraining.m
and Laplacian_GK.m). Rows are items (the MATLAB code's columns)."""
from __future__ import annotations

import numpy as np


def knn_laplacian(x: np.ndarray, k: int) -> np.ndarray:
    """L = D − W (n, n) of x (n, d)'s kNN graph: W_ij = 1 for the k nearest j of i (squared
    Euclidean, a stable sort of row i with its first entry skipped, as Laplacian_GK.m's
    ``idx(i, 2:k+1)``), symmetrised as (W + Wᵀ)/2; D = diag(W 1). The heat-kernel weight is commented
    out in every copy of the code, so the weights are 0/1."""
    x = np.asarray(x, np.float64)
    n = len(x)
    sq = (x * x).sum(axis=1)
    distances = sq[:, None] + sq[None, :] - 2.0 * x @ x.T
    order = np.argsort(distances, axis=1, kind="stable")[:, 1:k + 1]
    w = np.zeros((n, n))
    w[np.repeat(np.arange(n), order.shape[1]), order.ravel()] = 1.0
    w = 0.5 * (w + w.T)
    return np.diag(w.sum(axis=1)) - w


def ridge_residual(x: np.ndarray, beta: float) -> np.ndarray:
    """B = I − X (XᵀX + βI)⁻¹ Xᵀ (n, n) for x (n, d): min_W ‖XW − Y‖² + β‖W‖² = tr(Yᵀ B Y)
    (crossMediaTraining.m: ``A1 = eyemat_1 - (X1')/M1*X1; %B in the paper``)."""
    x = np.asarray(x, np.float64)
    gram = x.T @ x + beta * np.eye(x.shape[1])
    return np.eye(len(x)) - x @ np.linalg.solve(gram, x.T)


def ridge_projection(x: np.ndarray, y: np.ndarray, beta: float) -> np.ndarray:
    """W = (XᵀX + βI)⁻¹ Xᵀ Y (d, r): the hash projection onto the relaxed codes y (n, r)."""
    x = np.asarray(x, np.float64)
    return np.linalg.solve(x.T @ x + beta * np.eye(x.shape[1]), x.T @ y)


def imh_objective(y1: np.ndarray, y2: np.ndarray, b1, b2, l1, l2, lam: float, inter_weight: float) -> float:
    """tr(Y₁ᵀB₁Y₁) + tr(Y₂ᵀB₂Y₂) + λ tr(Y₁ᵀL₁Y₁) + λ tr(Y₂ᵀL₂Y₂) + u‖Y₁ − Y₂‖²: the objective
    with W eliminated, fully paired items (S₁ = S₂ = I)."""
    def tr(a, m):
        return float(np.sum(a * (m @ a)))
    return tr(y1, b1) + tr(y2, b2) + lam * (tr(y1, l1) + tr(y2, l2)) + inter_weight * float(((y1 - y2) ** 2).sum())
