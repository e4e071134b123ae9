"""DCMH's two networks (DCMH §3.1; code net_structure_img.m, net_structure_txt.m).

Image: CNN-F (``sdch_tf.nets.vggf``) up to fc7, then fc8 → r, linear (the code replaces layer
20 of imagenet-vgg-f.mat, fc8, by a 1×1×4096×r convolution). Text: bag-of-words (zero-mean)
→ fc1 8192 (ReLU) → fc3 r, linear. The new layers are drawn as the code draws them,
0.01·randn for weights and biases.
"""
from __future__ import annotations

import keras
import numpy as np

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
    if isinstance(text_dim, bool) or not isinstance(text_dim, int) or text_dim < 1:
        raise ValueError(f"text_dim must be a positive int (the bag-of-words size), got {text_dim!r}")
    if hidden < 1:
        raise ValueError(f"the text net's hidden width must be positive, got {hidden}")
    inputs = keras.Input(shape=(text_dim,), dtype="float32", name="text")
    x = inputs
    if text_mean is not None:
        text_mean = np.asarray(text_mean, np.float32).reshape(-1)
        if text_mean.shape != (text_dim,):
            raise ValueError(f"text_mean must have shape ({text_dim},), got {text_mean.shape}")
        # Fixed (non-trainable) centring: (x − mean) / sqrt(1).
        x = keras.layers.Normalization(mean=text_mean, variance=np.ones_like(text_mean), name="zero_mean")(x)
    x = keras.layers.Dense(hidden, activation="relu", kernel_initializer=_new_layer_init(init_std),
                           bias_initializer=_new_layer_init(init_std), name="fc1")(x)
    outputs = keras.layers.Dense(bits, kernel_initializer=_new_layer_init(init_std),
                                 bias_initializer=_new_layer_init(init_std), dtype="float32", name="fc3")(x)
    return keras.Model(inputs, outputs, name=name)
