"""The PRDH model: DCMH's alternating image-net and text-net passes, then B = sign(F + G)
(note P8), with PRDH's objective in each step (``losses.step_loss_terms``).

The passes, their batch stream and the dispatch between them (also under ``--distribute``) are
``sdch_tf.training.alternating``'s, as for DCMH: PRDH keeps DCMH's buffered "batch × whole
training set" loop (note P8: each iteration pairs "the batch with the whole training set").
"""
from __future__ import annotations

import tensorflow as tf

from baselines.prdh import losses
from sdch_tf.training.alternating import IMAGE_STEP, TEXT_STEP, AlternatingModel
from sdch_tf.training.distribute import gather

__all__ = ["IMAGE_STEP", "LOG_NAMES", "PRDH", "TEXT_STEP"]

LOG_NAMES = tuple(f"{net}_{term}" for net in ("image", "text") for term in ("loss",) + losses.STEP_TERMS)


class PRDH(AlternatingModel):
    """PRDH for one code length.

    Args:
        image_net, text_net: Keras models → (b, r) real-valued outputs (F and G rows).
        bits: r. train_labels: (n, C) 0/1 labels of the training samples (row i = ``index`` i).
        lam, gamma: weights of the decorrelation term and of R (note P7).
        normalizer: the likelihood, quantisation and balance terms of a step are divided by it
            (batch_size · n, as DCMH's code divides its gradient); the decorrelation term, a
            statistic of the batch alone, is not (NOTES.md, "Losses").
        intra_one_sided: torchcmh's intra term (``losses.step_loss_terms``).

    Inputs to ``train_step``: dicts with 'image' (b, s, s, 3), 'text' (b, d), 'label' (b, C),
    'index' (b,) int32 training rows and 'step' (b,) int32, all IMAGE_STEP or all TEXT_STEP.
    """

    def __init__(self, image_net, text_net, bits: int, train_labels, lam: float, gamma: float, normalizer: float,
                 intra_one_sided: bool = False, **kwargs):
        super().__init__(image_net, text_net, bits, train_labels, LOG_NAMES, **kwargs)
        self.lam, self.gamma, self.normalizer = float(lam), float(gamma), float(normalizer)
        self.intra_one_sided = bool(intra_one_sided)

    def _step(self, data, group: str, net, inputs, own_buffer, other_buffer) -> dict:
        rows, similarity, codes = self._step_context(data)
        buffer = tf.convert_to_tensor(own_buffer)
        other = tf.convert_to_tensor(other_buffer)
        with tf.GradientTape() as tape:
            own = gather(net(inputs, training=True))
            terms = losses.step_loss_terms(own, buffer, other, rows, similarity, codes, self.lam, self.gamma,
                                           self.intra_one_sided)
            scaled = terms["inter"] + terms["intra"] + terms["quantization"] + terms["balance"]
            loss = scaled / self.normalizer + terms["decorrelation"]
        return self._finish_step(group, tape, loss, own_buffer, rows, own, terms)

    def _image_step(self, data) -> dict:
        """θx step: F_batch against all of G and all of F (note P8)."""
        return self._step(data, "image", self.image_net, data["image"], self.image_outputs, self.text_outputs)

    def _text_step(self, data) -> dict:
        """θy step: G_batch against all of F and all of G."""
        return self._step(data, "text", self.text_net, data["text"], self.text_outputs, self.image_outputs)
