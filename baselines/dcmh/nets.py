"""DCMH's two networks (DCMH §3.1; code net_structure_img.m, net_structure_txt.m).

Image: CNN-F (``sdch_tf.nets.vggf``) up to fc7, then fc8 → r, linear (the code replaces layer
20 of imagenet-vgg-f.mat, fc8, by a 1×1×4096×r convolution). Text: bag-of-words (zero-mean)
→ fc1 8192 (ReLU) → fc3 r, linear. The new layers are drawn as the code draws them,
0.01·randn for weights and biases.
"""
from __future__ import annotations

import keras
import numpy as np

from sdch_tf.nets.text import bag_of_words_mlp
from sdch_tf.nets.vggf import VGGFConfig, build_vggf


def _new_layer_init(std: float) -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(stddev=std)


def build_image_net(config: VGGFConfig, bits: int, init_std: float, name: str = "image_net") -> keras.Model:
    """CNN-F + fc8: float32 (N, S, S, 3) mean-subtracted RGB → (N, bits) real-valued F rows."""
    features = build_vggf(config, name="vggf")
    outputs = keras.layers.Dense(bits, kernel_initializer=_new_layer_init(init_std),
                                 bias_initializer=_new_layer_init(init_std), dtype="float32", name="fc8")(
        features.output)
    return keras.Model(features.input, outputs, name=name)


def build_text_net(text_dim: int, hidden: int, bits: int, init_std: float, text_mean: np.ndarray | None = None,
                   name: str = "text_net") -> keras.Model:
    """BoW (N, text_dim) → [− text_mean] → fc1 ``hidden`` ReLU → fc3 ``bits``: (N, bits) G rows.

    Args:
        text_mean: (text_dim,) subtracted from every input (the code's normZeroMean), or None.
    """
    def init():
        return _new_layer_init(init_std)

    return bag_of_words_mlp(text_dim, (hidden,), bits, ("fc1", "fc3"), hidden_initializer=init, output_initializer=init,
                            bias_initializer=init, text_mean=text_mean, name=name)
