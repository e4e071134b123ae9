"""Bag-of-words text networks: the MLP every method builds its text net from
(``bag_of_words_mlp``), and SDCH's txt-fc1..txt-fc3 (SDCH §3.2, Table 1).

Bag-of-words float32 (N, d) → txt_fc1 (4096, ReLU) → txt_fc2 (4096, ReLU) → txt_fc3 (k, linear)
→ float32 (N, k), the feature f_y of Eq. 4. "The network is composed of three fully connected
layers corresponding to the last three layers of the image network with the same number of
nodes" (§3.2): widths and k come from ``TextNetConfig``.
"""
from __future__ import annotations

import keras
import numpy as np

from sdch_tf.nets.alexnet import linear_initializer, relu_initializer
from sdch_tf.nets.configs import TextNetConfig


def bag_of_words_mlp(input_dim: int, hidden_units, output_units: int, layer_names, *,
                     hidden_initializer=relu_initializer, output_initializer=linear_initializer,
                     bias_initializer=lambda: "zeros", dropout: float | None = None, text_mean=None,
                     name: str = "text_net") -> keras.Model:
    """BoW float32 (N, input_dim) → [− text_mean] → Dense(h, ReLU) [→ Dropout] for each h in
    ``hidden_units`` → Dense(``output_units``), linear, computed in float32 → (N, output_units).

    Args:
        layer_names: one name per Dense layer (hidden ones, then the output); a dropout after
            hidden layer i is named ``drop{i}`` (1-based), created only when ``dropout`` is not None.
        hidden_initializer, output_initializer, bias_initializer: functions making a new
            initialiser for each layer (kernels He-normal and Glorot-normal by default, SDCH §4.2;
            biases zero). One per layer, made in layer order: an unseeded Keras initialiser draws
            its seed when it is made, so the order fixes the initial weights.
        text_mean: (input_dim,) subtracted from every input by a fixed Normalization layer
            ``zero_mean`` (DCMH's normZeroMean), or None.
    """
    hidden_units = tuple(hidden_units)
    if isinstance(input_dim, bool) or not isinstance(input_dim, int) or input_dim < 1:
        raise ValueError(f"input_dim must be a positive int (the bag-of-words size), got {input_dim!r}")
    if min(hidden_units, default=1) < 1 or output_units < 1:
        raise ValueError(f"the text net's widths must be positive, got hidden {hidden_units}, output {output_units}")
    if len(layer_names) != len(hidden_units) + 1:
        raise ValueError(f"need {len(hidden_units) + 1} layer names, got {layer_names}")
    inputs = keras.Input(shape=(input_dim,), dtype="float32", name="text")
    x = inputs
    if text_mean is not None:
        text_mean = np.asarray(text_mean, np.float32).reshape(-1)
        if text_mean.shape != (input_dim,):
            raise ValueError(f"text_mean must have shape ({input_dim},), got {text_mean.shape}")
        # Fixed (non-trainable) centring: (x − mean) / sqrt(1).
        x = keras.layers.Normalization(mean=text_mean, variance=np.ones_like(text_mean), name="zero_mean")(x)
    for index, (units, layer_name) in enumerate(zip(hidden_units, layer_names), start=1):
        x = keras.layers.Dense(units, activation="relu", kernel_initializer=hidden_initializer(),
                               bias_initializer=bias_initializer(), name=layer_name)(x)
        if dropout is not None:
            x = keras.layers.Dropout(dropout, name=f"drop{index}")(x)
    # float32 under any dtype policy, so that the losses stay in float32.
    outputs = keras.layers.Dense(output_units, kernel_initializer=output_initializer(),
                                 bias_initializer=bias_initializer(), dtype="float32", name=layer_names[-1])(x)
    return keras.Model(inputs, outputs, name=name)


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
    if len(config.fc_units) != 2:
        raise ValueError(
            f"TextNetConfig.fc_units must be 2 positive widths (txt-fc1, txt-fc2, SDCH Table 1), got {config.fc_units}"
        )
    if config.feature_dim < 1:
        raise ValueError(f"TextNetConfig.feature_dim must be positive, got {config.feature_dim}")
    return bag_of_words_mlp(input_dim, config.fc_units, config.feature_dim, ("txt_fc1", "txt_fc2", "txt_fc3"),
                            name=name)
