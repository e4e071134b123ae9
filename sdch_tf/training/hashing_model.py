"""The common skeleton of the two-network baselines (DCMH, CMHN, DSPAH, RDCMH).

Each of them has an image network and a text network that end in a real-valued r-bit
output, per-training-sample buffers of those outputs (DCMH's F and G, CMHN's H_u and H_v,
…) and a unified code matrix B for the training pairs, refreshed from the buffers after
every epoch (DCMH Algorithm 1 and its followers). What differs is the loss of each network
step and the B update; a subclass writes ``train_step`` (calling pure loss functions) and
``update_codes``, and gets the buffers, per-group optimisers, checkpointable state, metric
trackers and the encoder interface of ``sdch_tf.retrieval.evaluation.Hasher`` from here.

Buffers (non-trainable weights, so that checkpoints hold them):
    image_outputs  (n, r)  F: image-net output of each training sample, last time it was seen.
    text_outputs   (n, r)  G: text-net output of each training sample.
    codes          (n, r)  B ∈ {−1, +1}: unified codes of the training pairs.
Row i is the i-th sample of ``split.train`` (the ``index`` of ``pipeline.train_batches``).
"""
from __future__ import annotations

from typing import Callable, Iterable

import keras
import numpy as np
import tensorflow as tf

from sdch_tf.training.distribute import num_replicas, step_logs, store_rows
from sdch_tf.training.itq import sign

# The phase name reported in epoch logs for methods without a staged schedule.
JOINT = "joint"


def encode_batches(fn: Callable, inputs, batch_size: int, bits: int) -> np.ndarray:
    """Codes sign(fn(x)) in {−1, +1} (int8, (n, bits)) for an array (n, ...) or a tf.data
    dataset of batches; sign(0) = +1 (docs/reproduction.md §1)."""
    if isinstance(inputs, tf.data.Dataset):
        batches = inputs
    else:
        array = np.asarray(inputs, np.float32)
        batches = (array[start:start + batch_size] for start in range(0, len(array), batch_size))
    chunks = [sign(np.asarray(fn(batch))) for batch in batches]
    if not chunks:
        return np.zeros((0, bits), np.int8)
    return np.concatenate(chunks, axis=0)


def finish_build(model, example_inputs: dict | None = None, initialize=None):
    """The end of every method's ``build``, after ``compile``: one forward pass on
    ``example_inputs`` (``example_batch``; Keras creates the layers' variables), ``initialize()``
    (the method's data-dependent initialisation), then the optimiser slots, made now under the
    caller's distribution scope: made lazily inside the first distributed step they would be
    per-replica, not mirrored (and a checkpoint restore needs them before the first step)."""
    if example_inputs is not None:
        model(example_inputs)
    if initialize is not None:
        initialize()
    model.build_optimizers()
    return model


def example_batch(image_size: int, text_dim: int) -> dict:
    """One all-zero image–text pair, for ``finish_build``'s forward pass."""
    return {"image": np.zeros((1, image_size, image_size, 3), np.float32), "text": np.zeros((1, text_dim), np.float32)}


class TwoNetworkModel(keras.Model):
    """What every method's model shares: an image and a text network, parameter groups each
    trained by its own optimiser, per-step metric trackers, and encoders to codes in {−1, +1}.

    A subclass sets ``image_net``, ``text_net`` and ``bits``, creates its own state, then calls
    ``_init_training(log_names)`` (trackers and optimiser slots; called last so that the
    variables keep their order in checkpoints); it defines ``variable_groups``, ``train_step``
    and, if its codes are not sign(net output), ``encoding_output``.
    """

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Nothing to build: ``finish_build`` made every variable and optimiser slot before ``fit``.

        Keras' own version (keras/src/backend/tensorflow/trainer.py) takes a batch from the
        distributed iterator and averages it with ``strategy.reduce("MEAN", batch)`` to learn the
        input shapes; ``MultiWorkerMirroredStrategy.reduce`` cannot take a dict of per-replica
        tensors, so every multi-worker ``fit`` failed there (issue 18).
        """
        if not self.built:
            super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def _init_training(self, log_names: Iterable[str]):
        self.phase = JOINT
        self.trackers = {name: keras.metrics.Mean(name=name) for name in log_names}
        self.optimizers_by_name: dict[str, keras.optimizers.Optimizer] = {}

    # ----------------------------------------------------------- optimisation
    def variable_groups(self) -> dict[str, list]:
        """Parameter groups, each trained by its own optimiser. Default: one per network."""
        return {"image": self.image_net.trainable_variables, "text": self.text_net.trainable_variables}

    def compile(self, optimizers: dict[str, keras.optimizers.Optimizer], **kwargs):
        """One optimiser per parameter group of ``variable_groups``; Keras' single optimiser is unused."""
        super().compile(optimizer=None, **kwargs)
        groups = self.variable_groups()
        if set(optimizers) != set(groups):
            raise ValueError(f"{self.name}: optimisers given for {sorted(optimizers)}, groups are {sorted(groups)}")
        self.optimizers_by_name = dict(optimizers)

    def build_optimizers(self):
        """Create the optimiser slots now (checkpoint restore needs them before the first step;
        under tf.distribute they must exist before the first distributed step). Idempotent
        (``LossScaleOptimizer.build`` would add its variables again on a second call)."""
        for name, variables in self.variable_groups().items():
            if not self.optimizers_by_name[name].built:
                self.optimizers_by_name[name].build(variables)

    def apply_gradients(self, group: str, loss_tape: tf.GradientTape, loss) -> None:
        """Differentiate ``loss`` with respect to ``group``'s variables and apply its optimiser.

        Under tf.distribute ``loss`` must be the global batch's loss (computed on
        ``distribute.gather``-ed outputs); its gradients are divided by the number of replicas
        here (the tape may be closed already, so the loss itself cannot be), since the optimiser
        sums the replicas' gradients (``sdch_tf.training.distribute``).
        """
        variables = self.variable_groups()[group]
        grads = loss_tape.gradient(loss, variables)
        replicas = num_replicas()
        if replicas > 1:
            grads = [None if g is None else g / replicas for g in grads]
        self.optimizers_by_name[group].apply_gradients(zip(grads, variables))

    def apply_grouped_gradients(self, groups: dict[str, list], grads: list) -> None:
        """Apply ``grads`` — of the variables of ``groups`` (``variable_groups()``) in their order,
        flattened — each group's part by its own optimiser."""
        start = 0
        for name, group in groups.items():
            self.optimizers_by_name[name].apply_gradients(zip(grads[start:start + len(group)], group))
            start += len(group)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def report(self, values: dict) -> dict:
        """Update the trackers with this step's values; the logs ``train_step`` returns."""
        for name, tracker in self.trackers.items():
            tracker.update_state(values[name])
        return step_logs({name: tracker.result() for name, tracker in self.trackers.items()})

    # ---------------------------------------------------------------- forward
    def call(self, inputs, training=False):
        """{'image', 'text'} → {'image': (b, r), 'text': (b, r)} real-valued network outputs."""
        return {"image": self.image_net(inputs["image"], training=training),
                "text": self.text_net(inputs["text"], training=training)}

    # --------------------------------------------------------------- encoding
    def encoding_output(self, modality: str, inputs):
        """The real-valued code of a batch of ``modality`` ('image' or 'text'); its sign is the code.
        Default: the network's output."""
        net = self.image_net if modality == "image" else self.text_net
        return net(inputs, training=False)

    def encode_image(self, images, batch_size=256):
        """Codes in {−1, +1} (int8, (n, r)) of preprocessed images: an array (n, s, s, 3) or a
        tf.data.Dataset of such batches (``sdch_tf.data.pipeline.image_batches``)."""
        return encode_batches(self._encoder("image"), images, batch_size, self.bits)

    def encode_text(self, texts, batch_size=256):
        """Codes in {−1, +1} (int8, (n, r)) of bag-of-words texts: an array (n, d) or a dataset."""
        return encode_batches(self._encoder("text"), texts, batch_size, self.bits)

    def _encoder(self, modality: str):
        # Kept outside Keras' attribute tracking, which must never see the tf.functions.
        cache = self.__dict__.setdefault("_encoder_fns", {})
        if modality not in cache:
            # One trace per model for every batch size: SDCH encodes its training set after every
            # epoch, and a trace per batch shape would retrace at each epoch's last, partial batch.
            net = self.image_net if modality == "image" else self.text_net
            spec = tf.TensorSpec((None,) + tuple(net.input_shape[1:]), tf.float32)
            cache[modality] = tf.function(lambda x: self.encoding_output(modality, x), input_signature=[spec])
        return cache[modality]


class CrossModalHashingModel(TwoNetworkModel):
    """Image net + text net, the F/G/B buffers, per-group optimisers and encoders.

    Args:
        image_net: Keras model, preprocessed images (b, s, s, 3) → real-valued codes (b, r).
        text_net: Keras model, bag-of-words (b, d) → real-valued codes (b, r).
        bits: code length r.
        num_train: number of training samples n (rows of the buffers).
        log_names: names of the per-step values ``train_step`` reports (one Mean tracker each).

    Subclasses set ``variable_groups()`` (name → variables; one optimiser per name, given to
    ``compile``) and implement ``train_step`` and ``update_codes``.
    """

    def __init__(self, image_net, text_net, bits: int, num_train: int, log_names: Iterable[str] = ("loss",),
                 **kwargs):
        super().__init__(**kwargs)
        for net in (image_net, text_net):
            if net.output_shape[-1] != bits:
                raise ValueError(f"{net.name} must output {bits} values (the code length), got {net.output_shape}")
        self.image_net = image_net
        self.text_net = text_net
        self.bits = int(bits)
        self.num_train = int(num_train)
        shape = (self.num_train, self.bits)
        # "only_first_replica": under tf.distribute every replica stores the same (global-batch)
        # rows, so one copy of the update is applied to all (sdch_tf.training.distribute).
        buffer = dict(shape=shape, trainable=False, aggregation="only_first_replica")
        self.image_outputs = self.add_weight(initializer="zeros", name="image_outputs", **buffer)
        self.text_outputs = self.add_weight(initializer="zeros", name="text_outputs", **buffer)
        self.codes = self.add_weight(initializer="ones", name="codes", **buffer)
        self._init_training(log_names)

    # ---------------------------------------------------------------- buffers
    @staticmethod
    def store(buffer, rows, values) -> None:
        """buffer[rows] = values (rows: (b,) int32 training-set positions, distinct).

        Under tf.distribute, ``rows`` and ``values`` must be the global batch's
        (``distribute.store_rows``).
        """
        store_rows(buffer, tf.reshape(rows, (-1, 1)), tf.cast(values, buffer.dtype))

    def update_codes(self, epoch: int) -> None:
        """B after an epoch. Default: B = sign(F + G) (DCMH Eq. 5 with γ > 0; DSPAH; RDCMH)."""
        self.codes.assign(tf.where(self.image_outputs + self.text_outputs >= 0, 1.0, -1.0))

