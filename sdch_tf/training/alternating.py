"""Alternating network passes: DCMH's Algorithm 1 and the methods that keep its loop (PRDH).

One Keras epoch is one outer iteration: a pass of image-net steps over the training set, a pass
of text-net steps, then (a callback) the codes B. The batches of both passes come in one stream
(``alternating_batches``), each carrying ``step`` (IMAGE_STEP or TEXT_STEP);
``AlternatingModel.train_step`` dispatches on it with ``tf.cond``, so nothing is retraced
between passes. A subclass writes ``_image_step`` and ``_text_step`` (each applies its update and
returns every name of ``log_names``, 0 for the other network's entries; ``_step_context`` and
``_finish_step`` do what every such step does around its loss).

Under ``--distribute`` each replica computes the outputs of its slice of the batch and every
replica gathers the global batch (``sdch_tf.training.distribute``): the step's loss, the buffer
rows it writes and the branch it takes are those of the one-device step.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.pipeline import ImagePreprocessing, num_train_batches, train_batches
from sdch_tf.data.split import Split
from sdch_tf.training.distribute import gather, step_logs
from sdch_tf.training.hashing_model import CrossModalHashingModel
from sdch_tf.training.losses import label_similarity

IMAGE_STEP, TEXT_STEP = 0, 1


class AlternatingModel(CrossModalHashingModel):
    """A two-network model whose steps alternate by pass: ``data['step']`` says which network a
    batch trains (all of a batch's entries are IMAGE_STEP or all TEXT_STEP). Each tracker
    averages over the steps of its own network only: log names start with "image_" or "text_".

    Args:
        image_net, text_net: Keras models → (b, r) real-valued outputs (F and G rows).
        bits: r. train_labels: (n, C) 0/1 labels of the training samples (row i = ``index`` i).
        log_names: every value a step reports ("image_…" and "text_…").

    The buffers F, G and the codes B start at 0 (DCMH's code: F = G = 0, so the first epoch's
    B = e_sign(γ(F + G)) is 0, process_DCMH.m).
    """

    def __init__(self, image_net, text_net, bits: int, train_labels, log_names, **kwargs):
        train_labels = tf.convert_to_tensor(train_labels, tf.float32)
        if train_labels.shape.rank != 2:
            raise ValueError(f"train_labels must be (n, C), got shape {train_labels.shape}")
        super().__init__(image_net, text_net, bits, int(train_labels.shape[0]), log_names=log_names, **kwargs)
        self.log_names = tuple(log_names)
        # Kept out of Keras' tracking: a constant of the split, not state to checkpoint.
        self.__dict__["_train_labels"] = train_labels
        self.codes.assign(tf.zeros_like(self.codes))

    @property
    def train_labels(self) -> tf.Tensor:
        return self._train_labels

    def _step_context(self, data) -> tuple:
        """(rows (b,), S (b, n) against every training sample, B rows (b, r)) of the global batch
        (b = every replica's rows)."""
        rows = gather(data["index"])
        return rows, label_similarity(gather(data["label"]), self.train_labels), tf.gather(self.codes, rows)

    def _finish_step(self, group: str, tape, loss, own_buffer, rows, own, terms: dict) -> dict:
        """Apply ``group``'s update, store the step's outputs ``own`` in its buffer rows (the
        outputs of the step's forward pass, process_DCMH.m), and return every log name: this
        network's loss and terms, 0 for the other's (both tf.cond branches return every name).

        ``loss`` is the one-device loss of the global batch, which ``apply_gradients`` divides by the
        number of replicas before their gradients are summed."""
        self.apply_gradients(group, tape, loss)
        self.store(own_buffer, rows, own)
        mine = {f"{group}_loss": loss, **{f"{group}_{k}": v for k, v in terms.items()}}
        return {name: mine.get(name, tf.constant(0.0)) for name in self.log_names}

    def train_step(self, data):
        # From the global batch: every replica must take the same branch, and a replica's own
        # slice of a small last batch may be empty.
        is_text = tf.equal(gather(data["step"])[0], TEXT_STEP)
        values = self._dispatch(is_text, data)
        weight = {"text": tf.cast(is_text, tf.float32), "image": 1.0 - tf.cast(is_text, tf.float32)}
        for name, tracker in self.trackers.items():
            tracker.update_state(values[name], sample_weight=weight[name.split("_")[0]])
        return step_logs({name: tracker.result() for name, tracker in self.trackers.items()})

    def _image_step(self, data) -> dict:
        raise NotImplementedError

    def _text_step(self, data) -> dict:
        raise NotImplementedError

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


def text_pass(data: CrossModalData, split: Split, batch_size: int, image_size: int, seed: int,
              start_epoch: int, stop_epoch: int) -> tf.data.Dataset:
    """The text-net passes of epochs ``start_epoch`` .. ``stop_epoch`` − 1: in each, every training
    sample once, in the order drawn from ``np.random.default_rng([seed, epoch, 1])`` (the image
    pass's stream is [seed, epoch]).

    Elements have the keys and specs of ``pipeline.train_batches`` plus 'step' = TEXT_STEP;
    'image' is an empty (0, s, s, 3) batch: the text step does not read images, and decoding
    them for it would cost as much as the image pass's input pipeline. Stateless like
    ``train_batches(..., stop_epoch=)``: every iterator yields the same batches.
    """
    rows = np.asarray(split.train)
    # The training texts and labels are held in memory; images never are (the image pass streams them).
    texts = np.asarray(data.texts[rows], np.float32)
    labels = np.asarray(data.labels[rows], np.float32)
    n = len(rows)

    def order_of(epoch):
        return np.random.default_rng([int(seed), int(epoch), 1]).permutation(n).astype(np.int32)

    def one_epoch(epoch):
        order = tf.numpy_function(order_of, [epoch], tf.int32, name="text_order")
        order.set_shape((n,))
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    def read(index):
        text, label = tf.numpy_function(lambda i: (texts[i], labels[i]), [index], [tf.float32, tf.float32],
                                        name="read_text_batch")
        text.set_shape((None, texts.shape[1]))
        label.set_shape((None, labels.shape[1]))
        return {"image": tf.zeros((0, image_size, image_size, 3), tf.float32), "text": text, "label": label,
                "index": index, "step": tf.fill(tf.shape(index), TEXT_STEP)}

    plan = tf.data.Dataset.range(int(start_epoch), int(stop_epoch)).flat_map(one_epoch)
    return plan.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def steps_per_epoch(num_train: int, batch_size: int) -> int:
    """Steps of one outer iteration: an image pass and a text pass of the training set."""
    return 2 * num_train_batches(num_train, batch_size)


def alternating_batches(data: CrossModalData, split: Split, batch_size: int, preprocessing: ImagePreprocessing,
                        image_size: int, seed: int, start_epoch: int, stop_epoch: int) -> tf.data.Dataset:
    """Epochs ``start_epoch`` .. ``stop_epoch`` − 1 in sequence, each one outer iteration: a pass of
    image-net batches over the training set, then a pass of text-net batches, each in a fresh
    random order; ``steps_per_epoch`` batches per epoch (give that to ``fit(steps_per_epoch=)``).

    Elements are ``pipeline.train_batches`` dicts plus 'step' (b,) int32 (IMAGE_STEP or
    TEXT_STEP). Epoch e's passes are drawn from the seed and e alone (``train_batches`` and
    ``text_pass``), and every iterator of the dataset yields the same batches — Keras under a
    ``tf.distribute`` strategy makes one to peek at a batch and discards it — so a run resumed
    after epoch e (``start_epoch=e``) continues the same sequence.
    """
    if int(stop_epoch) <= int(start_epoch):
        raise ValueError(f"stop_epoch must exceed start_epoch, got {start_epoch} .. {stop_epoch}")
    images = train_batches(data, split.train, batch_size, preprocessing, seed,
                           start_epoch=start_epoch, stop_epoch=stop_epoch)
    images = images.map(lambda batch: {**batch, "step": tf.fill(tf.shape(batch["index"]), IMAGE_STEP)})
    texts = text_pass(data, split, batch_size, image_size, seed, start_epoch, stop_epoch)
    # Per epoch: the image pass's batches (dataset 0), then the text pass's (dataset 1).
    per_pass = num_train_batches(len(split.train), batch_size)
    epochs = int(stop_epoch) - int(start_epoch)
    choice = tf.data.Dataset.from_tensor_slices(np.repeat(np.array([0, 1], np.int64), per_pass)).repeat(epochs)
    batches = tf.data.Dataset.choose_from_datasets([images, texts], choice)
    total = steps_per_epoch(len(split.train), batch_size) * epochs
    return batches.apply(tf.data.experimental.assert_cardinality(total)).prefetch(tf.data.AUTOTUNE)
