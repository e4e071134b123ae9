"""The CorrAE model: a ``keras.Model`` whose ``train_step`` takes one SGD step of the Corr-AE
objective (losses.py) on a batch of paired top-of-stack representations (NOTES.md)."""
from __future__ import annotations

import tensorflow as tf
from keras import ops

from baselines.corrae.losses import corr_ae_loss
from sdch_tf.training.hashing_model import TwoNetworkModel

LOG_NAMES = ("loss", "image_reconstruction", "text_reconstruction", "correlation")


class CorrAE(TwoNetworkModel):
    """Two autoencoders tied at their code layers.

    Args:
        image_net, text_net: features → the code layer's pre-activation (b, bits), each a frozen
            RBM stack (``image_stack`` / ``text_stack``) under a Dense layer (``image_code`` /
            ``text_code``): ``nets.build_encoder``.
        image_decoder, text_decoder: logistic codes (b, bits) → the stack's top representation.
        alpha: the correlation term's weight α (losses.py).

    ``train_step`` batches: {'image': (b, H_I), 'text': (b, H_T)}, the stacks' top
    representations of training pairs (the trainer computes them once; the stacks are frozen).
    Encoding reads features: codes = sign(pre-activation) = the logistic code thresholded at ½.
    """

    def __init__(self, image_net, text_net, image_decoder, text_decoder, bits: int, alpha: float, **kwargs):
        super().__init__(**kwargs)
        self.image_net, self.text_net = image_net, text_net
        self.image_stack = image_net.get_layer("image_rbms")
        self.text_stack = text_net.get_layer("text_rbms")
        self.image_code = image_net.get_layer("image_code")
        self.text_code = text_net.get_layer("text_code")
        self.image_decoder, self.text_decoder = image_decoder, text_decoder
        self.bits = int(bits)
        self.alpha = float(alpha)
        self._init_training(LOG_NAMES)

    def variable_groups(self) -> dict[str, list]:
        """One group: deepnet trains both autoencoders with one optimiser (corr_ae.pbtxt)."""
        return {"corrae": [*self.image_code.trainable_variables, *self.text_code.trainable_variables,
                           *self.image_decoder.trainable_variables, *self.text_decoder.trainable_variables]}

    def call(self, inputs, training=False):
        """{'image': features, 'text': texts} → the code layers' pre-activations {'image', 'text'} (b, bits)."""
        return {"image": self.image_net(inputs["image"]), "text": self.text_net(inputs["text"])}

    def autoencode(self, image_top, text_top):
        """The logistic codes and reconstructions of a batch of top representations."""
        image_codes = ops.sigmoid(self.image_code(image_top))
        text_codes = ops.sigmoid(self.text_code(text_top))
        return image_codes, text_codes, self.image_decoder(image_codes), self.text_decoder(text_codes)

    def train_step(self, batch):
        image_top, text_top = batch["image"], batch["text"]
        with tf.GradientTape() as tape:
            image_codes, text_codes, image_recon, text_recon = self.autoencode(image_top, text_top)
            terms = corr_ae_loss(image_top, text_top, image_recon, text_recon, image_codes, text_codes, self.alpha)
        self.apply_gradients("corrae", tape, terms["loss"])
        return self.report(terms)
