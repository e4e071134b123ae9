"""SePH's first step: relaxed codes H of the training items that minimise KL(P‖Q) + α'‖|H| − 1‖²,
by minKLD.m's t-SNE-style gradient descent (momentum, delta-bar-delta gains, early exaggeration,
zero-mean codes, the lowest-cost iterate kept); the training codes are sign(H).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from baselines.seph.losses import (AffinityBlocks, kl_and_gradient, kl_constant, quantization, quantization_gradient,
                                  unit_labels)


@dataclass(frozen=True)
class KLSchedule:
    """minKLD.m's constants (NOTES.md, "Which minKLD.m")."""

    iterations: int = 1000
    learning_rate: float = 100.0
    momentum: float = 0.5
    final_momentum: float = 0.8
    momentum_switch: int = 250            # iteration after which the final momentum is used
    exaggeration: float = 4.0             # P × 4 ("lie about the P-vals") until
    exaggeration_stop: int = 100          # this iteration
    min_gain: float = 0.01
    init_std: float = 1e-4                # H₀ = 1e-4 · randn(n, r)


def learn_codes(labels: np.ndarray, bits: int, alpha: float, schedule: KLSchedule, rng: np.random.Generator,
                block: int | None = None, progress=None) -> dict:
    """minKLD.m on the training labels (n, c): returns {"codes": H (n, bits), "cost": the lowest
    cost, "kl": KL(P‖Q) at H, "quantization": ‖|H| − 1‖² at H}.

    ``alpha`` is minKLD.m's weight, SePH.m's α / (bits · n). ``progress(iteration, cost)`` is called
    every 10 iterations (minKLD.m prints there)."""
    y_hat = unit_labels(labels)
    n = len(y_hat)
    const = kl_constant(y_hat, block)
    affinity = AffinityBlocks(y_hat, block)
    codes = schedule.init_std * rng.standard_normal((n, bits))
    increments = np.zeros_like(codes)
    gains = np.ones_like(codes)
    momentum, p_scale = schedule.momentum, schedule.exaggeration
    best_cost, best_codes = np.finfo(np.float64).max, codes
    for iteration in range(1, schedule.iterations + 1):
        cross_entropy, gradient = kl_and_gradient(codes, y_hat, p_scale, block, affinity)
        gradient = gradient + alpha * quantization_gradient(codes)
        # Delta-bar-delta: grow a gain where the gradient's sign differs from the last step's
        # (MATLAB's sign(0) = 0, so the first step grows every gain).
        same = np.sign(gradient) == np.sign(increments)
        gains = np.where(same, gains * 0.8, gains + 0.2)
        gains = np.maximum(gains, schedule.min_gain)
        increments = momentum * increments - schedule.learning_rate * gains * gradient
        codes = codes + increments
        codes = codes - codes.mean(axis=0)
        if iteration == schedule.momentum_switch:
            momentum = schedule.final_momentum
        if iteration == schedule.exaggeration_stop:
            p_scale = 1.0
        # minKLD.m's cost: Q of the codes before the step, the quantisation of the codes after it,
        # and the codes after it kept as the best (its order of statements).
        cost = const + cross_entropy + alpha * quantization(codes)
        if cost < best_cost:
            best_cost, best_codes = cost, codes
        if progress is not None and iteration % 10 == 0:
            progress(iteration, cost)
    cross_entropy, _ = kl_and_gradient(best_codes, y_hat, 1.0, block, affinity)
    return {"codes": best_codes, "cost": best_cost, "kl": const + cross_entropy,
            "quantization": quantization(best_codes)}
