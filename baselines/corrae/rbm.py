"""CorrAE's first stage: per-modality RBM stacks trained by contrastive divergence, then frozen.

A transcription of the authors' deepnet trainer for ``model_type: DBM`` with ``optimizer: CD``
(dbm.py ``PositivePhase`` / ``NegativePhase``, layer.py ``CollectSufficientStatistics`` and
``GetSparsityGradient``, edge.py ``CollectSufficientStatistics``, parameter.py ``Update``;
NOTES.md, "RBM stage"). In numpy (float32): CD is not a gradient of a loss, so ``keras.Model.fit``
has nothing to differentiate; the Corr-AE stage that follows is a Keras model.

Units: hidden units are logistic. Visible units are
    gaussian            real inputs standardised by the training mean and std (``normalize: true``),
                        unit variance, reconstructed by their mean (deepnet's linear layer does not
                        sample without a learned precision);
    replicated_softmax  word counts v with N = Σ v: hidden input up·(v W) + N·c, reconstruction
                        N·softmax(h Wᵀ + b), the edge statistics on v / N (Salakhutdinov & Hinton's
                        replicated softmax as deepnet computes it);
    logistic            probabilities (the lower RBM's hidden probabilities), reconstructed by their mean.
Inputs are never sampled (``sample_input: false``); hidden units are sampled between the
positive and the negative phase and at each further Gibbs step.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

VISIBLE_KINDS = ("gaussian", "replicated_softmax", "logistic")
TINY = 1e-10  # deepnet's self.tiny: a document of no words has N = TINY, not 0


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + e^−x), without overflow warnings


@dataclass
class RBM:
    """The parameters of one RBM.

    Attributes:
        kind: the visible units (``VISIBLE_KINDS``).
        weights: float32 (V, H).
        visible_bias: float32 (V,).
        hidden_bias: float32 (H,).
        up_factor: the visible→hidden input is multiplied by it (deepnet's edge ``up_factor``).
    """

    kind: str
    weights: np.ndarray
    visible_bias: np.ndarray
    hidden_bias: np.ndarray
    up_factor: float = 1.0

    def hidden_probabilities(self, visible: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """σ(up·(v W) + c), with c scaled by each document's length N for replicated softmax;
        float32 (n, H) of visible (n, V) (``lengths`` (n,): N, computed from v when None)."""
        pre = self.up_factor * (visible @ self.weights)
        if self.kind == "replicated_softmax":
            lengths = document_lengths(visible) if lengths is None else lengths
            pre += lengths[:, None] * self.hidden_bias
        else:
            pre += self.hidden_bias
        return sigmoid(pre).astype(np.float32)

    def visible_means(self, hidden: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """The visible units' means given hidden states (n, H): linear (gaussian), σ (logistic),
        N·softmax (replicated softmax, ``lengths`` (n,) = N)."""
        pre = hidden @ self.weights.T + self.visible_bias
        if self.kind == "gaussian":
            return pre.astype(np.float32)
        if self.kind == "logistic":
            return sigmoid(pre).astype(np.float32)
        pre = pre - pre.max(axis=1, keepdims=True)
        expd = np.exp(pre)
        return (lengths[:, None] * expd / expd.sum(axis=1, keepdims=True)).astype(np.float32)


def document_lengths(counts: np.ndarray) -> np.ndarray:
    """N = Σ v + TINY per row (replicated_softmax_layer.py ``GetData``)."""
    return (counts.sum(axis=1) + TINY).astype(np.float32)


def initial_rbm(config, visible_units: int, rng: np.random.Generator) -> RBM:
    """Weights N(0, std²) with std = 1/√H (DENSE_GAUSSIAN_SQRT_FAN_IN, sigma 1: deepnet divides by
    the edge's second dimension, the hidden layer) or ``config.init_std``; biases 0 (CONSTANT)."""
    hidden = config.hidden_units
    std = 1.0 / np.sqrt(hidden) if config.init_std is None else config.init_std
    return RBM(config.visible, (std * rng.standard_normal((visible_units, hidden))).astype(np.float32),
               np.zeros(visible_units, np.float32), np.zeros(hidden, np.float32), float(config.up_factor))


def momentum_at(step: int, initial: float, final: float, change_steps: int) -> float:
    """final − (final − initial)·exp(−t / change_steps) (parameter.py ``GetMomentumAndEpsilon``)."""
    return float(final - (final - initial) * np.exp(-step / change_steps))


def rate_at(step: int, base: float, half_life: int) -> float:
    """base / (1 + t / half_life) (INVERSE_T decay, parameter.py)."""
    return float(base / (1.0 + step / half_life))


def gibbs_steps_at(step: int, config) -> int:
    """CD-k's k at step t: gibbs_steps, and after start_step_up_cd_after 1 + (t − start) // every
    more (dbm.py ``NegativePhase``, Python 2 integer division)."""
    start = config.cd_step_up_after
    if 0 < start < step:
        return config.cd_steps + 1 + (step - start) // config.cd_step_up_every
    return config.cd_steps


@dataclass
class CDState:
    """What a CD step carries to the next: the update histories (deepnet's ``gradient_history``)
    and the damped mean activity of each hidden unit (``means``, starting at the target)."""

    weights_velocity: np.ndarray
    visible_velocity: np.ndarray
    hidden_velocity: np.ndarray
    hidden_means: np.ndarray

    @classmethod
    def start(cls, rbm: RBM, sparsity_target: float) -> CDState:
        return cls(np.zeros_like(rbm.weights), np.zeros_like(rbm.visible_bias), np.zeros_like(rbm.hidden_bias),
                   np.full_like(rbm.hidden_bias, sparsity_target))


def cd_statistics(rbm: RBM, config, visible: np.ndarray, state: CDState, step: int, rng: np.random.Generator):
    """The negated gradient estimates of one CD-k step on a batch (B, V), before the update:
    (weights (V, H), visible bias (V,), hidden bias (H,)) as Σ_batch (positive − negative) / B,
    with the sparsity term on the positive hidden statistics; updates ``state.hidden_means``.

    The positive hidden statistics are h₀ − s, s = cost·(ρ̂ − target) / (ρ̂(1 − ρ̂)), where ρ̂ is the
    damped batch mean of h₀ (layer.py ``GetSparsityGradient``, logistic divisor); replicated
    softmax visible statistics enter the weights as v / N and the visible bias as v (edge.py and
    layer.py ``CollectSufficientStatistics``).
    """
    batch = visible.shape[0]
    lengths = document_lengths(visible) if rbm.kind == "replicated_softmax" else None
    positive_hidden = rbm.hidden_probabilities(visible, lengths)
    damping = config.sparsity_damping
    batch_mean = positive_hidden.mean(axis=0)
    state.hidden_means = (damping * state.hidden_means + (1 - damping) * batch_mean).astype(np.float32)
    means = state.hidden_means
    sparsity = config.sparsity_cost * (means - config.sparsity_target) / (means * (1 - means))
    positive_hidden_stats = positive_hidden - sparsity

    def edge_visible(v):
        return v / lengths[:, None] if lengths is not None else v

    positive_weights = edge_visible(visible).T @ positive_hidden_stats
    hidden_sample = (rng.random(positive_hidden.shape) < positive_hidden).astype(np.float32)
    for _ in range(gibbs_steps_at(step, config)):
        negative_visible = rbm.visible_means(hidden_sample, lengths)
        negative_hidden = rbm.hidden_probabilities(negative_visible, lengths)
        hidden_sample = (rng.random(negative_hidden.shape) < negative_hidden).astype(np.float32)
    negative_weights = edge_visible(negative_visible).T @ negative_hidden
    return ((positive_weights - negative_weights) / batch,
            (visible.sum(axis=0) - negative_visible.sum(axis=0)) / batch,
            (positive_hidden_stats.sum(axis=0) - negative_hidden.sum(axis=0)) / batch)


def cd_update(rbm: RBM, config, visible: np.ndarray, state: CDState, step: int, rng: np.random.Generator) -> None:
    """One CD step in place: deepnet's update v ← m·v + g (+ λ·W for the weights only),
    θ ← θ − ε·v, with g the negated statistics of ``cd_statistics`` (parameter.py ``Update``)."""
    d_weights, d_visible, d_hidden = cd_statistics(rbm, config, visible, state, step, rng)
    momentum = momentum_at(step, config.initial_momentum, config.final_momentum, config.momentum_change_steps)
    rate = rate_at(step, config.base_rate, config.rate_half_life)
    state.weights_velocity = momentum * state.weights_velocity - d_weights + config.weight_decay * rbm.weights
    state.visible_velocity = momentum * state.visible_velocity - d_visible
    state.hidden_velocity = momentum * state.hidden_velocity - d_hidden
    rbm.weights = (rbm.weights - rate * state.weights_velocity).astype(np.float32)
    rbm.visible_bias = (rbm.visible_bias - rate * state.visible_velocity).astype(np.float32)
    rbm.hidden_bias = (rbm.hidden_bias - rate * state.hidden_velocity).astype(np.float32)


def batch_order(n: int, batch_size: int, steps: int, rng: np.random.Generator):
    """Row batches for ``steps`` steps: passes over the n rows, each in a fresh random order
    (``randomize: true``); a pass's last rows are carried into the next pass's first batch."""
    pending = np.zeros(0, np.int64)
    for _ in range(steps):
        while len(pending) < batch_size:
            pending = np.concatenate([pending, rng.permutation(n)])
        yield pending[:batch_size]
        pending = pending[batch_size:]


def reconstruction_error(rbm: RBM, visible: np.ndarray) -> float:
    """Mean squared error per item of the mean-field reconstruction v → h → v̂ (deepnet's
    evaluation loss; on v / N for replicated softmax, ``normalize_error``)."""
    lengths = document_lengths(visible) if rbm.kind == "replicated_softmax" else None
    recon = rbm.visible_means(rbm.hidden_probabilities(visible, lengths), lengths)
    if lengths is not None:
        visible, recon = visible / lengths[:, None], recon / lengths[:, None]
    return float(((recon - visible) ** 2).sum(axis=1).mean())


def train_rbm(config, visible: np.ndarray, rng: np.random.Generator, name: str = "rbm", verbose: int = 1) -> RBM:
    """An RBM trained by CD on ``visible`` (n, V) float32 for ``config.steps`` steps."""
    visible = np.asarray(visible, np.float32)
    rbm = initial_rbm(config, visible.shape[1], rng)
    state = CDState.start(rbm, config.sparsity_target)
    start = time.perf_counter()
    report_every = max(1, config.steps // 5)
    for step, rows in enumerate(batch_order(len(visible), config.batch_size, config.steps, rng)):
        cd_update(rbm, config, visible[rows], state, step, rng)
        if verbose and (step + 1) % report_every == 0:
            probe = visible[:2000]
            print(f"  {name}: step {step + 1}/{config.steps}, reconstruction error "
                  f"{reconstruction_error(rbm, probe):.4g}, mean hidden activity {state.hidden_means.mean():.3f}, "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
    return rbm


def train_stack(configs, visible: np.ndarray, rng: np.random.Generator, name: str, verbose: int = 1) -> list[RBM]:
    """RBMs trained greedily: each on the hidden probabilities of the one below (deepnet's
    extract_rbm_representation.py between runall_rbm.sh's stages)."""
    rbms, inputs = [], np.asarray(visible, np.float32)
    for level, config in enumerate(configs, start=1):
        if verbose:
            print(f"Training {name} RBM {level} ({config.visible} {inputs.shape[1]} → {config.hidden_units} "
                  f"logistic, {config.steps} CD steps)", flush=True)
        rbm = train_rbm(config, inputs, rng, f"{name} RBM {level}", verbose)
        rbms.append(rbm)
        inputs = rbm.hidden_probabilities(inputs)
    return rbms
