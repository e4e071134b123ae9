"""CorrAE's networks: per modality a frozen RBM stack (rbm.py) under a logistic code layer of one
unit per bit, and a logistic decoder reconstructing the stack's top representation (corr_ae.pbtxt:
image_hidden2 → image_tied_hidden → image_hidden2_recon, and the same for text; NOTES.md).

The image and text networks map features to the code layer's pre-activation: its sign is the
code, i.e. the logistic code thresholded at ½ (NOTES.md, "Codes").
"""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from baselines.corrae.rbm import RBM, TINY


class FrozenRBMStack(keras.layers.Layer):
    """Hidden probabilities of a stack of RBMs, bottom to top; not trained by back-propagation
    (the Corr-AE trains on the stack's top representation, never into the RBMs).

    Args:
        visible_kind: the bottom RBM's visible units ("gaussian": inputs standardised by the
            stored mean and std first; "replicated_softmax": word counts; "logistic").
        units: hidden units per level, bottom first.
        up_factor: the bottom RBM's visible→hidden multiplier.
    """

    def __init__(self, visible_kind: str, units: tuple[int, ...], up_factor: float = 1.0, **kwargs):
        super().__init__(trainable=False, **kwargs)
        self.visible_kind = visible_kind
        self.units = tuple(int(u) for u in units)
        self.up_factor = float(up_factor)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.input_mean = self.add_weight(shape=(dim,), initializer="zeros", trainable=False, name="input_mean")
        self.input_std = self.add_weight(shape=(dim,), initializer="ones", trainable=False, name="input_std")
        self.level_weights, self.level_biases = [], []
        for level, units in enumerate(self.units):
            self.level_weights.append(self.add_weight(shape=(dim, units), initializer="zeros", trainable=False,
                                                      name=f"rbm{level + 1}_weights"))
            self.level_biases.append(self.add_weight(shape=(units,), initializer="zeros", trainable=False,
                                                     name=f"rbm{level + 1}_hidden_bias"))
            dim = units

    def set_stack(self, rbms: list[RBM], mean: np.ndarray | None = None, std: np.ndarray | None = None) -> None:
        """Load trained (or initial) RBMs, and the gaussian inputs' standardisation."""
        if len(rbms) != len(self.units):
            raise ValueError(f"{self.name}: {len(rbms)} RBMs given for a stack of {len(self.units)}")
        if mean is not None:
            self.input_mean.assign(mean)
            self.input_std.assign(std)
        for rbm, weights, bias in zip(rbms, self.level_weights, self.level_biases):
            weights.assign(rbm.weights)
            bias.assign(rbm.hidden_bias)

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        if self.visible_kind == "gaussian":
            x = (x - self.input_mean) / self.input_std
        for level, (weights, bias) in enumerate(zip(self.level_weights, self.level_biases)):
            pre = ops.matmul(x, weights)
            if level == 0:
                pre = self.up_factor * pre
                if self.visible_kind == "replicated_softmax":
                    lengths = ops.sum(x, axis=-1, keepdims=True) + TINY
                    pre = pre + lengths * bias
                else:
                    pre = pre + bias
            else:
                pre = pre + bias
            x = ops.sigmoid(pre)
        return x

    def get_config(self):
        return {**super().get_config(), "visible_kind": self.visible_kind, "units": self.units,
                "up_factor": self.up_factor}


def deepnet_dense(units: int, activation=None, name: str | None = None) -> keras.layers.Dense:
    """A Dense layer initialised as deepnet's DENSE_GAUSSIAN_SQRT_FAN_IN (sigma 1): N(0, 1/units),
    std 1/√(the layer's own size); biases 0 (CONSTANT)."""
    return keras.layers.Dense(units, activation=activation, name=name,
                              kernel_initializer=keras.initializers.RandomNormal(stddev=1.0 / np.sqrt(units)),
                              bias_initializer="zeros")


def build_encoder(input_dim: int, rbm_configs, bits: int, name: str) -> tuple[keras.Model, FrozenRBMStack]:
    """features (b, input_dim) → the code layer's pre-activation (b, bits), and its stack layer."""
    bottom = rbm_configs[0]
    stack = FrozenRBMStack(bottom.visible, tuple(c.hidden_units for c in rbm_configs), bottom.up_factor,
                           name=f"{name}_rbms")
    inputs = keras.Input((input_dim,), name=f"{name}_features")
    code = deepnet_dense(bits, name=f"{name}_code")
    return keras.Model(inputs, code(stack(inputs)), name=f"{name}_net"), stack


def build_decoder(bits: int, output_dim: int, name: str) -> keras.Model:
    """codes (b, bits) → the logistic reconstruction (b, output_dim) of the stack's top."""
    inputs = keras.Input((bits,), name=f"{name}_codes")
    return keras.Model(inputs, deepnet_dense(output_dim, "sigmoid", name=f"{name}_recon")(inputs),
                       name=f"{name}_decoder")
