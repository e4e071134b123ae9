"""SDCH experiment configuration: frozen dataclasses with their sources, and presets.

``paper`` is the paper's configuration (SDCH §3–§4.2, docs/reproduction.md §1); ``cpu`` keeps
every layer and the schedule but shrinks input, widths and data so that a run fits in a
few minutes on two CPU cores; ``smoke`` runs all three schedule phases in seconds. Presets
override only what they must.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from sdch_tf.configs import RunConfig, cpu_preset, preset_function, scaled_conv_net, smoke_preset, standin_weights
from sdch_tf.nets.configs import ImageNetConfig, TextNetConfig


@dataclass(frozen=True)
class SDCHConfig(RunConfig):
    """Everything that determines an SDCH run, except the seed."""

    method: str = "sdch"
    gamma: float = 0.01                   # SDCH §4.2, Eq. 8
    beta1: float = 1.0                    # SDCH §4.2, Eq. 7 (quantisation)
    beta2: float = 1.0                    # SDCH §4.2, Eq. 7 (independence)
    beta3: float = 0.1                    # SDCH §4.2, Eq. 7 (balance)
    batch_size: int = 64                  # SDCH §4.2, Algorithm 1
    epochs: int = 50                      # SDCH §4.2, max-epoch
    lr_feature: float = 1e-3              # SDCH §4.2, Θ_f
    lr_hash: float = 1e-2                 # SDCH §4.2, Θ_h
    lr_pretrained: float = 1e-4           # SDCH §4.2: 1/10 of the feature rate for the 7 pretrained layers
    # The paper names no optimiser (docs/reproduction.md §1). Adam, on the evidence of
    # results/optimizer-study (cpu preset, 32 bits, the paper's rates, seed 0): Adam trained
    # stably to mAP@500 I→T 0.680 / T→I 0.696 (untrained 0.419 / 0.423); plain SGD and SGD
    # with momentum 0.9 both reached NaN at step 3 of epoch 1 (the summed losses of Eqs. 4
    # and 7 give gradients far too large for those rates without Adam's normalisation).
    optimizer: str = "adam"
    # SDCH §4.2 draws the new layers "with a normal distribution" (no scale given): fc4 from an
    # untruncated normal with Glorot's variance; "truncated" is Keras' glorot_normal (NOTES.md).
    fc4_init: str = "normal"
    itq_iterations: int = 50              # Gong & Lazebnik (SDCH ref. [13]); SDCH §4.2 initialises B by ITQ
    # B = sign(Z) with Z from a forward pass with the parameters fixed (SDCH §3.3); "recorded": the Z
    # each sample had in its last batch, for comparison only (NOTES.md, "The training step and B").
    code_refresh: str = "forward"
    # SDCH §4.2: "ITQ with z_i (i = 1..m+n) as the input", centred together; "per_modality" centres
    # images and texts each on their own mean (NOTES.md, "The ITQ start").
    itq_centering: str = "joint"
    weights: str | None = None            # path of bvlc_alexnet.npy; None: random init (SDCH §4.2 loads it)
    # SDCH §4.2 gives no scale for the new layers' normal init. True: rescale img-fc3/txt-fc3 on the
    # training data so both modalities start alike (SDCH.initialize_feature_scale), a from-scratch fix
    # of the cpu and smoke presets (NOTES.md, "Initial scales"); not in the paper.
    data_init: bool = False
    # float32 as the paper (SDCH §4.2); bf16 / fp16: Keras mixed precision (sdch_tf.training.precision).
    precision: str = "fp32"
    image_net: ImageNetConfig = field(default_factory=ImageNetConfig)
    text_net: TextNetConfig = field(default_factory=TextNetConfig)


def _paper() -> SDCHConfig:
    return SDCHConfig(preset="paper")


def _cpu() -> SDCHConfig:
    base = SDCHConfig()
    # The paper's 50 epochs, where the cpu preset's learning curve has flattened (32 bits, seed 0:
    # mAP@500 I→T / T→I 0.756 / 0.669 at 25 epochs, 0.771 / 0.690 at 50, 0.765 / 0.709 at 100;
    # NOTES.md, "Learning curve").
    return cpu_preset(
        base,
        # The paper's pretrained start at the cpu scale: AlexNet trained on the ImageNet stand-in
        # (python -m sdch_tf.pretrain; docs/reproduction.md §2.3), its seven layers at lr_pretrained.
        weights=standin_weights("cpu", "bvlc_alexnet.npy"),
        # Kept from the from-scratch preset: with the stand-in AlexNet and without it, fc4 mapped every
        # image onto one code (32 bits, seed 0: I→T mAP@500 0.427, chance, at every 5th epoch; T→I
        # 0.498); with it 0.756 / 0.669 (NOTES.md, "Initial scales").
        data_init=True,
        image_net=scaled_conv_net(base.image_net, "cpu"),   # the scaled AlexNet (configs.SCALED_CONV_NET)
        text_net=dataclasses.replace(base.text_net, fc_units=(512, 512)),
    )


def _smoke() -> SDCHConfig:
    base = SDCHConfig()
    return smoke_preset(
        base,
        epochs=3,
        itq_iterations=10,
        weights=standin_weights("smoke", "bvlc_alexnet.npy"),
        data_init=True,
        image_net=scaled_conv_net(base.image_net, "smoke", feature_dim=32),
        text_net=dataclasses.replace(base.text_net, fc_units=(64, 64), feature_dim=32),
    )


preset = preset_function(_paper, _cpu, _smoke)
