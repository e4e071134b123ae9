"""DSPAH's image network (§II.B, §IV.B): ResNet-34 and the cross-level attention head.

    preprocessed RGB image (b, s, s, 3) → ResNet-34 (``sdch_tf.nets.resnet``) → the outputs of
    its four stages → CrossLevelAttention → f (b, c) in (−1, 1)

The backbone is a nested model named ``resnet34`` (``load_torchvision_resnet`` takes it);
with ``weights`` its conv and BN layers start from ImageNet (§IV.B), the head from scratch.
"""
from __future__ import annotations

import keras

from baselines.dspah.attention import CrossLevelAttention
from sdch_tf.nets.resnet import ResNetConfig, build_resnet34, load_torchvision_resnet

BACKBONE = "resnet34"


def build_image_net(config: ResNetConfig, bits: int, attention, weights: str | None = None,
                    name: str = "image_net") -> keras.Model:
    """(b, s, s, 3) float32, mean-subtracted RGB on the 0–255 scale → (b, bits) in (−1, 1).

    ``attention`` is ``baselines.dspah.config.AttentionConfig``; ``weights`` a torchvision
    ResNet-34 state dict as ``.npz`` (``sdch_tf.nets.resnet``), or None for torchvision's
    random initialisation. The head's new layers use Glorot-normal kernels (the paper gives
    no initialisation for them).
    """
    backbone = build_resnet34(config, name=BACKBONE)
    if weights:
        load_torchvision_resnet(backbone, weights)
    inputs = keras.Input(shape=(config.input_size, config.input_size, 3), dtype="float32", name="image")
    outputs = CrossLevelAttention(bits, attention.reduction, attention.spatial_kernel,
                                  kernel_initializer="glorot_normal", name="cross_level_attention")(backbone(inputs))
    return keras.Model(inputs, outputs, name=name)
