"""CM-NN's networks: per modality, inputs standardised by the training mean and std (as the
transcription's), one tanh hidden layer, a tanh output of one unit per bit; Glorot-uniform
weights (the transcription's U(±√(6/(n_in + n_out)))), biases 0. Codes: sign of the output."""
from __future__ import annotations

import keras
import numpy as np

from sdch_tf.nets.standardize import standardization


def build_net(training_rows: np.ndarray, hidden_units: int, bits: int, name: str):
    """features or texts (b, d) → tanh codes (b, bits), standardised by ``training_rows`` (n, d)."""
    inputs = keras.Input((training_rows.shape[1],), name=f"{name}_inputs")
    standardise = standardization(training_rows, f"{name}_standardise")
    hidden = keras.layers.Dense(hidden_units, activation="tanh", name=f"{name}_hidden")
    output = keras.layers.Dense(bits, activation="tanh", name=f"{name}_codes")
    return keras.Model(inputs, output(hidden(standardise(inputs))), name=f"{name}_net")
