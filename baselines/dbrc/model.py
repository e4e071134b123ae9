"""The DBRC model: ``train_step`` takes one step of the reconstruction objective (losses.py) on a
batch of paired features and texts, each pair presented with both inputs and with either alone."""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from baselines.dbrc.losses import dbrc_loss
from baselines.dbrc.nets import zeros_like_rows
from sdch_tf.training.hashing_model import TwoNetworkModel

LOG_NAMES = ("loss", "image_reconstruction", "text_reconstruction", "scale_penalty")


class DBRC(TwoNetworkModel):
    """Encoders, a shared hashing layer with the adaptive tanh, decoders.

    Args:
        image_norm, text_norm: the inputs' standardisation (training mean and std).
        image_encoder, text_encoder: standardised inputs → hidden representations.
        fusion: Dense(bits) on the two representations concatenated.
        hashing: ``nets.AdaptiveTanh``.
        image_decoder, text_decoder: codes → standardised inputs.
        scale_penalty: λ.

    The image code of an image is the hashing layer's output with the text absent (zeros, i.e. the
    mean text after standardisation), and the other way round (NOTES.md, "Codes").
    """

    def __init__(self, image_norm, text_norm, image_encoder, text_encoder, fusion, hashing, image_decoder,
                 text_decoder, bits: int, scale_penalty: float, **kwargs):
        super().__init__(**kwargs)
        self.image_norm, self.text_norm = image_norm, text_norm
        self.image_encoder, self.text_encoder = image_encoder, text_encoder
        self.fusion, self.hashing = fusion, hashing
        self.image_decoder, self.text_decoder = image_decoder, text_decoder
        self.bits = int(bits)
        self.scale_penalty = float(scale_penalty)
        self.image_dim = int(image_encoder.input_shape[-1])
        self.text_dim = int(text_encoder.input_shape[-1])
        self.image_net = self._single_modality_net("image")
        self.text_net = self._single_modality_net("text")
        self._init_training(LOG_NAMES)

    def codes_of(self, image_rows, text_rows):
        """tanh(α ⊙ z) of standardised (image, text) rows (b, d_I), (b, d_T)."""
        joint = ops.concatenate([self.image_encoder(image_rows), self.text_encoder(text_rows)], axis=-1)
        return self.hashing(self.fusion(joint))

    def _single_modality_net(self, modality: str) -> keras.Model:
        """raw features or texts → the hashing layer's output with the other modality absent."""
        dim = self.image_dim if modality == "image" else self.text_dim
        inputs = keras.Input((dim,), name=f"{modality}_rows")
        if modality == "image":
            absent = keras.layers.Lambda(lambda x: zeros_like_rows(x, self.text_dim))(inputs)
            codes = self.codes_of(self.image_norm(inputs), absent)
        else:
            absent = keras.layers.Lambda(lambda x: zeros_like_rows(x, self.image_dim))(inputs)
            codes = self.codes_of(absent, self.text_norm(inputs))
        return keras.Model(inputs, codes, name=f"{modality}_net")

    def variable_groups(self) -> dict[str, list]:
        return {"dbrc": [v for layer in (self.image_encoder, self.text_encoder, self.fusion, self.hashing,
                                         self.image_decoder, self.text_decoder) for v in layer.trainable_variables]}

    def call(self, inputs, training=False):
        return {"image": self.image_net(inputs["image"]), "text": self.text_net(inputs["text"])}

    def train_step(self, batch):
        images, texts = self.image_norm(batch["image"]), self.text_norm(batch["text"])
        no_images, no_texts = ops.zeros_like(images), ops.zeros_like(texts)
        # Each pair three times: both inputs, the image alone, the text alone; targets both.
        image_inputs = ops.concatenate([images, images, no_images], axis=0)
        text_inputs = ops.concatenate([texts, no_texts, texts], axis=0)
        image_targets = ops.concatenate([images, images, images], axis=0)
        text_targets = ops.concatenate([texts, texts, texts], axis=0)
        with tf.GradientTape() as tape:
            codes = self.codes_of(image_inputs, text_inputs)
            terms = dbrc_loss(image_targets, text_targets, self.image_decoder(codes), self.text_decoder(codes),
                              self.hashing.scales, self.scale_penalty)
        self.apply_gradients("dbrc", tape, terms["loss"])
        return self.report(terms)
