"""SePH's objective pieces as pure numpy functions (NOTES.md, "Equations"; minKLD.m and SePH.m of
the authors' code).

The n × n affinities P (from labels) and Q (from relaxed codes) are never stored: every sum over
pairs runs over row blocks, so memory is O(block · n) (docs/baselines-research/seph.md §6).
"""
from __future__ import annotations

import numpy as np

# MATLAB's realmin: minKLD.m floors P and Q at it, so that log never sees 0.
REALMIN = np.finfo(np.float64).tiny


def unit_labels(labels: np.ndarray) -> np.ndarray:
    """ŷ, float64 (n, c): label rows scaled to unit length, an all-zero row left as it is
    (SePH.m: ``num1(isinf(num1) | isnan(num1)) = 1``); A = ŷŷᵀ is the cosine affinity."""
    labels = np.asarray(labels, np.float64)
    norms = np.sqrt((labels * labels).sum(axis=1, keepdims=True))
    norms[norms == 0] = 1.0
    return labels / norms


def affinity_total(y_hat: np.ndarray) -> float:
    """Σ_{i≠j} A_ij for A = ŷŷᵀ: ‖Σ_i ŷ_i‖² − Σ_i ‖ŷ_i‖² (P's normaliser without forming A)."""
    return float((y_hat.sum(axis=0) ** 2).sum() - (y_hat ** 2).sum())


def _row_blocks(n: int, block: int | None):
    block = block or max(1, min(n, (1 << 22) // max(n, 1)))
    for start in range(0, n, block):
        yield slice(start, min(n, start + block))


def student_kernel(codes: np.ndarray, rows: slice, sq_norms: np.ndarray) -> np.ndarray:
    """num_IJ = 1 / (1 + ¼‖h_i − h_j‖²) for i in ``rows``, every j, 0 where i = j (minKLD.m);
    for codes in {−1, +1}, ¼‖h_i − h_j‖² is their Hamming distance."""
    distances = sq_norms[rows, None] + sq_norms[None, :] - 2.0 * codes[rows] @ codes.T
    num = 1.0 / (1.0 + 0.25 * distances)
    num[np.arange(rows.stop - rows.start), np.arange(rows.start, rows.stop)] = 0.0
    return num


def affinity_rows(y_hat: np.ndarray, rows: slice, total: float) -> np.ndarray:
    """P_IJ = max(A_ij / Σ A, realmin), 0 → realmin on the diagonal too (minKLD.m)."""
    a = y_hat[rows] @ y_hat.T
    a[np.arange(rows.stop - rows.start), np.arange(rows.start, rows.stop)] = 0.0
    return np.maximum(a / total, REALMIN)


def kl_constant(y_hat: np.ndarray, block: int | None = None) -> float:
    """Σ_ij P_ij log P_ij (minKLD.m's ``const``), P as in ``affinity_rows``."""
    total, n, const = affinity_total(y_hat), len(y_hat), 0.0
    for rows in _row_blocks(n, block):
        p = affinity_rows(y_hat, rows, total)
        const += float((p * np.log(p)).sum())
    return const


# Pairwise blocks are kept between the two passes of an iteration (and P between iterations) while
# n² stays under this many entries (float64: 8 bytes each; 1.6e8 is n ≈ 12,600, 1.3 GB per matrix);
# above it they are recomputed block by block and memory stays O(block · n).
KEEP_PAIRS_LIMIT = 160_000_000


class AffinityBlocks:
    """P in row blocks (``affinity_rows``), computed once and kept when n² ≤ ``KEEP_PAIRS_LIMIT``."""

    def __init__(self, y_hat: np.ndarray, block: int | None = None):
        self.y_hat = y_hat
        self.total = affinity_total(y_hat)
        self.rows = list(_row_blocks(len(y_hat), block))
        self._kept = ([affinity_rows(y_hat, r, self.total) for r in self.rows]
                      if len(y_hat) ** 2 <= KEEP_PAIRS_LIMIT else None)

    def block(self, index: int) -> np.ndarray:
        if self._kept is not None:
            return self._kept[index]
        return affinity_rows(self.y_hat, self.rows[index], self.total)


def kl_and_gradient(codes: np.ndarray, y_hat: np.ndarray, p_scale: float = 1.0, block: int | None = None,
                    affinity: AffinityBlocks | None = None):
    """−Σ_ij (s·P_ij) log Q_ij and its gradient with respect to the codes H (n, r): minKLD.m's
    ``L = (P − Q) .* num; (diag(sum(L, 2)) − L) * H`` with P scaled by s (its early exaggeration),
    in row blocks: one pass for Σ num, one for the rest (``affinity``: P's blocks, reused across
    calls).

    Returns (cross_entropy, gradient (n, r)); KL(P‖Q) = ``kl_constant`` + cross_entropy at s = 1.
    """
    codes = np.asarray(codes, np.float64)
    n = len(codes)
    affinity = affinity or AffinityBlocks(y_hat, block)
    sq_norms = (codes * codes).sum(axis=1)
    keep = n * n <= KEEP_PAIRS_LIMIT
    nums, num_total = [], 0.0
    for rows in affinity.rows:
        num = student_kernel(codes, rows, sq_norms)
        num_total += float(num.sum())
        if keep:
            nums.append(num)
    cross_entropy, gradient = 0.0, np.empty_like(codes)
    for index, rows in enumerate(affinity.rows):
        num = nums[index] if keep else student_kernel(codes, rows, sq_norms)
        q = np.maximum(num / num_total, REALMIN)
        p = affinity.block(index)
        if p_scale != 1.0:
            p = p_scale * p
        cross_entropy -= float((p * np.log(q)).sum())
        lmat = (p - q) * num
        gradient[rows] = lmat.sum(axis=1)[:, None] * codes[rows] - lmat @ codes
    return cross_entropy, gradient


def quantization(codes: np.ndarray) -> float:
    """‖ |H| − 1 ‖²_F: how far the relaxed codes are from ±1."""
    return float(((np.abs(codes) - 1.0) ** 2).sum())


def quantization_gradient(codes: np.ndarray) -> np.ndarray:
    """∂‖ |H| − 1 ‖²_F / ∂H = 2 (|H| − 1) ⊙ sign(H)."""
    return 2.0 * (np.abs(codes) - 1.0) * np.sign(codes)


def logistic_loss(weights: np.ndarray, kernel: np.ndarray, targets: np.ndarray, kernel0: np.ndarray,
                  penalty: float) -> tuple[float, np.ndarray]:
    """SePH's kernel logistic regression objective for one bit and one view and its gradient:
    Σ_i log(1 + exp(−t_i K_i·w)) + λ wᵀK₀w (LogisticLoss.m + penalizedKernelL2.m), no bias.

    kernel K (n, m), targets t (n,) in {−1, +1}, kernel0 K₀ (m, m), weights w (m,)."""
    margins = targets * (kernel @ weights)
    loss = float(np.logaddexp(0.0, -margins).sum()) + penalty * float(weights @ kernel0 @ weights)
    sigma = np.exp(-np.logaddexp(0.0, margins))            # 1 / (1 + exp(margin)), stable
    gradient = -kernel.T @ (targets * sigma) + 2.0 * penalty * kernel0 @ weights
    return loss, gradient
