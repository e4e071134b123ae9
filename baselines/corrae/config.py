"""CorrAE experiment configuration (Feng, Wang, Li, ACM MM 2014): a frozen dataclass and presets.

``paper`` is the authors' pipeline (their deepnet fork; the only Corr-AE configuration files found
are a third-party redistribution of it, NOTES.md "Sources"): two-layer RBM stacks per modality
trained by CD and frozen, then the Corr-AE on their top representations, on SDCH §4.2's AlexNet
features and the bag-of-words texts. Its code layer has one unit per bit (NOTES.md, "Codes").
``cpu`` keeps the structure at a quarter of the width and scales the step counts to the cpu
split; ``smoke`` runs in seconds.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sdch_tf.configs import FeatureRunConfig, feature_cpu_preset, feature_smoke_preset, preset_function


@dataclass(frozen=True)
class RBMConfig:
    """One RBM of a stack, trained by contrastive divergence (deepnet's CD trainer; the values of
    the Twitter100k copy's flickr30k rbm_models/*.pbtxt and rbm_trainers/*.pbtxt, NOTES.md)."""

    # "gaussian" (standardised real inputs), "replicated_softmax" (word counts) or "logistic".
    visible: str
    hidden_units: int = 1024               # rbm_models: dimensions 1024 (runall_all.sh: change_hidden.py 1024)
    steps: int = 20000                     # rbm_trainers: stopcondition steps 20000
    batch_size: int = 231                  # rbm_trainers (flickr30k copy): batchsize 231
    base_rate: float = 0.001               # hyperparams base_epsilon
    rate_half_life: int = 10000            # epsilon_decay INVERSE_T, half-life 10000: ε/(1 + t/10000)
    initial_momentum: float = 0.5          # hyperparams initial_momentum
    final_momentum: float = 0.9            # final_momentum, reached as 0.9 − 0.4·exp(−t/change_steps)
    momentum_change_steps: int = 10000     # momentum_change_steps
    sparsity_target: float = 0.2           # sparsity_target (sparsity: true)
    sparsity_cost: float = 0.1             # sparsity_cost
    sparsity_damping: float = 0.9          # sparsity_damping
    weight_decay: float = 0.001            # l2_decay (weights only; biases never)
    # None: Gaussian weights of std 1/√hidden (DENSE_GAUSSIAN_SQRT_FAN_IN, sigma 1; deepnet's
    # "fan in" is the hidden layer's size); a value: that std (DENSE_GAUSSIAN, sigma).
    init_std: float | None = None
    up_factor: float = 1.0                 # edge up_factor: the visible→hidden input multiplied by it
    # CD steps: gibbs_steps 1, plus 1 + (t − start)//every once t > start (start_step_up_cd_after, step_up_cd_after).
    cd_steps: int = 1
    cd_step_up_after: int = 50000
    cd_step_up_every: int = 10000


# The four RBMs of rbm_models/ (flickr30k copy; NOTES.md, "RBM stage").
IMAGE_RBM1 = RBMConfig("gaussian")         # image_rbm1: LINEAR visible, normalize: true
IMAGE_RBM2 = RBMConfig("logistic", base_rate=0.05, sparsity_cost=0.01, cd_step_up_after=15000,
                       cd_step_up_every=5000)                                          # image_rbm2
TEXT_RBM1 = RBMConfig("replicated_softmax", base_rate=0.1, momentum_change_steps=5000, sparsity_cost=0.01,
                      weight_decay=0.0001, init_std=1e-5, up_factor=10.0, cd_step_up_after=15000,
                      cd_step_up_every=5000)                                           # text_rbm1
TEXT_RBM2 = RBMConfig("logistic", base_rate=0.01, sparsity_target=0.1, sparsity_cost=0.01,
                      cd_step_up_after=15000, cd_step_up_every=5000)                   # text_rbm2


# runall_corr_ae.sh's sweep of α (the commented loop "for i in 0.01 0.1 … 0.99").
ALPHA_GRID = (0.01, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99)


@dataclass(frozen=True)
class CorrAEConfig(FeatureRunConfig):
    """Everything that determines a CorrAE run, except the seed (CorrAE reads no label)."""

    method: str = "corrae"
    image_rbms: tuple[RBMConfig, ...] = (IMAGE_RBM1, IMAGE_RBM2)    # rbm_models/image_rbm{1,2}.pbtxt
    text_rbms: tuple[RBMConfig, ...] = (TEXT_RBM1, TEXT_RBM2)       # rbm_models/text_rbm{1,2}.pbtxt
    # α: the correlation term's weight, 1 − α the reconstructions' (change_tied_lambda.py sets
    # rep_tied_lambda = α, loss_factor = 1 − α). None: chosen per run from runall_corr_ae.sh's sweep
    # (ALPHA_GRID) on held-out training pairs (SDCH §4.2: "cross-validation"); the script's final
    # choice, 0.8, collapses every code to one at 16 bits on the cpu run (NOTES.md, "α").
    alpha: float | None = None
    held_out: float = 0.2                  # the held-out share of the training pairs for that choice
    # 40 × 500 = 20000 steps (ae_trainers/train_ae_layer.pbtxt: steps 20000); one recorded epoch
    # per eval_after = 500 steps, that trainer's evaluation period.
    epochs: int = 40
    steps_per_epoch: int = 500
    batch_size: int = 231                  # train_ae_layer.pbtxt (flickr30k copy): batchsize 231
    learning_rate: float = 0.05            # corr_ae.pbtxt: base_epsilon 0.05, INVERSE_T
    rate_half_life: int = 10000            # corr_ae.pbtxt: epsilon_decay_half_life 10000
    initial_momentum: float = 0.5          # corr_ae.pbtxt
    final_momentum: float = 0.9            # corr_ae.pbtxt
    momentum_change_steps: int = 10000     # corr_ae.pbtxt
    weight_decay: float = 0.0001           # corr_ae.pbtxt: l2_decay 0.0001 (weights only)
    # Steps per call into TensorFlow (Keras' steps_per_execution): the Corr-AE's steps are tiny, so
    # Python's dispatch dominates them; this changes the speed only, not a single update.
    steps_per_execution: int = 50

    @property
    def steps(self) -> int:
        """Corr-AE training steps."""
        return self.epochs * self.steps_per_epoch


def _paper() -> CorrAEConfig:
    return CorrAEConfig(preset="paper")


def scaled_steps(steps: int, step_scale: float) -> int:
    """A step count (a length or a schedule's period) times ``step_scale``, at least 1."""
    return max(1, round(steps * step_scale))


def scaled_rbm(rbm: RBMConfig, hidden_units: int, step_scale: float) -> RBMConfig:
    """``rbm`` with ``hidden_units`` and every step count (length, schedules) times ``step_scale``."""
    step_fields = ("steps", "rate_half_life", "momentum_change_steps", "cd_step_up_after", "cd_step_up_every")
    return dataclasses.replace(rbm, hidden_units=hidden_units,
                               **{f: scaled_steps(getattr(rbm, f), step_scale) for f in step_fields})


def scaled(config: CorrAEConfig, hidden_units: int, step_scale: float, steps_per_epoch: int,
           **fields) -> CorrAEConfig:
    """``config`` with every RBM at ``hidden_units``, every step count and schedule times
    ``step_scale``, and the Corr-AE's steps recorded every ``steps_per_epoch``."""
    return dataclasses.replace(
        config,
        image_rbms=tuple(scaled_rbm(r, hidden_units, step_scale) for r in config.image_rbms),
        text_rbms=tuple(scaled_rbm(r, hidden_units, step_scale) for r in config.text_rbms),
        epochs=max(1, scaled_steps(config.steps, step_scale) // steps_per_epoch), steps_per_epoch=steps_per_epoch,
        rate_half_life=scaled_steps(config.rate_half_life, step_scale),
        momentum_change_steps=scaled_steps(config.momentum_change_steps, step_scale), **fields)


def _cpu() -> CorrAEConfig:
    # 2,000 training pairs instead of the DCMH protocol's 10,000: a fifth of the steps keeps the
    # passes over the training set (and every schedule scales with them); 256 hidden units, a
    # quarter of 1024, as the cpu presets narrow every network (NOTES.md, "Presets").
    return scaled(feature_cpu_preset(CorrAEConfig()), hidden_units=256, step_scale=0.2, steps_per_epoch=100)


def _smoke() -> CorrAEConfig:
    return scaled(feature_smoke_preset(CorrAEConfig()), hidden_units=32, step_scale=0.005, steps_per_epoch=50)


preset = preset_function(_paper, _cpu, _smoke)
