"""SCM's solvers: SCM-orth and SCM-seq on centred features (NOTES.md, "Equations"; the authors'
trainSCM_orth.m, trainSCM_seq.m and trainCCA.m).

Both solve CCA's generalised eigenproblem with the plain cross-covariance XᵀY replaced by the
semantic one C (``losses.semantic_cross_covariance`` times the code length c):

    (C C_yy⁻¹ Cᵀ) w_x = μ C_xx w_x,   w_y = C_yy⁻¹ Cᵀ w_x / √μ,   C_xx = XᵀX + λI, C_yy = YᵀY + λI

SCM-orth takes the top c eigenvectors at once; SCM-seq takes the top one per bit and removes the
bit's contribution from C (C ← C − (Xᵀv_x)(Yᵀv_y)ᵀ, v = sign of the bit on the training items),
stopping when μ grows and keeping plain CCA's directions for the bits left (trainSCM_seq.m).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

from baselines.scm.losses import semantic_cross_covariance


def covariances(x: np.ndarray, y: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """C_xx = XᵀX + ridge·I and C_yy = YᵀY + ridge·I (float64)."""
    return x.T @ x + ridge * np.eye(x.shape[1]), y.T @ y + ridge * np.eye(y.shape[1])


def cca_directions(cxx: np.ndarray, cyy_factor, cross: np.ndarray, k: int):
    """trainCCA.m: the top ``k`` generalised eigenpairs of (C C_yy⁻¹ Cᵀ, C_xx), μ descending.

    Args:
        cxx: (d_x, d_x) symmetric positive definite.
        cyy_factor: ``scipy.linalg.cho_factor(C_yy)``.
        cross: C, (d_x, d_y).
    Returns: (w_x (d_x, k), w_y (d_y, k), μ (k,)).
    """
    d_x = cxx.shape[0]
    m = scipy.linalg.cho_solve(cyy_factor, cross.T)            # C_yy⁻¹ Cᵀ, (d_y, d_x)
    a = cross @ m
    a = 0.5 * (a + a.T)                                         # symmetric up to rounding
    mu, w_x = scipy.linalg.eigh(a, cxx, subset_by_index=[d_x - k, d_x - 1])
    mu, w_x = mu[::-1], w_x[:, ::-1]
    # The division only scales each w_y (its codes do not change); μ ≤ 0 is a direction of no
    # correlation, where trainCCA.m's 1/√μ is not real.
    w_y = m @ w_x / np.sqrt(np.maximum(mu, np.finfo(np.float64).tiny))
    return w_x, w_y, mu


def solve_orth(x: np.ndarray, y: np.ndarray, labels: np.ndarray, bits: int, ridge: float) -> dict:
    """SCM-orth (trainSCM_orth.m) on centred x (n, d_x), y (n, d_y): W_x (d_x, c), W_y (d_y, c), μ (c,)."""
    cxx, cyy = covariances(x, y, ridge)
    cross = bits * semantic_cross_covariance(x, y, labels)
    w_x, w_y, mu = cca_directions(cxx, scipy.linalg.cho_factor(cyy), cross, bits)
    return {"w_x": w_x, "w_y": w_y, "eigenvalues": mu, "sequential_bits": bits}


def solve_seq(x: np.ndarray, y: np.ndarray, labels: np.ndarray, bits: int, ridge: float, progress=None) -> dict:
    """SCM-seq (trainSCM_seq.m) on centred x (n, d_x), y (n, d_y): W_x (d_x, c), W_y (d_y, c), the
    eigenvalue of each sequential bit, and how many bits were solved sequentially (the rest are
    plain CCA's directions of the same rank). ``progress(t)`` is called after bit t."""
    cxx, cyy = covariances(x, y, ridge)
    cyy_factor = scipy.linalg.cho_factor(cyy)
    # trainSCM_seq.m computes plain CCA first: the directions of the bits the loop does not reach.
    w_x, w_y, _ = cca_directions(cxx, cyy_factor, x.T @ y, bits)
    cross = bits * semantic_cross_covariance(x, y, labels)
    eigenvalues, last = [], np.inf
    for t in range(bits):
        wx, wy, mu = cca_directions(cxx, cyy_factor, cross, 1)
        if mu[0] > last:  # "Rarely happens in last bits ... use CCA directly" (trainSCM_seq.m)
            break
        last = mu[0]
        eigenvalues.append(mu[0])
        w_x[:, t], w_y[:, t] = wx[:, 0], wy[:, 0]
        # MATLAB's sign: a projection of exactly 0 contributes nothing to the residual.
        v_x, v_y = np.sign(x @ wx[:, 0]), np.sign(y @ wy[:, 0])
        cross = cross - np.outer(x.T @ v_x, y.T @ v_y)
        if progress is not None:
            progress(t + 1)
    return {"w_x": w_x, "w_y": w_y, "eigenvalues": np.asarray(eigenvalues), "sequential_bits": len(eigenvalues)}
