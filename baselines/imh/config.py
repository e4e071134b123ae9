"""IMH experiment configuration (Song, Yang, Yang, Huang, Shen, SIGMOD 2013): a frozen dataclass and
presets. IMH has nothing to scale: ``cpu`` and ``smoke`` change only the data and the AlexNet the
features come from (the shared feature presets of ``sdch_tf.configs``)."""
from __future__ import annotations

from dataclasses import dataclass

from sdch_tf.configs import FeatureRunConfig, feature_cpu_preset, feature_smoke_preset, preset_function


@dataclass(frozen=True)
class IMHConfig(FeatureRunConfig):
    """Everything that determines an IMH run, except the seed (IMH uses no label)."""

    method: str = "imh"
    neighbours: int = 10                  # interMediaHashing.m: para.k = 10 (kNN graph per medium)
    # β (ridge on the hash projections) and λ (the graphs' weight): None = chosen per run from the
    # original's grid 10^{−6,−3,0,3,6}² on held-out training pairs (interMediaHashing.m's loops;
    # SDCH §4.2: "cross-validation"); a value fixes it (NOTES.md, "β and λ").
    beta: float | None = None
    lam: float | None = None
    held_out: float = 0.2                 # the held-out share of the training pairs for that choice
    inter_weight: float = 1e4             # crossMediaTraining.m: U = 10000·I (inter-media consistency)
    # crossMediaTraining.m: v(:, idx(2:r+1)) skips the smallest eigenvector (NOTES.md, "Eigenvectors").
    skip_smallest: bool = True


def _paper() -> IMHConfig:
    return IMHConfig(preset="paper")


def _cpu() -> IMHConfig:
    return feature_cpu_preset(IMHConfig())


def _smoke() -> IMHConfig:
    return feature_smoke_preset(IMHConfig())


preset = preset_function(_paper, _cpu, _smoke)
