"""Iterative Quantisation (Gong & Lazebnik, TPAMI 2013; SDCH ref. [13]).

SDCH initialises B by ITQ on all z_i, i = 1..m+n, after the first epoch (SDCH §4.2,
Algorithm 1): centre, project on the top ``bits`` principal directions (V), then
alternate B = sgn(V R) and the orthogonal Procrustes update of R that minimises
‖B − V R‖²_F.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def sign(x: np.ndarray) -> np.ndarray:
    """Elementwise sign with sign(0) = +1 (docs/reproduction.md §1), as int8 in {−1, +1}."""
    return np.where(np.asarray(x) >= 0, 1, -1).astype(np.int8)


@dataclass(frozen=True)
class ITQResult:
    """codes: int8 (n, bits) in {−1, +1}; mean: (d,); projection: (d, bits) PCA directions;
    rotation: (bits, bits) orthogonal; losses: ‖B − V R‖²_F before each rotation update."""

    codes: np.ndarray
    mean: np.ndarray
    projection: np.ndarray
    rotation: np.ndarray
    losses: np.ndarray

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Codes for new rows x (n, d) with the learned mean, projection and rotation."""
        return sign((np.asarray(x, np.float64) - self.mean) @ self.projection @ self.rotation)


def centre_per_group(x: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """x (n, d) with each group's rows centred on that group's own mean; ``groups``: (n,) ids.

    Before a joint ITQ on two modalities' outputs: it removes the gap between their means, which
    would otherwise be the first principal direction (docs/reproduction.md §1).
    """
    x = np.array(x, dtype=np.float64)
    groups = np.asarray(groups)
    if groups.shape != (len(x),):
        raise ValueError(f"groups must have shape ({len(x)},), got {groups.shape}")
    for group in np.unique(groups):
        rows = groups == group
        x[rows] -= x[rows].mean(axis=0)
    return x


def itq(x: np.ndarray, bits: int, iterations: int = 50, seed: int = 0) -> ITQResult:
    """Learn ITQ codes for the rows of x.

    Args:
        x: (n, d) data, d ≥ bits.
        bits: code length r.
        iterations: rotation updates (50, as in Gong & Lazebnik's experiments).
        seed: for the random orthogonal initial rotation.
    Returns:
        ``ITQResult`` whose ``losses`` (length ``iterations``) never increase.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < bits:
        raise ValueError(f"ITQ needs data of shape (n, d) with d >= bits={bits}, got {x.shape}")
    mean = x.mean(axis=0)
    centred = x - mean
    # Top-`bits` eigenvectors of the covariance, largest first.
    eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred)
    projection = eigenvectors[:, np.argsort(eigenvalues)[::-1][:bits]]
    v = centred @ projection

    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((bits, bits)))
    losses = np.empty(iterations)
    for it in range(iterations):
        b = sign(v @ rotation).astype(np.float64)
        losses[it] = np.sum((b - v @ rotation) ** 2)
        # Procrustes: maximise tr(Bᵀ V R). With Bᵀ V = U S Vh (numpy's svd), R = Vh.T @ U.T.
        u, _, vh = np.linalg.svd(b.T @ v)
        rotation = vh.T @ u.T
    return ITQResult(sign(v @ rotation), mean, projection, rotation, losses)
