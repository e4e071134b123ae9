"""The CM-NN model: ``train_step`` takes one step of the contrastive loss (losses.py) on a batch
of paired image features and texts with their labels."""
from __future__ import annotations

import tensorflow as tf

from baselines.cmnn.losses import cmnn_loss
from sdch_tf.training.hashing_model import TwoNetworkModel

LOG_NAMES = ("loss", "cross_modal", "image_intra", "text_intra")


class CMNN(TwoNetworkModel):
    """Two networks (``nets.build_net``) trained jointly by one optimiser; codes sign(tanh output).

    Args:
        margin: m_XY (absolute, not in units of √bits).
    """

    def __init__(self, image_net, text_net, bits: int, margin: float, image_intra_weight: float = 0.0,
                 text_intra_weight: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.image_net, self.text_net = image_net, text_net
        self.bits = int(bits)
        self.margin = float(margin)
        self.image_intra_weight = float(image_intra_weight)
        self.text_intra_weight = float(text_intra_weight)
        self._init_training(LOG_NAMES)

    def variable_groups(self) -> dict[str, list]:
        return {"cmnn": [*self.image_net.trainable_variables, *self.text_net.trainable_variables]}

    def call(self, inputs, training=False):
        return {"image": self.image_net(inputs["image"]), "text": self.text_net(inputs["text"])}

    def train_step(self, batch):
        with tf.GradientTape() as tape:
            terms = cmnn_loss(self.image_net(batch["image"], training=True), self.text_net(batch["text"], training=True),
                              batch["label"], self.margin, self.image_intra_weight, self.text_intra_weight)
        self.apply_gradients("cmnn", tape, terms["loss"])
        return self.report(terms)
