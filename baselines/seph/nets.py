"""SePH's hash functions: per view, f(x) = k(x) W with k(x)_j = exp(−‖x − z_j‖² / σ²) over m
centres z (kernel logistic regression's decision values); the code is sign(f(x)) (SePH.m:
``sign(queryK1 * w)``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from baselines.seph.kernels import rbf_kernel, rbf_width


@dataclass
class KernelProjection:
    """f(x) = K(x, centres; width) · weights.

    Attributes:
        centres: float64 (m, d); width: σ² of the RBF kernel; weights: float64 (m, bits).
    """

    centres: np.ndarray
    width: float
    weights: np.ndarray

    def __call__(self, rows) -> np.ndarray:
        rows = np.asarray(rows, np.float64)
        if rows.ndim != 2 or rows.shape[1] != self.centres.shape[1]:
            raise ValueError(f"expected rows of shape (n, {self.centres.shape[1]}), got {rows.shape}")
        return rbf_kernel(rows, self.centres, self.width) @ self.weights


def random_kernel_projection(x: np.ndarray, centres: int, bits: int, rng: np.random.Generator) -> KernelProjection:
    """The untrained start: m random training items as centres (SePH_rnd's sampling), Gaussian weights."""
    chosen = np.sort(rng.choice(len(x), min(centres, len(x)), replace=False))
    return KernelProjection(np.asarray(x[chosen], np.float64), rbf_width(x), rng.standard_normal((len(chosen), bits)))
