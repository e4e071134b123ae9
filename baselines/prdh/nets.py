"""PRDH's two networks (note P0, docs/baselines-research/prdh.md; torchcmh cnnf.py, MLP.py).

Image: CNN-F (``sdch_tf.nets.vggf``) up to fc7, then fc8 → r, linear ("fc8 replaced by an r-unit
hash layer"). Text: bag-of-words (zero-mean) → Dense ReLU → Dense ReLU → r, linear ("a multilayer
perceptron of 3 fully-connected layers"). The hash layers (fc8, the text net's last) are drawn
N(0, ``init_std``), weights and biases, as DCMH's code and torchcmh draw them; the text net's
hidden ReLU layers He-normal with zero biases (the shared MLP's default): at N(0, 0.01) two
stacked hidden layers pass on almost nothing (NOTES.md, "Architecture"). Outputs stay
real-valued in training (note: "relaxed to real values").
"""
from __future__ import annotations

import keras
import numpy as np

from sdch_tf.nets.text import bag_of_words_mlp
from sdch_tf.nets.vggf import VGGFConfig, build_vggf


def _normal(std: float) -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(stddev=std)


def build_image_net(config: VGGFConfig, bits: int, init_std: float, name: str = "image_net") -> keras.Model:
    """CNN-F + fc8: float32 (N, S, S, 3) mean-subtracted RGB → (N, bits) real-valued F rows."""
    features = build_vggf(config, name="vggf")
    outputs = keras.layers.Dense(bits, kernel_initializer=_normal(init_std), bias_initializer=_normal(init_std),
                                 dtype="float32", name="fc8")(features.output)
    return keras.Model(features.input, outputs, name=name)


def build_text_net(text_dim: int, hidden: tuple[int, ...], bits: int, init_std: float,
                   text_mean: np.ndarray | None = None, name: str = "text_net") -> keras.Model:
    """BoW (N, text_dim) → [− text_mean] → Dense(h, ReLU) per ``hidden`` → Dense(bits): (N, bits) G rows."""
    names = tuple(f"fc{i + 1}" for i in range(len(hidden))) + ("fc_hash",)
    net = bag_of_words_mlp(text_dim, tuple(hidden), bits, names, output_initializer=lambda: _normal(init_std),
                           text_mean=text_mean, name=name)
    hash_layer = net.get_layer("fc_hash")
    hash_layer.bias.assign(_normal(init_std)(hash_layer.bias.shape))
    return net
