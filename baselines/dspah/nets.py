"""DSPAH's two networks (§II.B, §IV.B).

Image network: ResNet-34 and the cross-level attention head.

    preprocessed RGB image (b, s, s, 3) → ResNet-34 (``sdch_tf.nets.resnet``) → the outputs of
    its four stages → CrossLevelAttention → f (b, c) in (−1, 1)

The backbone is a nested model named ``resnet34`` (``load_torchvision_resnet`` takes it);
with ``weights`` its conv and BN layers start from ImageNet (§IV.B), the head from scratch.

Text network: multi-scale pooling of the bag-of-words vector, stacked into a matrix, a small
ResNet on that matrix, and the cross-level attention head.

§II.B: "a multi-scale pooling policy is conducted on the BoW vectors to explore global
features, and these vectors are resized into the same length. Furthermore, to facilitate
the Resnet, these vectors are stacked together to make up a matrix." §IV.B: "pooling sizes
from 1 to 50 of BoW vectors are implemented to construct the multi-scale text matrix", and
the text network is initialised from N(0, 0.1²).

    t (b, d) → for p in pool_sizes: average pooling, window p, stride p (⌊d/p⌋ values, as
               PyTorch's AvgPool1d(p) with ceil_mode=False) → linear resize to ``length``
             → stacked (b, P, length, 1) → ResNet (four stages) → CrossLevelAttention → (b, c)

Decisions: the pool size is the window (and stride) of the average pooling; the resize is
linear interpolation with half-pixel centres (``tf.image.resize`` 'bilinear' on a 1-row
image, which is PyTorch's ``F.interpolate(mode='linear', align_corners=False)``); the common
length is d (pool size 1 is the BoW vector itself). The ResNet is torchvision's BasicBlock
layout on a one-channel "image" (ResNet-34 in the paper preset, DSPAH §IV.B; config.py). Every convolution
and dense kernel of the text network, attention head included, is drawn from N(0, 0.1²)
(§IV.B) except the attention logits (zero: the levels start equally weighted); biases are
zero and BN starts at the identity. ``trainer.build`` then rescales the per-level 1×1
convolutions on training data (``output_init_std``, a departure explained in NOTES.md).
"""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from baselines.dspah.attention import CrossLevelAttention
from sdch_tf.nets.resnet import ResNetConfig, build_resnet, build_resnet34, load_torchvision_resnet

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


class MultiScalePooling(keras.layers.Layer):
    """(b, d) bag-of-words → (b, P, length, 1): row k is the vector average-pooled with window
    and stride ``pool_sizes[k]``, then linearly resized to ``length`` (module docstring)."""

    def __init__(self, pool_sizes, length: int, **kwargs):
        super().__init__(**kwargs)
        pool_sizes = tuple(int(p) for p in pool_sizes)
        if not pool_sizes or min(pool_sizes) < 1:
            raise ValueError(f"pool_sizes must be positive window sizes, got {pool_sizes}")
        if length < 1:
            raise ValueError(f"length must be positive, got {length}")
        self.pool_sizes, self.length = pool_sizes, int(length)

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None or max(self.pool_sizes) > dim:
            raise ValueError(f"{self.name}: pool sizes up to {max(self.pool_sizes)} need a BoW of at least that "
                             f"length, got {dim}")

    def call(self, texts):
        dim = texts.shape[-1]
        rows = []
        for size in self.pool_sizes:
            count = dim // size
            pooled = ops.mean(ops.reshape(texts[:, :count * size], (-1, count, size)), axis=-1)  # (b, count)
            if count != self.length:
                pooled = tf.image.resize(pooled[:, None, :, None], (1, self.length), method="bilinear")[:, 0, :, 0]
            rows.append(pooled)
        return ops.stack(rows, axis=1)[..., None]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.pool_sizes), self.length, 1)


def build_text_net(config, input_dim: int, bits: int, attention, name: str = "text_net") -> keras.Model:
    """The DSPAH text network as a functional model: BoW (b, d) float32 → (b, bits) in (−1, 1).

    Args:
        config: ``baselines.dspah.config.TextNetConfig`` (pool sizes, length, blocks, widths, init_std).
        input_dim: d, the bag-of-words size.
        bits: c, the code length.
        attention: ``baselines.dspah.config.AttentionConfig`` (CBAM reduction, spatial kernel).
    """
    if isinstance(input_dim, bool) or not isinstance(input_dim, int) or input_dim < 1:
        raise ValueError(f"input_dim must be a positive int (the bag-of-words size), got {input_dim!r}")
    length = config.length or input_dim
    init = keras.initializers.RandomNormal(0.0, config.init_std)  # DSPAH §IV.B: N(0, 0.1²)
    inputs = keras.Input(shape=(input_dim,), dtype="float32", name="text")
    matrix = MultiScalePooling(config.pool_sizes, length, name="multi_scale_pooling")(inputs)
    backbone = build_resnet(config.blocks, config.widths, (len(config.pool_sizes), length, 1),
                            kernel_initializer=init, name="text_resnet")
    outputs = CrossLevelAttention(bits, attention.reduction, attention.spatial_kernel, kernel_initializer=init,
                                  name="cross_level_attention")(backbone(matrix))
    return keras.Model(inputs, outputs, name=name)
