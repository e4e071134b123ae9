"""SDCH's text pipeline txt-fc1..txt-fc3 (SDCH §3.2, Table 1).

Bag-of-words float32 (N, d) → txt_fc1 (4096, ReLU) → txt_fc2 (4096, ReLU) → txt_fc3 (k, linear)
→ float32 (N, k), the feature f_y of Eq. 4. "The network is composed of three fully connected
layers corresponding to the last three layers of the image network with the same number of
nodes" (§3.2): widths and k come from ``TextNetConfig``.
"""
from __future__ import annotations

import keras

from sdch_tf.nets.alexnet import linear_initializer, relu_initializer
from sdch_tf.nets.configs import TextNetConfig


def build_text_net(config: TextNetConfig, input_dim: int, name: str = "text_net") -> keras.Model:
    """The text MLP as a functional Keras model.

    Args:
        config: the two hidden widths (txt-fc1, txt-fc2) and k (txt-fc3).
        input_dim: d, the bag-of-words vocabulary size (e.g. 1386 for MIRFlickr-25K).
        name: model name.

    Returns:
        A model mapping float32 (N, input_dim) to float32 (N, feature_dim); layers txt_fc1,
        txt_fc2 (ReLU, He-normal) and txt_fc3 (linear, Glorot-normal, computed in float32 under
        any dtype policy so that the losses stay in float32). Biases start at zero (SDCH §4.2:
        random normal initialisation).
    """
    if isinstance(input_dim, bool) or not isinstance(input_dim, int) or input_dim < 1:
        raise ValueError(f"input_dim must be a positive int (the bag-of-words size), got {input_dim!r}")
    if len(config.fc_units) != 2 or min(config.fc_units) < 1:
        raise ValueError(
            f"TextNetConfig.fc_units must be 2 positive widths (txt-fc1, txt-fc2, SDCH Table 1), got {config.fc_units}"
        )
    if config.feature_dim < 1:
        raise ValueError(f"TextNetConfig.feature_dim must be positive, got {config.feature_dim}")
    inputs = keras.Input(shape=(input_dim,), dtype="float32", name="text")
    x = inputs
    for index, units in enumerate(config.fc_units, start=1):
        x = keras.layers.Dense(
            units, activation="relu", kernel_initializer=relu_initializer(), name=f"txt_fc{index}"
        )(x)
    outputs = keras.layers.Dense(
        config.feature_dim, kernel_initializer=linear_initializer(), dtype="float32", name="txt_fc3"
    )(x)
    return keras.Model(inputs, outputs, name=name)
