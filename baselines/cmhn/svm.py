"""CMHN's classification step (Eq. 3): one linear SVM per class on the unified codes, by LibSVM.

"Fixing B and parameters θ, we are left with a support vector machine (SVM) formulation
which can [be] solved through a standard solver [LibSVM] to learn the classification matrix
M in Eq.(3)" (CMHN §2). Eq. 3 couples nothing across classes, so it is C independent
two-class problems (the paper's "K independent class matrices" names the wrong count):

    min_{m_j}  ‖m_j‖² + Σ_n ξ_nj   s.t.  y_nj (m_j^T b_n) ≥ 1 − ξ_nj,  ξ_nj ≥ 0,

with y_nj ∈ {−1, +1} (the hinge constraint needs signed labels; the paper's Y is {0, 1}).
LibSVM's C-SVC minimises ½‖w‖² + C Σ ξ, so Eq. 3's weighting is C = ½ (the paper states no
C; CMHNConfig.svm_c). Linear kernel (``-t 0``): the weight vector is w = Σ_i α_i y_i b_i,
read from the model as sv_coef · (support vectors), and the decision value w^T b − ρ is
positive for ``model.get_labels()[0]`` — the first label LibSVM met in the data — so w is
negated when that label is −1. LibSVM always fits a bias −ρ (Eq. 3 has none); it is
returned for inspection but does not enter the binary code step: Eq. 7 is the minimiser
of Eq. 6, where a bias is a constant in b_n.

LibSVM's C-SVC solver draws no random numbers (only probability estimates and
cross-validation do), so the step is deterministic and has nothing to seed.
"""
from __future__ import annotations

import concurrent.futures
import os

import numpy as np
from libsvm import svmutil
from scipy import sparse


def fit_linear_svm(features: np.ndarray, targets: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """A linear C-SVC: (w, bias) with sign(w^T x + bias) predicting ``targets``.

    Args:
        features: float (n, K), no all-zero row (LibSVM's sparse format would drop it).
        targets: (n,) in {−1, +1}.
        c: LibSVM's C (cost of a unit of slack; ½‖w‖² + C Σ ξ).

    Returns:
        w float64 (K,), bias float. A target with one value only (a class present in every
        sample, or in none) gives w = 0 and bias ±1: LibSVM cannot train a one-class C-SVC.
    """
    features = np.asarray(features, np.float64)
    targets = np.asarray(targets)
    if features.ndim != 2 or targets.shape != (features.shape[0],):
        raise ValueError(f"need features (n, K) and targets (n,), got {features.shape} and {targets.shape}")
    if not np.isin(targets, (-1, 1)).all():
        raise ValueError("targets must be -1 or +1")
    if not c > 0:
        raise ValueError(f"the SVM cost C must be positive, got {c}")
    if (targets == targets[0]).all():
        return np.zeros(features.shape[1]), float(targets[0])
    problem = svmutil.svm_problem(targets.astype(np.float64), sparse.csr_matrix(features))
    model = svmutil.svm_train(problem, svmutil.svm_parameter(f"-s 0 -t 0 -c {c!r} -q"))
    support = np.asarray(model.get_sv_indices(), np.intp) - 1  # LibSVM's indices are 1-based
    coef = np.array([alpha_y[0] for alpha_y in model.get_sv_coef()])
    w = coef @ features[support]
    bias = -float(model.rho[0])
    if model.get_labels()[0] != 1:
        # LibSVM's decision value is positive for the first label it met, here −1.
        w, bias = -w, -bias
    return w, bias


def fit_projection(codes: np.ndarray, labels: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    """The classification step: M = [m_1 … m_C] from the codes B and labels Y (CMHN Eq. 3).

    Args:
        codes: (n, K) unified codes B in {−1, +1}.
        labels: (n, C) labels in {0, 1}; class j is the target y_nj = 2·labels[n, j] − 1.
        c: LibSVM's C (½ for Eq. 3 as written).

    Returns:
        M float64 (K, C), bias float64 (C,).
    """
    codes, labels = np.asarray(codes), np.asarray(labels)
    if codes.ndim != 2 or labels.ndim != 2 or codes.shape[0] != labels.shape[0]:
        raise ValueError(f"need codes (n, K) and labels (n, C), got {codes.shape} and {labels.shape}")
    if not np.isin(codes, (-1, 1)).all():
        raise ValueError("codes must be -1 or +1")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    targets = np.where(labels > 0, 1, -1)
    # The C problems are independent; LibSVM runs outside the GIL (ctypes), so threads use
    # every core. Each result depends on its own problem only: the same M whatever the order.
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(labels.shape[1], os.cpu_count() or 1)) as pool:
        fitted = list(pool.map(lambda j: fit_linear_svm(codes, targets[:, j], c), range(labels.shape[1])))
    projection = np.stack([w for w, _ in fitted], axis=1)
    bias = np.array([b for _, b in fitted])
    return projection, bias
