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
from sdch_tf.training.distribute import gather
from sdch_tf.training.hashing_model import CrossModalHashingModel
from sdch_tf.training.losses import label_similarity

IMAGE_STEP, TEXT_STEP = 0, 1
LOG_NAMES = tuple(f"{net}_{term}" for net in ("image", "text") for term in ("loss",) + losses.STEP_TERMS)


class DCMH(CrossModalHashingModel):
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

    def train_step(self, data):
        """One network step of DCMH Algorithm 1 (image or text, per ``data['step']``)."""
        # From the global batch: every replica must take the same branch, and a replica's own
        # slice of a small last batch may be empty.
        is_text = tf.equal(gather(data["step"])[0], TEXT_STEP)
        values = self._dispatch(is_text, data)
        # Each tracker averages over the steps of its own network only (weight 0 on the others).
        weight = {"text": tf.cast(is_text, tf.float32), "image": 1.0 - tf.cast(is_text, tf.float32)}
        for name, tracker in self.trackers.items():
            tracker.update_state(values[name], sample_weight=weight[name.split("_")[0]])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def _dispatch(self, is_text, data) -> dict:
        """The text step's values if ``is_text`` else the image step's (each applies its update).

        Under a tf.distribute strategy the steps synchronise the replicas (all-gathers, gradient
        all-reduce, buffer updates), which ``tf.distribute`` does not allow inside a tf.cond taken
        in each replica: the branch is chosen once in cross-replica context (``merge_call``), and
        the chosen step runs in every replica from there, as Keras' LossScaleOptimizer does.
        """
        if not tf.distribute.has_strategy():
            return tf.cond(is_text, lambda: self._text_step(data), lambda: self._image_step(data))

        def cross_replica(strategy, is_text, data):
            def branch(step):
                def run():
                    values = strategy.extended.call_for_each_replica(step, args=(data,))
                    # Every replica computed the global batch's values: the first one's are all's.
                    return {k: strategy.experimental_local_results(v)[0] for k, v in values.items()}
                return run

            first = strategy.experimental_local_results(is_text)[0]
            return tf.cond(first, branch(self._text_step), branch(self._image_step))

        return tf.distribute.get_replica_context().merge_call(cross_replica, args=(is_text, data))

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
