"""RDCMH configuration (Liu et al., AAAI 2019): frozen dataclasses with their sources, and presets.

``paper`` follows RDCMH §"Deep Feature Representation" and §Experiment (and DCMH's protocol
where RDCMH is silent, as NOTES.md lists); ``cpu`` keeps every layer and the
procedure but shrinks input, widths and data to train in a few minutes on two CPU cores;
``smoke`` runs in seconds. Presets override only what they must.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from sdch_tf.configs import RunConfig, cpu_preset, preset_function, scaled_conv_net, smoke_preset, standin_weights
from sdch_tf.nets.vggf import VGGFConfig


@dataclass(frozen=True)
class TextNetConfig:
    """"full1 - full2": BoW → full1 (ReLU) → full2 (c, identity) (RDCMH §Deep Feature Representation)."""

    hidden_units: int = 4096              # RDCMH §Deep Feature Representation: "full1" has 4096 neurons
    dropout: float = 0.5                  # RDCMH §Experiment: dropout 0.5 on the fully connected layers


@dataclass(frozen=True)
class RDCMHConfig(RunConfig):
    """Everything that determines an RDCMH run, except the seed."""

    method: str = "rdcmh"
    lam: float = 1.0                      # RDCMH §Experiment: λ of Eq. 4 set to 1 (best in Fig. 2)
    num_bins: int = 5                     # RDCMH §Experiment: ranking list divided into 5 bins
    # As a fraction of the code length c: [margin·c + δdH]_+. RDCMH Eqs. 2–5 have none; c/2 is a
    # departure of the cpu and smoke presets (_FROM_SCRATCH, NOTES.md).
    margin: float = 0.0
    # Candidates of a query's ranking list: "train", the whole training set (RDCMH §Semi-supervised
    # Semantic Ranking: {r_j}_{j=1}^n), or "batch", the other queries of its mini-batch (triplets.py).
    triplet_scope: str = "train"
    batch_size: int = 128                 # RDCMH §Experiment, Algorithm 1: n_x = n_y = 128 triplets
    # RDCMH §Experiment: 500 iterations; Algorithm 1 counts one iteration per mini-batch (lines
    # 4–9), so 500 × 128 = 64,000 triplets: 6.4 epochs of the 10,000 MIRFlickr/IAPR training
    # items, 6.1 of NUS-WIDE's 10,500; 7 epochs give at least 500 iterations on each
    # (553 and 581). DCMH's code reads its own "500 iterations" as 500 epochs (--epochs 500).
    epochs: int = 7
    # RDCMH §Optimization: "stochastic gradient descent (SGD) ... with the back-propagation
    # algorithm", no rate given. The rate of the protocol RDCMH follows where silent, DCMH's code
    # (update_net.m): 10^-1.5 on gradients divided by batch·n, i.e. 10^-1.5 / (128·10,000) on
    # Eq. 4's sums at RDCMH's batch of 128 and the 10,000 training items (NOTES.md).
    optimizer: str = "sgd"
    lr_image: float = 10 ** -1.5 / (128 * 10_000)
    lr_text: float = 10 ** -1.5 / (128 * 10_000)
    # True: scale the last image and text layers on the training data so both modalities' outputs
    # start centred with unit std per bit, a from-scratch departure (_FROM_SCRATCH); not in the paper.
    data_init: bool = False
    weights: str | None = None            # imagenet-vgg-f.mat; None: random init (no pretrained CNN-F)
    # RDCMH §Deep Feature Representation: "the first six layers are the same as those in CNN-F"
    # (conv1–conv5, fc6); fc_units[-1] is also the width of the new seventh layer (CNN-F's fc7 width).
    image_net: VGGFConfig = field(default_factory=VGGFConfig)
    text_net: TextNetConfig = field(default_factory=TextNetConfig)


def _paper() -> RDCMHConfig:
    return RDCMHConfig(preset="paper")


# Departures of the cpu and smoke presets from the paper scaled down, each measured on the cpu
# preset from the stand-in CNN-F (32 bits, seed 0, 32 epochs, mAP@500 I→T / T→I; NOTES.md, "Presets"):
# - SGD at the paper preset's rate (10^-1.5/(batch·n)), margin 0: 0.415 / 0.431 (chance); margin c/2
#   alone: 0.413 / 0.426; SGD at 1e-5 or 1e-4 reached inf in the image loss within 5 steps.
# - Adam 3e-4 (1e-4: 0.473 / 0.407), margin c/2 (with margin 0, equal codes for everything minimise
#   Eq. 4), F and G rescaled to unit std (data_init): 0.523 / 0.482 with the paper's dropout 0.5,
#   0.734 / 0.734 without dropout on the scaled (8× narrower) fully connected layers.
_DEPARTURES = dict(margin=0.5, optimizer="adam", lr_image=3e-4, lr_text=3e-4, data_init=True)


def _cpu() -> RDCMHConfig:
    base = RDCMHConfig()
    return cpu_preset(
        base,
        **_DEPARTURES,
        # The paper's 500 iterations: ⌈500 / 16⌉ = 32 epochs of 16 mini-batches of the 2,000 items.
        # "batch" ranking lists: 4× cheaper per iteration (NOTES.md).
        epochs=32,
        triplet_scope="batch",
        # CNN-F's pretrained start at the cpu scale: trained on the ImageNet stand-in
        # (python -m sdch_tf.pretrain; docs/reproduction.md §2.3).
        weights=standin_weights("cpu", "imagenet-vgg-f.mat"),
        # The scaled CNN-F (configs.SCALED_CONV_NET) and text net; dropout off (see _DEPARTURES).
        image_net=scaled_conv_net(base.image_net, "cpu", dropout=0.0),
        text_net=dataclasses.replace(base.text_net, hidden_units=512, dropout=0.0),
    )


def _smoke() -> RDCMHConfig:
    base = _cpu()
    return smoke_preset(
        base,
        epochs=2,
        weights=standin_weights("smoke", "imagenet-vgg-f.mat"),
        image_net=scaled_conv_net(base.image_net, "smoke"),
        text_net=dataclasses.replace(base.text_net, hidden_units=64),
    )


preset = preset_function(_paper, _cpu, _smoke)
