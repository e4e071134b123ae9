"""SCM experiment configuration (Zhang & Li, AAAI 2014): a frozen dataclass and presets.

SCM has nothing to scale: ``cpu`` and ``smoke`` differ from ``paper`` only in the data and in the
AlexNet the features come from (the shared feature presets of ``sdch_tf.configs``).
"""
from __future__ import annotations

from dataclasses import dataclass

from sdch_tf.configs import FeatureRunConfig, feature_cpu_preset, feature_smoke_preset, preset_function


@dataclass(frozen=True)
class SCMConfig(FeatureRunConfig):
    """Everything that determines an SCM run, except the seed."""

    method: str = "scm"
    # SCM-seq fills the tables' row: the authors' demo trains it (demo_SCM.m) and it has no
    # hyper-parameter to tune; "orth" is SCM-orth (NOTES.md, "Which SCM").
    variant: str = "seq"
    ridge: float = 1e-6                   # trainSCM_seq.m: lambda on XᵀX and YᵀY
    # demo_SCM.m: "X:text  Y:image": the eigenproblem is the text's size (NOTES.md, "Cost").
    x_modality: str = "text"


def _paper() -> SCMConfig:
    return SCMConfig(preset="paper")


def _cpu() -> SCMConfig:
    return feature_cpu_preset(SCMConfig())


def _smoke() -> SCMConfig:
    return feature_smoke_preset(SCMConfig())


preset = preset_function(_paper, _cpu, _smoke)
