"""DBRC experiment configuration (Li, Hu, Nie, ACM MM 2017): a frozen dataclass and presets.

The paper's method section could not be read from this project's machines and no code by its
authors exists (SDCH §4.2 re-implemented DBRC itself): the adaptive tanh and the two-modality
reconstruction follow the paper's abstracts; the networks, regulariser weight, optimiser and length
are this project's choices, marked DEFAULT (NOTES.md). ``cpu`` and ``smoke`` change only the data,
the features' AlexNet and (smoke) the length.
"""
from __future__ import annotations

from dataclasses import dataclass

from sdch_tf.configs import FeatureRunConfig, feature_cpu_preset, feature_smoke_preset, preset_function


@dataclass(frozen=True)
class DBRCConfig(FeatureRunConfig):
    """Everything that determines a DBRC run, except the seed (DBRC reads no label)."""

    method: str = "dbrc"
    encoder_units: tuple[int, ...] = (1024, 512)   # DEFAULT: per modality, ReLU (paper: NOT FOUND)
    decoder_units: tuple[int, ...] = (512, 1024)   # DEFAULT: from the codes to each modality, ReLU
    # λ of the penalty λ·Σ_k α_k⁻² that drives the adaptive tanh's scales up (DEFAULT: the only
    # public re-implementation's 10⁻³, yolo2233/cross-modal-hasing-playground DBRC/model.py).
    scale_penalty: float = 1e-3
    initial_scale: float = 1.0             # α_k at the start (the same re-implementation)
    optimizer: str = "rmsprop"             # DEFAULT: the same re-implementation's RMSProp
    learning_rate: float = 1e-3            # the same re-implementation
    batch_size: int = 128                  # the same re-implementation
    epochs: int = 100                      # DEFAULT (paper: NOT FOUND)


def _paper() -> DBRCConfig:
    return DBRCConfig(preset="paper")


def _cpu() -> DBRCConfig:
    return feature_cpu_preset(DBRCConfig())


def _smoke() -> DBRCConfig:
    return feature_smoke_preset(DBRCConfig(), epochs=2)


preset = preset_function(_paper, _cpu, _smoke)
