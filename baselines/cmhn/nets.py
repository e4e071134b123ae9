"""CMHN's two hashing networks (CMHN §3, "Implementation Details").

Image: VGG-F up to FC7 (``sdch_tf.nets.vggf``) → FC 500 → FC 200 → FC K, ReLU on the new
hidden layers, tanh on the top ("it is able to squeeze the representation to a {−1, 1}
range"). Text: bag-of-words d → FC 500 → FC K, ReLU then tanh. The new layers are Xavier
initialised (Glorot & Bengio, CMHN ref. [29]: uniform ±√(6 / (fan_in + fan_out))), biases 0.
Both map their input to the neural codes h^L ∈ (−1, 1)^K of Eq. 2.
"""
from __future__ import annotations

import keras

from sdch_tf.nets.vggf import VGGFConfig, build_vggf


def _head(x, units: tuple[int, ...], bits: int, prefix: str):
    for index, width in enumerate(units, start=1):
        x = keras.layers.Dense(width, activation="relu", kernel_initializer="glorot_uniform",
                               name=f"{prefix}_fc{index}")(x)
    # float32 whatever the dtype policy: the losses and the code buffers are float32.
    return keras.layers.Dense(bits, activation="tanh", kernel_initializer="glorot_uniform", dtype="float32",
                              name=f"{prefix}_out")(x)


def build_image_net(config: VGGFConfig, hidden_units: tuple[int, ...], bits: int, input_scale: float = 1.0,
                    name: str = "image_net") -> tuple[keras.Model, keras.Model]:
    """(image net, its VGG-F backbone): float32 (b, s, s, 3) preprocessed images → (b, bits) in (−1, 1).

    The backbone is nested as one layer, so that ``vggf.load_vggf`` and
    ``vggf.pretrained_variables`` apply to it directly. ``input_scale`` ≠ 1 multiplies the
    (mean-subtracted, 0–255 scale) input before conv1: not for pretrained weights, which
    expect MatConvNet's unscaled input (CMHNConfig.input_scale).
    """
    if min(hidden_units, default=1) < 1 or bits < 1:
        raise ValueError(f"need positive widths and bits, got hidden_units={hidden_units}, bits={bits}")
    backbone = build_vggf(config, name="vggf")
    inputs = keras.Input(shape=(config.input_size, config.input_size, 3), dtype="float32", name="image")
    x = inputs if input_scale == 1.0 else keras.layers.Rescaling(input_scale, name="input_scale")(inputs)
    outputs = _head(backbone(x), tuple(hidden_units), bits, "img_hash")
    return keras.Model(inputs, outputs, name=name), backbone


def build_text_net(input_dim: int, hidden_units: tuple[int, ...], bits: int, name: str = "text_net") -> keras.Model:
    """float32 (b, d) bag-of-words → (b, bits) in (−1, 1)."""
    if isinstance(input_dim, bool) or not isinstance(input_dim, int) or input_dim < 1:
        raise ValueError(f"input_dim must be a positive int (the bag-of-words size), got {input_dim!r}")
    if min(hidden_units, default=1) < 1 or bits < 1:
        raise ValueError(f"need positive widths and bits, got hidden_units={hidden_units}, bits={bits}")
    inputs = keras.Input(shape=(input_dim,), dtype="float32", name="text")
    return keras.Model(inputs, _head(inputs, tuple(hidden_units), bits, "txt_hash"), name=name)
