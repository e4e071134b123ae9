"""SePH's second step: per view and per bit, kernel logistic regression from the features to the
training codes, on an RBF kernel over m centres (SePH.m, kernelMatrix.m, LogisticLoss.m,
penalizedKernelL2.m; minFunc's L-BFGS)."""
from __future__ import annotations

import numpy as np
import scipy.linalg

from baselines.seph.losses import logistic_loss


def rbf_width(x: np.ndarray) -> float:
    """σ² = the mean of ‖x_i − x_j‖² over all n² ordered pairs, diagonal included (SePH.m's
    ``k1.param = mean(z(:))``), in closed form: 2·mean‖x_i‖² − 2‖mean x_i‖²."""
    x = np.asarray(x, np.float64)
    return float(2.0 * (x * x).sum(axis=1).mean() - 2.0 * (x.mean(axis=0) ** 2).sum())


def rbf_kernel(x: np.ndarray, centres: np.ndarray, width: float, block: int = 4096) -> np.ndarray:
    """K (n, m) = exp(−‖x_i − z_j‖² / σ²) (kernelMatrix.m, type 0: no factor 2), rows in blocks."""
    x, centres = np.asarray(x, np.float64), np.asarray(centres, np.float64)
    c_sq = (centres * centres).sum(axis=1)
    out = np.empty((len(x), len(centres)))
    for start in range(0, len(x), block):
        rows = x[start:start + block]
        sq = (rows * rows).sum(axis=1)[:, None] + c_sq[None, :] - 2.0 * rows @ centres.T
        out[start:start + block] = np.exp(-np.maximum(sq, 0.0) / width)
    return out


def kmeans_centres(x: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 100) -> np.ndarray:
    """MATLAB ``kmeans(x, k, 'Start', 'sample', 'EmptyAction', 'singleton', 'MaxIter', 100,
    'OnlinePhase', 'off')``: Lloyd's iterations from k distinct random items; an emptied cluster is
    given the item farthest from its centre. Returns the centres (k, d)."""
    x = np.asarray(x, np.float64)
    if k > len(x):
        raise ValueError(f"{k} centres for {len(x)} items")
    centres = x[rng.choice(len(x), k, replace=False)].copy()
    x_sq = (x * x).sum(axis=1)
    assignment = None
    for _ in range(iterations):
        distances = x_sq[:, None] + (centres * centres).sum(axis=1)[None, :] - 2.0 * x @ centres.T
        new = distances.argmin(axis=1)
        if assignment is not None and np.array_equal(new, assignment):
            break
        assignment = new
        counts = np.bincount(assignment, minlength=k)
        sums = np.zeros_like(centres)
        np.add.at(sums, assignment, x)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
        for empty in np.flatnonzero(~filled):
            own = distances[np.arange(len(x)), assignment]
            farthest = int(own.argmax())
            centres[empty] = x[farthest]
            assignment[farthest] = empty
            distances[farthest, :] = np.inf
            distances[farthest, empty] = 0.0
    return centres


def fit_logistic(kernel: np.ndarray, targets: np.ndarray, kernel0: np.ndarray, penalty: float,
                 max_iterations: int = 500) -> np.ndarray:
    """w (m,): the minimiser of ``losses.logistic_loss`` (strictly convex: K₀ is positive definite),
    by Newton's method with backtracking from w = 0, to a Newton decrement below 1e-10 (or
    ``max_iterations`` steps). SePH.m runs minFunc's L-BFGS for at most 500 iterations on the same
    objective; Newton reaches its minimum in ~10 steps (NOTES.md, "Logistic regressions")."""
    weights = np.zeros(kernel.shape[1])
    value, gradient = logistic_loss(weights, kernel, targets, kernel0, penalty)
    for _ in range(max_iterations):
        probability = np.exp(-np.logaddexp(0.0, -targets * (kernel @ weights)))   # σ(t k·w)
        curvature = probability * (1.0 - probability)
        hessian = kernel.T @ (curvature[:, None] * kernel) + 2.0 * penalty * kernel0
        step = scipy.linalg.solve(hessian, gradient, assume_a="pos")
        decrement = float(gradient @ step)
        if decrement / 2 < 1e-10:
            break
        rate = 1.0
        while True:
            candidate = weights - rate * step
            new_value, new_gradient = logistic_loss(candidate, kernel, targets, kernel0, penalty)
            if new_value <= value - 1e-4 * rate * decrement or rate < 1e-10:
                break
            rate /= 2
        weights, value, gradient = candidate, new_value, new_gradient
    return weights
