"""CM-NN experiment configuration (Masci, Bronstein, Bronstein, Schmidhuber, TPAMI 2014): a frozen
dataclass and presets.

The paper's method section could not be read from this project's machines and its authors' code
was not found (NOTES.md, "Sources"): the cross-modal loss follows the one public transcription of
it; the networks, optimiser and length are this project's choices, each marked DEFAULT below and
in NOTES.md. ``cpu`` and ``smoke`` change only the data, the features' AlexNet and (smoke) the
length.
"""
from __future__ import annotations

from dataclasses import dataclass

from sdch_tf.configs import FeatureRunConfig, feature_cpu_preset, feature_smoke_preset, preset_function

# The margin in units of √bits (tanh codes lie in [−1, 1]^bits, so distances are at most 2√bits);
# DEFAULT grid for SDCH §4.2's "cross-validation" (the paper's margins were not found).
MARGIN_GRID = (0.25, 0.5, 1.0, 1.5, 2.0)


@dataclass(frozen=True)
class CMNNConfig(FeatureRunConfig):
    """Everything that determines a CM-NN run, except the seed."""

    method: str = "cmnn"
    hidden_units: int = 1024               # DEFAULT: one tanh hidden layer per modality (paper: NOT FOUND)
    # m_XY = margin·√bits; None: chosen per run from MARGIN_GRID on held-out training pairs.
    margin: float | None = None
    held_out: float = 0.2                  # the held-out share of the training pairs for that choice
    # MM-NN's intra-modal terms L_X, L_Y and their weights; CM-NN, SDCH's row, is the cross-modal
    # term alone (NOTES.md, "Which loss").
    image_intra_weight: float = 0.0
    text_intra_weight: float = 0.0
    optimizer: str = "adam"                # DEFAULT (paper: NOT FOUND); see NOTES.md, "Optimiser"
    learning_rate: float = 1e-3            # DEFAULT: Adam's usual rate (the transcription: GD at 1e-3)
    batch_size: int = 100                  # the transcription (cross_modality_hashing.py): batches of 100
    epochs: int = 100                      # DEFAULT (paper: NOT FOUND)


def _paper() -> CMNNConfig:
    return CMNNConfig(preset="paper")


def _cpu() -> CMNNConfig:
    return feature_cpu_preset(CMNNConfig())


def _smoke() -> CMNNConfig:
    return feature_smoke_preset(CMNNConfig(), epochs=2)


preset = preset_function(_paper, _cpu, _smoke)
