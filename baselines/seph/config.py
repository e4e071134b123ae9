"""SePH experiment configuration (Lin, Ding, Hu, Wang, CVPR 2015): a frozen dataclass and presets.

``paper`` is the authors' released code (SePH.m, minKLD.m; NOTES.md) on SDCH §4.2's AlexNet
features; ``cpu`` changes only the data and the features' AlexNet; ``smoke`` also shortens the
code-learning iterations and the centres to fit 96 training items.
"""
from __future__ import annotations

from dataclasses import dataclass

from sdch_tf.configs import FeatureRunConfig, feature_cpu_preset, feature_smoke_preset, preset_function


@dataclass(frozen=True)
class SePHConfig(FeatureRunConfig):
    """Everything that determines a SePH run, except the seed."""

    method: str = "seph"
    alpha: float = 0.01                   # SePH.m: Model.alpha, passed to minKLD.m as α / (bits · n)
    # minKLD.m of the CVPR demo (NOTES.md, "Which minKLD.m"): t-SNE's schedule.
    kl_iterations: int = 1000             # minKLD.m: max_iter
    kl_learning_rate: float = 100.0       # minKLD.m: epsilon
    kl_exaggeration_stop: int = 100       # minKLD.m: stop_lying_iter (P × 4 until then)
    kl_momentum_switch: int = 250         # minKLD.m: mom_switch_iter (0.5 → 0.8)
    centres: int = 500                    # SePH.m: kernelSamps = 500
    # SePH.m runs both samplings: "kmeans" (SePH_km) or "random" (SePH_rnd); the released harnesses
    # keep SePH_km alone (NOTES.md, "Which SePH").
    centre_sampling: str = "kmeans"
    kmeans_iterations: int = 100          # SePH.m: statset('MaxIter', 100)
    klr_penalty: float = 0.01             # SePH.m: C = 0.01 ("1e-2 is Good Enough")
    # A cap on Newton steps (kernels.fit_logistic stops at its minimum in ~10); minFunc: MaxIter 500.
    klr_iterations: int = 500
    # Training items whose codes are learnt (None: all). SePH.m uses the dataset file's sampleInds
    # (size not recorded); the benchmark wrapper SEPHkm.m caps it at 5,000 (NOTES.md, "Cost").
    code_items: int | None = None


def _paper() -> SePHConfig:
    return SePHConfig(preset="paper")


def _cpu() -> SePHConfig:
    return feature_cpu_preset(SePHConfig())


def _smoke() -> SePHConfig:
    # 96 training items: SePH_km needs m ≤ n / 2 (SePH.m); a few iterations to run in seconds.
    return feature_smoke_preset(SePHConfig(), centres=16, kl_iterations=30, kl_exaggeration_stop=10,
                                kl_momentum_switch=20, kmeans_iterations=10, klr_iterations=50)


preset = preset_function(_paper, _cpu, _smoke)
