"""DBRC's networks (DEFAULT sizes, NOTES.md): per modality a standardising encoder (ReLU layers),
a shared hashing layer on their concatenation with the adaptive tanh, and per modality a decoder
from the codes back to the standardised inputs (ReLU layers, linear output)."""
from __future__ import annotations

import keras
from keras import ops

from baselines.dbrc.losses import adaptive_tanh


class AdaptiveTanh(keras.layers.Layer):
    """tanh(α ⊙ z) with α (one per unit) a trainable weight."""

    def __init__(self, initial_scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_scale = float(initial_scale)

    def build(self, input_shape):
        self.scales = self.add_weight(shape=(int(input_shape[-1]),),
                                      initializer=keras.initializers.Constant(self.initial_scale), name="scales")

    def call(self, inputs):
        return adaptive_tanh(inputs, self.scales)

    def get_config(self):
        return {**super().get_config(), "initial_scale": self.initial_scale}


def mlp(input_dim: int, units: tuple[int, ...], output_dim: int | None, name: str) -> keras.Model:
    """ReLU layers of ``units``, then a linear layer of ``output_dim`` (None: none)."""
    inputs = keras.Input((input_dim,), name=f"{name}_inputs")
    x = inputs
    for i, n in enumerate(units):
        x = keras.layers.Dense(n, activation="relu", name=f"{name}_{i + 1}")(x)
    if output_dim is not None:
        x = keras.layers.Dense(output_dim, name=f"{name}_out")(x)
    return keras.Model(inputs, x, name=name)


def zeros_like_rows(reference, dim: int):
    """float32 zeros (b, dim) with b the rows of ``reference``: the absent modality."""
    return ops.zeros((ops.shape(reference)[0], dim), "float32")
