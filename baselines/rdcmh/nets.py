"""RDCMH's two networks (RDCMH §Architecture): CNN-F up to fc7 with a new fc8 → c for images,
a two-layer MLP for texts."""
from __future__ import annotations

import keras

from sdch_tf.nets.alexnet import linear_initializer, relu_initializer
from sdch_tf.nets.text import bag_of_words_mlp


def build_image_net(backbone: keras.Model, bits: int, fc7_units: int, dropout: float,
                    name: str = "image_net") -> keras.Model:
    """CNN-F's first six layers (``backbone`` up to fc6 and its dropout) + fc7 (ReLU) + fc8 (c).

    Args:
        backbone: a model from ``sdch_tf.nets.vggf.build_vggf``; its layers are shared, not copied.
        bits: c, the outputs of the eighth layer. fc7_units: width of the seventh (new) layer.

    Returns:
        Model float32 (N, S, S, 3) preprocessed images → float32 (N, c), F.
    """
    x = backbone.get_layer("drop6").output
    x = keras.layers.Dense(fc7_units, activation="relu", kernel_initializer=relu_initializer(), name="img_fc7")(x)
    x = keras.layers.Dropout(dropout, name="img_drop7")(x)
    outputs = keras.layers.Dense(bits, kernel_initializer=linear_initializer(), dtype="float32", name="img_fc8")(x)
    return keras.Model(backbone.input, outputs, name=name)


def build_text_net(input_dim: int, hidden_units: int, bits: int, dropout: float, name: str = "text_net") -> keras.Model:
    """BoW (N, d) → full1 (hidden_units, ReLU, dropout) → full2 (N, c), identity: G."""
    return bag_of_words_mlp(input_dim, (hidden_units,), bits, ("full1", "full2"), dropout=dropout, name=name)
