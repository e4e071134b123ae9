"""IMH's solution for fully paired items (crossMediaTraining.m with S₁ = S₂ = I, U = uI):

    E = (B₂ + λL₂ + uI)⁻¹ u                        Y₂ = E Y₁                    ("E in the paper")
    C = B₁ + EᵀB₂E + u(I − E)ᵀ(I − E) + λL₁ + λEᵀL₂E                          ("C in the paper")
    Y₁ = r eigenvectors of C with the smallest eigenvalues (the smallest skipped: idx(2:r+1))
    W_g = (X_gᵀX_g + βI)⁻¹ X_gᵀ Y_g
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

from baselines.imh.losses import imh_objective, knn_laplacian, ridge_projection, ridge_residual
from sdch_tf.training.closed_form import signs
from sdch_tf.training.selection import held_out_mask, held_out_score


def solve_imh(x1: np.ndarray, x2: np.ndarray, bits: int, neighbours: int, beta: float, lam: float,
              inter_weight: float, skip_smallest: bool = True) -> dict:
    """IMH on centred, paired x1 (n, d₁) and x2 (n, d₂): {"w1", "w2", "y1", "y2", "eigenvalues",
    "objective" (``losses.imh_objective`` at the solution)}."""
    n = len(x1)
    first = 1 if skip_smallest else 0
    if bits + first > n:
        raise ValueError(f"{bits} bits need {bits + first} eigenvectors of an {n} × {n} problem")
    b1, b2 = ridge_residual(x1, beta), ridge_residual(x2, beta)
    l1, l2 = knn_laplacian(x1, neighbours), knn_laplacian(x2, neighbours)
    e = inter_weight * np.linalg.inv(b2 + lam * l2 + inter_weight * np.eye(n))
    residual = np.eye(n) - e
    c = b1 + e.T @ b2 @ e + inter_weight * residual.T @ residual + lam * l1 + lam * e.T @ l2 @ e
    c = 0.5 * (c + c.T)
    values, vectors = scipy.linalg.eigh(c, subset_by_index=[first, first + bits - 1])
    y1 = vectors
    y2 = e @ y1
    return {"w1": ridge_projection(x1, y1, beta), "w2": ridge_projection(x2, y2, beta), "y1": y1, "y2": y2,
            "eigenvalues": values, "objective": imh_objective(y1, y2, b1, b2, l1, l2, lam, inter_weight)}


# interMediaHashing.m: ``for beta=-6:3:6, for lambda=-6:3:6`` (10^beta, 10^lambda).
GRID = (1e-6, 1e-3, 1.0, 1e3, 1e6)


def limit_codes(x1: np.ndarray, x2: np.ndarray, bits: int, residuals: np.ndarray, laplacians: np.ndarray,
                beta: float, lam: float, skip_smallest: bool) -> tuple[np.ndarray, np.ndarray]:
    """(W₁, W₂) of IMH as u → ∞: Y = r eigenvectors of B₁ + B₂ + λ(L₁ + L₂) with the smallest
    eigenvalues, Y₁ = Y₂ = Y (C = C∞ + O(1/u); NOTES.md, "β and λ"). For the parameter search only:
    ``residuals`` = B₁ + B₂ at this β and ``laplacians`` = L₁ + L₂ come from the caller, which keeps
    them across the grid."""
    c = residuals + lam * laplacians
    first = 1 if skip_smallest else 0
    _, y = scipy.linalg.eigh(0.5 * (c + c.T), subset_by_index=[first, first + bits - 1])
    return ridge_projection(x1, y, beta), ridge_projection(x2, y, beta)


def select_parameters(x1: np.ndarray, x2: np.ndarray, labels: np.ndarray, bits: int, neighbours: int,
                      skip_smallest: bool, rng: np.random.Generator, held_out: float = 0.2,
                      top_k: int | None = 500, grid_beta=GRID, grid_lam=GRID) -> tuple[float, float, dict]:
    """SDCH §4.2's "cross-validation" over the original's grid: fit on a seeded (1 − held_out) of the
    training pairs, score mAP@top_k of the held-out pairs as queries (both directions, averaged)
    against the fitted part, keep the best (β, λ). Labels are read for this choice only.
    Returns (β, λ, {"beta=…,lambda=…": score})."""
    held = held_out_mask(len(x1), held_out, rng)
    fit1, fit2 = x1[~held], x2[~held]
    laplacians = knn_laplacian(fit1, neighbours) + knn_laplacian(fit2, neighbours)
    scores = {}
    for beta in grid_beta:
        residuals = ridge_residual(fit1, beta) + ridge_residual(fit2, beta)
        for lam in grid_lam:
            w1, w2 = limit_codes(fit1, fit2, bits, residuals, laplacians, beta, lam, skip_smallest)
            m1, m2 = np.median(fit1 @ w1, axis=0), np.median(fit2 @ w2, axis=0)
            scores[f"beta={beta:g},lambda={lam:g}"] = held_out_score(signs(x1 @ w1 - m1), signs(x2 @ w2 - m2),
                                                                     labels, held, top_k)
    best = max(scores, key=scores.get)
    beta, lam = (float(part.split("=")[1]) for part in best.split(","))
    return beta, lam, scores
