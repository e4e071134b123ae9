"""CMHN experiment configuration (Liong, Lu, Tan, ICIP 2017): a frozen dataclass and presets.

``paper`` is CMHN §3's configuration with the decisions of this package's docstring where
the paper is silent; ``cpu`` keeps every layer and the alternation but trains a scaled-down
VGG-F from scratch on 2,000 pairs in a few minutes on two CPU cores; ``smoke`` runs the
whole loop in seconds. Presets override only what they must.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sdch_tf.configs import RunConfig, cpu_preset, preset_function, scaled_conv_net, smoke_preset, standin_weights
from sdch_tf.nets.vggf import VGGFConfig


@dataclass(frozen=True)
class CMHNConfig(RunConfig):
    """Everything that determines a CMHN run, except the seed."""

    method: str = "cmhn"
    # CMHN Tables 1–2 report 16/32/64/128 bits; the shared protocol compares at SDCH's 16/32/64
    # (add 128 with --bits).
    lambda1: float = 0.2                  # CMHN §3 (by cross-validation at K = 16), Eq. 5
    alpha: float = 0.001                  # CMHN §3, Eq. 4 and 8
    # Eq. 3 weighs ‖m_j‖² + Σξ; LibSVM minimises ½‖w‖² + CΣξ, i.e. C = ½ (the paper names no C).
    svm_c: float = 0.5
    lr_new: float = 1e-2                  # CMHN §3: the new fully connected layers (and the text net)
    lr_pretrained: float = 1e-4           # CMHN §3: the pretrained VGG-F layers conv1..fc7
    momentum: float = 0.9                 # CMHN §3
    weight_decay: float = 1e-4            # CMHN §3; an L2 gradient term as in MatConvNet (losses.py)
    # The paper gives neither: DCMH's released MatConvNet code (the protocol CMHN reuses for its
    # deep baselines, §3 footnote 5) trains 500 epochs of batch 128.
    batch_size: int = 128
    epochs: int = 500
    image_hash_units: tuple[int, ...] = (500, 200)  # CMHN §3: new FC [4096 → 500 → 200 → K]
    text_units: tuple[int, ...] = (500,)  # CMHN §3: text FC [d → 500 → K]
    # Not in the paper: multiply the mean-subtracted 0–255 pixels by this before conv1. SGD on a
    # randomly initialised conv1 fed unnormalised pixels explodes in one step (its weights are
    # ~1/57.6 of the He scale and its gradients ~57.6× larger); pretrained weights need 1.0.
    input_scale: float = 1.0
    # Not in the paper: rescale both networks' top layers on the training data so that their
    # pre-tanh outputs start centred with this std (None: Xavier init as the paper). Needed for
    # a randomly initialised VGG-F (NOTES.md, "Presets").
    output_std: float | None = None
    # Also score CMHN's main table row (database = the unified codes B) into unified.json; needs
    # the training set to be the whole database (--num-train = database size). CMHN(o), the
    # network codes for the database, is what result.json always holds.
    score_unified_codes: bool = False
    weights: str | None = None            # imagenet-vgg-f.mat; CMHN §3 starts from the pretrained VGG-F
    # CMHN §3: VGG-F [27] up to FC7. No dropout: CMHN mentions none and imagenet-vgg-f.mat is a
    # deploy net without it; its fc7 outputs feed Eq. 7's code step (NOTES.md).
    image_net: VGGFConfig = field(default_factory=lambda: VGGFConfig(dropout=0.0))


def _paper() -> CMHNConfig:
    return CMHNConfig(preset="paper")


def _cpu() -> CMHNConfig:
    base = CMHNConfig()
    return cpu_preset(
        base,
        batch_size=64,                    # SDCH's cpu preset: 2,000 pairs, 32 steps an epoch
        epochs=25,
        # CMHN §3's pretrained start at the cpu scale: VGG-F trained on the ImageNet stand-in
        # (python -m sdch_tf.pretrain; docs/reproduction.md §2.3), conv1..fc7 at lr_pretrained.
        weights=standin_weights("cpu", "imagenet-vgg-f.mat"),
        image_net=scaled_conv_net(base.image_net, "cpu"),   # the scaled VGG-F (configs.SCALED_CONV_NET)
    )


def _smoke() -> CMHNConfig:
    base = _cpu()
    return smoke_preset(
        base,
        epochs=3,
        weights=standin_weights("smoke", "imagenet-vgg-f.mat"),
        image_hash_units=(32, 32),
        text_units=(32,),
        image_net=scaled_conv_net(base.image_net, "smoke"),
    )


preset = preset_function(_paper, _cpu, _smoke)
