"""SDCH experiment configuration: frozen dataclasses with their sources, and presets.

``paper`` is the paper's configuration (SDCH §3–§4.2, REPRODUCTION.md §1); ``cpu`` keeps
every layer and the schedule but shrinks input, widths and data so that a run fits in a
few minutes on two CPU cores; ``smoke`` runs all three schedule phases in seconds. Presets
override only what they must.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from sdch_tf.data.synthetic import SyntheticConfig

# Caffe's ILSVRC-2012 mean, in RGB order, belonging to bvlc_alexnet.npy (REPRODUCTION.md §1).
CAFFE_IMAGENET_MEAN_RGB = (122.67891434, 116.66876762, 104.00698793)


@dataclass(frozen=True)
class ImageNetConfig:
    """AlexNet image pipeline: SDCH Table 1 with the corrections of REPRODUCTION.md §1."""

    input_size: int = 227                 # SDCH §3.2: 227×227×3 input
    resize: int = 256                     # SDCH §4.1: images resized to 256×256, then cropped
    conv_filters: tuple[int, ...] = (96, 256, 384, 384, 256)  # SDCH Table 1, img-conv1..5
    fc_units: tuple[int, ...] = (4096, 4096)  # SDCH Table 1, img-fc1, img-fc2
    feature_dim: int = 256                # SDCH §3.2: k = 256 (img-fc3 replaces fc8)
    dropout: float = 0.5                  # REPRODUCTION.md §1: as in the AlexNet being fine-tuned
    lrn: bool = True                      # SDCH §3.2: LRN after img-conv1 and img-conv2
    mean_rgb: tuple[float, float, float] = CAFFE_IMAGENET_MEAN_RGB  # REPRODUCTION.md §1
    bgr: bool = True                      # bvlc_alexnet.npy expects BGR input (REPRODUCTION.md §2)


@dataclass(frozen=True)
class TextNetConfig:
    """Text pipeline txt-fc1..txt-fc3 (SDCH §3.2, Table 1); ReLU on the first two."""

    fc_units: tuple[int, ...] = (4096, 4096)  # SDCH Table 1, txt-fc1, txt-fc2
    feature_dim: int = 256                # SDCH Table 1, txt-fc3 (= k)


@dataclass(frozen=True)
class DataConfig:
    """Which dataset and which protocol split (REPRODUCTION.md §2)."""

    dataset: str = "synthetic"
    data_dir: str | None = None
    num_query: int | None = None          # None: the dataset's protocol size (split.PROTOCOL_SIZES)
    num_train: int | None = None
    num_labels: int | None = None         # IAPR TC-12: keep the C most frequent concepts (22, SDCH §4.1)
    # RDCMH §4.1 / Table 2: labels kept on this fraction of the training items (0.3 there).
    label_fraction: float = 1.0
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)


@dataclass(frozen=True)
class SDCHConfig:
    """Everything that determines an SDCH run, except the seed."""

    method: str = "sdch"
    preset: str = "paper"
    bits: tuple[int, ...] = (16, 32, 64)  # SDCH Tables 2–3
    gamma: float = 0.01                   # SDCH §4.2, Eq. 8
    beta1: float = 1.0                    # SDCH §4.2, Eq. 7 (quantisation)
    beta2: float = 1.0                    # SDCH §4.2, Eq. 7 (independence)
    beta3: float = 0.1                    # SDCH §4.2, Eq. 7 (balance)
    batch_size: int = 64                  # SDCH §4.2, Algorithm 1
    epochs: int = 50                      # SDCH §4.2, max-epoch
    lr_feature: float = 1e-3              # SDCH §4.2, Θ_f
    lr_hash: float = 1e-2                 # SDCH §4.2, Θ_h
    lr_pretrained: float = 1e-4           # SDCH §4.2: 1/10 of the feature rate for the 7 pretrained layers
    # The paper names no optimiser (REPRODUCTION.md §1). Adam, on the evidence of
    # results/optimizer-study (cpu preset, 32 bits, the paper's rates, seed 0): Adam trained
    # stably to mAP@500 I→T 0.680 / T→I 0.696 (untrained 0.419 / 0.423); plain SGD and SGD
    # with momentum 0.9 both reached NaN at step 3 of epoch 1 (the summed losses of Eqs. 4
    # and 7 give gradients far too large for those rates without Adam's normalisation).
    optimizer: str = "adam"
    itq_iterations: int = 50              # Gong & Lazebnik (SDCH ref. [13]); SDCH §4.2 initialises B by ITQ
    top_k: int = 500                      # SDCH §4.2: mAP@R with R = 500
    eval_batch_size: int = 256
    weights: str | None = None            # path of bvlc_alexnet.npy; None: random init (SDCH §4.2 loads it)
    # SDCH §4.2 gives no scale for the new layers' normal init; scale img-fc3/txt-fc3 on the
    # training data so both modalities start alike (SDCH.initialize_feature_scale).
    data_init: bool = True
    jit_compile: bool = False
    # float32 as the paper (SDCH §4.2); bf16 / fp16: Keras mixed precision (sdch_tf.precision).
    precision: str = "fp32"
    image_net: ImageNetConfig = field(default_factory=ImageNetConfig)
    text_net: TextNetConfig = field(default_factory=TextNetConfig)
    data: DataConfig = field(default_factory=DataConfig)


def cpu_data(data: DataConfig) -> DataConfig:
    """Every method's ``cpu`` split: 500 queries, 2,000 training pairs (the synthetic set's 6,000)."""
    return dataclasses.replace(data, num_query=500, num_train=2000)


def smoke_data(data: DataConfig) -> DataConfig:
    """Every method's ``smoke`` data: 240 small synthetic pairs, 40 queries, 96 training pairs."""
    return dataclasses.replace(
        data, num_query=40, num_train=96,
        synthetic=dataclasses.replace(data.synthetic, num_samples=240, image_size=48, vocab_size=200),
    )


def _paper() -> SDCHConfig:
    return SDCHConfig(preset="paper")


def _cpu() -> SDCHConfig:
    base = SDCHConfig()
    return dataclasses.replace(
        base,
        preset="cpu",
        epochs=25,
        # 83: conv1 19×19 → pool5 1×1 (the smallest input of this depth is 67), ~1.5× cheaper
        # than 99 per step; 94 keeps the paper's crop ratio 227/256. Dropout off: it regularises the fine-tuning of a
        # pretrained AlexNet (the paper's case) but slows a small net learning from scratch
        # (synthetic set, 20 epochs: mAP I→T/T→I 0.669/0.685 without, 0.549/0.631 with it).
        image_net=dataclasses.replace(
            base.image_net, input_size=83, resize=94, conv_filters=(32, 64, 96, 96, 64), fc_units=(512, 512),
            dropout=0.0,
        ),
        text_net=dataclasses.replace(base.text_net, fc_units=(512, 512)),
        data=cpu_data(base.data),
    )


def _smoke() -> SDCHConfig:
    base = SDCHConfig()
    return dataclasses.replace(
        base,
        preset="smoke",
        bits=(16,),
        epochs=3,
        batch_size=32,
        itq_iterations=10,
        image_net=dataclasses.replace(
            base.image_net, input_size=67, resize=72, conv_filters=(8, 16, 16, 16, 16), fc_units=(64, 64),
            feature_dim=32,
        ),
        text_net=dataclasses.replace(base.text_net, fc_units=(64, 64), feature_dim=32),
        data=smoke_data(base.data),
    )


PRESETS = {"paper": _paper, "cpu": _cpu, "smoke": _smoke}


def preset(name: str) -> SDCHConfig:
    """The named preset's configuration."""
    return pick_preset(PRESETS, name)


def pick_preset(presets: dict, name: str):
    """``presets[name]()``, with an error listing the choices (every method's ``preset``)."""
    try:
        return presets[name]()
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(presets)}") from None
