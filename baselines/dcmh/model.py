"""The DCMH model: alternating image-net and text-net steps on DCMH Eq. 2, then B (Alg. 1).

One Keras epoch is one outer iteration of DCMH Algorithm 1: a pass of image-net steps over
the training set, a pass of text-net steps, then (callback) B = sign(γ(F + G)). The batches
of both passes come in one stream (``trainer.epoch_batches``), each carrying ``step``
(0 = image, 1 = text); ``train_step`` dispatches on it with ``tf.cond``, so nothing is
retraced between passes.

Under ``--distribute`` each replica computes the outputs of its slice of the batch and every
replica gathers the global batch (``sdch_tf.training.distribute``): the step's loss, the buffer rows it
writes and the branch it takes are those of the one-device step.
"""
from __future__ import annotations

import tensorflow as tf

from baselines.dcmh import losses
from sdch_tf.training.alternating import IMAGE_STEP, TEXT_STEP, AlternatingModel
from sdch_tf.training.distribute import gather

__all__ = ["DCMH", "IMAGE_STEP", "LOG_NAMES", "TEXT_STEP"]
LOG_NAMES = tuple(f"{net}_{term}" for net in ("image", "text") for term in ("loss",) + losses.STEP_TERMS)


class DCMH(AlternatingModel):
    """DCMH for one code length.

    Args:
        image_net, text_net: Keras models → (b, r) real-valued outputs (F and G rows).
        bits: r. train_labels: (n, C) 0/1 labels of the training samples (row i = ``index`` i).
        gamma, eta: weights of DCMH Eq. 2. normalizer: the loss of a step is divided by it
            (batch_size · n, code update_net.m).

    Inputs to ``train_step``: dicts with 'image' (b, s, s, 3), 'text' (b, d), 'label' (b, C),
    'index' (b,) int32 training rows and 'step' (b,) int32, all IMAGE_STEP or all TEXT_STEP.
    """

    def __init__(self, image_net, text_net, bits: int, train_labels, gamma: float, eta: float, normalizer: float,
                 **kwargs):
        super().__init__(image_net, text_net, bits, train_labels, LOG_NAMES, **kwargs)
        self.gamma, self.eta, self.normalizer = float(gamma), float(eta), float(normalizer)

    def _step(self, data, group: str, net, inputs, own_buffer, other_buffer) -> dict:
        rows, similarity, codes = self._step_context(data)
        rest_sum = tf.reduce_sum(own_buffer, axis=0) - tf.reduce_sum(tf.gather(own_buffer, rows), axis=0)
        other = tf.convert_to_tensor(other_buffer)
        with tf.GradientTape() as tape:
            own = gather(net(inputs, training=True))
            terms = losses.step_loss_terms(own, other, similarity, codes, rest_sum, self.gamma, self.eta)
            loss = tf.add_n(list(terms.values())) / self.normalizer
        return self._finish_step(group, tape, loss, own_buffer, rows, own, terms)

    def _image_step(self, data) -> dict:
        """θ_x step: F_batch against all of G (DCMH §3.3, Eq. 3)."""
        return self._step(data, "image", self.image_net, data["image"], self.image_outputs, self.text_outputs)

    def _text_step(self, data) -> dict:
        """θ_y step: G_batch against all of F (DCMH §3.3, Eq. 4)."""
        return self._step(data, "text", self.text_net, data["text"], self.text_outputs, self.image_outputs)
