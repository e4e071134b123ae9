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
from sdch_tf.training.losses import label_similarity

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
        train_labels = tf.convert_to_tensor(train_labels, tf.float32)
        if train_labels.shape.rank != 2:
            raise ValueError(f"train_labels must be (n, C), got shape {train_labels.shape}")
        super().__init__(image_net, text_net, bits, int(train_labels.shape[0]), log_names=LOG_NAMES, **kwargs)
        self.gamma, self.eta, self.normalizer = float(gamma), float(eta), float(normalizer)
        # Kept out of Keras' tracking: a constant of the split, not state to checkpoint.
        self.__dict__["_train_labels"] = train_labels
        # The code starts from F = G = 0, so the first epoch's B = e_sign(γ(F + G)) is 0 (process_DCMH.m).
        self.codes.assign(tf.zeros_like(self.codes))

    @property
    def train_labels(self) -> tf.Tensor:
        return self._train_labels

    def _step(self, data, group: str, net, inputs, own_buffer, other_buffer) -> dict:
        # Global batch (b = every replica's rows); the loss is the one-device loss, which
        # ``apply_gradients`` divides by the number of replicas before their gradients are summed.
        rows = gather(data["index"])
        similarity = label_similarity(gather(data["label"]), self.train_labels)  # (b, n)
        codes = tf.gather(self.codes, rows)
        rest_sum = tf.reduce_sum(own_buffer, axis=0) - tf.reduce_sum(tf.gather(own_buffer, rows), axis=0)
        other = tf.convert_to_tensor(other_buffer)
        with tf.GradientTape() as tape:
            own = gather(net(inputs, training=True))
            terms = losses.step_loss_terms(own, other, similarity, codes, rest_sum, self.gamma, self.eta)
            loss = tf.add_n(list(terms.values())) / self.normalizer
        self.apply_gradients(group, tape, loss)
        # F (or G) rows of the batch: the outputs of this step's forward pass (process_DCMH.m).
        self.store(own_buffer, rows, own)
        mine = {f"{group}_loss": loss, **{f"{group}_{k}": v for k, v in terms.items()}}
        # Both tf.cond branches return every log name; the other network's entries are 0.
        return {name: mine.get(name, tf.constant(0.0)) for name in LOG_NAMES}

    def _image_step(self, data) -> dict:
        """θ_x step: F_batch against all of G (DCMH §3.3, Eq. 3)."""
        return self._step(data, "image", self.image_net, data["image"], self.image_outputs, self.text_outputs)

    def _text_step(self, data) -> dict:
        """θ_y step: G_batch against all of F (DCMH §3.3, Eq. 4)."""
        return self._step(data, "text", self.text_net, data["text"], self.text_outputs, self.image_outputs)
