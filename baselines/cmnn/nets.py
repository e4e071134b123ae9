"""CM-NN's networks: per modality, inputs standardised by the training mean and std (as the
transcription's), one tanh hidden layer, a tanh output of one unit per bit; Glorot-uniform
weights (the transcription's U(±√(6/(n_in + n_out)))), biases 0. Codes: sign of the output."""
from __future__ import annotations

import keras
import numpy as np


def build_net(input_dim: int, hidden_units: int, bits: int, mean: np.ndarray, std: np.ndarray, name: str):
    """features or texts (b, input_dim) → tanh codes (b, bits)."""
    inputs = keras.Input((input_dim,), name=f"{name}_inputs")
    standardise = keras.layers.Normalization(mean=mean, variance=np.square(std), name=f"{name}_standardise")
    hidden = keras.layers.Dense(hidden_units, activation="tanh", name=f"{name}_hidden")
    output = keras.layers.Dense(bits, activation="tanh", name=f"{name}_codes")
    return keras.Model(inputs, output(hidden(standardise(inputs))), name=f"{name}_net")


def standardizer(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) per column of the training rows; a constant column gets std 1."""
    rows = np.asarray(rows, np.float64)
    std = rows.std(axis=0)
    return rows.mean(axis=0).astype(np.float32), np.where(std > 0, std, 1.0).astype(np.float32)
