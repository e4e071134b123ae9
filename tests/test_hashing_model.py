"""The two-network baseline skeleton (sdch_tf.training.hashing_model) and the resumable fit (sdch_tf.training.fit)."""
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from sdch_tf.training import checkpoint
from sdch_tf.sdch.schedule import StagedSchedule
from sdch_tf.training.callbacks import UpdateCodes
from sdch_tf.training.hashing_model import CrossModalHashingModel, encode_batches
from sdch_tf.training.fit import CHECKPOINT_FILE, EPOCH_LOG_FILE, claim, fit_resumable

BITS, N, DIM = 4, 12, 6


def _net(name, input_shape):
    keras.utils.set_random_seed(0)
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(BITS, name=f"{name}_out")(x), name=name)


class _Quantizer(CrossModalHashingModel):
    """A toy method: pull each network's output towards B (a quantisation loss only)."""

    def __init__(self):
        super().__init__(_net("img", (2, 2, 3)), _net("txt", (DIM,)), BITS, N, log_names=("loss",))

    def train_step(self, data):
        rows = data["index"]
        b = tf.gather(self.codes, rows)
        with tf.GradientTape() as tape:
            f = self.image_net(data["image"], training=True)
            loss = tf.reduce_sum((b - f) ** 2)
        self.apply_gradients("image", tape, loss)
        with tf.GradientTape() as tape:
            g = self.text_net(data["text"], training=True)
            loss_g = tf.reduce_sum((b - g) ** 2)
        self.apply_gradients("text", tape, loss_g)
        self.store(self.image_outputs, rows, f)
        self.store(self.text_outputs, rows, g)
        return self.report({"loss": loss + loss_g})


def _model():
    model = _Quantizer()
    model.compile(optimizers={"image": keras.optimizers.SGD(0.01), "text": keras.optimizers.SGD(0.01)})
    return model


def _batches(start_epoch=0):
    rng = np.random.default_rng(0)
    data = {"image": rng.normal(size=(N, 2, 2, 3)).astype(np.float32),
            "text": rng.normal(size=(N, DIM)).astype(np.float32),
            "index": np.arange(N, dtype=np.int32)}
    return tf.data.Dataset.from_tensor_slices(data).batch(5)


def test_encode_batches_gives_int8_signs_with_zero_mapped_to_plus_one():
    fn = lambda x: x - 1.0  # noqa: E731
    codes = encode_batches(fn, np.array([[0.0, 1.0, 2.0], [3.0, 1.0, -4.0]]), batch_size=1, bits=3)
    assert codes.dtype == np.int8
    np.testing.assert_array_equal(codes, [[-1, 1, 1], [1, 1, -1]])
    assert encode_batches(fn, np.zeros((0, 3)), 4, bits=3).shape == (0, 3)


def test_encoders_sign_the_network_outputs():
    model = _model()
    images, texts = np.random.default_rng(1).normal(size=(7, 2, 2, 3)), np.random.default_rng(2).normal(size=(7, DIM))
    np.testing.assert_array_equal(model.encode_image(images, batch_size=3),
                                  np.where(np.asarray(model.image_net(images)) >= 0, 1, -1))
    np.testing.assert_array_equal(model.encode_text(texts), np.where(np.asarray(model.text_net(texts)) >= 0, 1, -1))


def test_nets_must_output_the_code_length():
    with pytest.raises(ValueError, match="must output 4 values"):
        CrossModalHashingModel(_net("img", (2, 2, 3)), keras.Sequential([keras.Input((DIM,)), keras.layers.Dense(3)]),
                               BITS, N)


def test_compile_needs_one_optimizer_per_group():
    with pytest.raises(ValueError, match="groups are"):
        _Quantizer().compile(optimizers={"image": keras.optimizers.SGD(0.1)})


def test_default_code_update_is_sign_of_f_plus_g():
    model = _model()
    rng = np.random.default_rng(3)
    f, g = rng.normal(size=(N, BITS)), rng.normal(size=(N, BITS))
    f[0, 0], g[0, 0] = 0.5, -0.5  # F + G = 0 → +1
    model.image_outputs.assign(f)
    model.text_outputs.assign(g)
    model.update_codes(epoch=0)
    np.testing.assert_array_equal(np.asarray(model.codes), np.where(f + g >= 0, 1.0, -1.0))


def test_fit_updates_buffers_codes_and_checkpoints_everything(tmp_path):
    model = _model()
    records = fit_resumable(model, _batches, 2, [UpdateCodes()], str(tmp_path), verbose=0)
    assert [r["epoch"] for r in records] == [1, 2] and all(r["seconds"] > 0 for r in records)
    f, g = np.asarray(model.image_outputs), np.asarray(model.text_outputs)
    assert np.all(f != 0) and np.all(g != 0)  # every row stored
    np.testing.assert_array_equal(np.asarray(model.codes), np.where(f + g >= 0, 1.0, -1.0))
    assert os.path.exists(tmp_path / CHECKPOINT_FILE) and os.path.exists(tmp_path / EPOCH_LOG_FILE)

    # A fresh model restored from the checkpoint holds the same weights, buffers and optimiser state.
    restored = _model()
    assert checkpoint.restore(str(tmp_path / CHECKPOINT_FILE), restored) == 2
    for a, b in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for name in ("image", "text"):
        for a, b in zip(model.optimizers_by_name[name].variables, restored.optimizers_by_name[name].variables):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_fit_resumes_after_the_last_finished_epoch(tmp_path):
    fit_resumable(_model(), _batches, 1, [UpdateCodes()], str(tmp_path), verbose=0)
    resumed = _model()
    records = fit_resumable(resumed, _batches, 3, [UpdateCodes()], str(tmp_path), verbose=0)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    straight = _model()
    fit_resumable(straight, _batches, 3, [UpdateCodes()], str(tmp_path / "straight"), verbose=0)
    for a, b in zip(resumed.weights, straight.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)


def test_a_checkpoint_is_resumed_only_by_the_run_it_names(tmp_path):
    identity = {"seed": 0, "config": {"batch_size": 5, "epochs": 3}}
    ours, other = tmp_path / "ours", tmp_path / "other"
    for directory, seed in ((ours, 0), (other, 1)):
        os.makedirs(directory)
        claim(str(directory), {**identity, "seed": seed})
    fit_resumable(_model(), _batches, 1, [UpdateCodes()], str(ours), verbose=0)
    assert checkpoint.read_identity(ours / CHECKPOINT_FILE) == identity

    shutil.copy(ours / CHECKPOINT_FILE, other / CHECKPOINT_FILE)
    model = _model()
    before = [np.asarray(w).copy() for w in model.weights]
    with pytest.raises(checkpoint.CheckpointMismatch,
                       match=r"written by another run, .*\(seed: recorded 0, this run 1\)"):
        fit_resumable(model, _batches, 2, [UpdateCodes()], str(other), verbose=0)
    for a, b in zip(before, model.weights):
        np.testing.assert_array_equal(a, np.asarray(b))  # refused before anything was restored

    # Its own run resumes it; a directory claimed by one run refuses another.
    records = fit_resumable(_model(), _batches, 2, [UpdateCodes()], str(ours), verbose=0)
    assert [r["epoch"] for r in records] == [1, 2]
    claim(str(ours), identity)
    with pytest.raises(checkpoint.CheckpointMismatch, match=r"belongs to another run \(config.batch_size: recorded 5, "
                                                            r"this run 6\)"):
        claim(str(ours), {**identity, "config": {"batch_size": 6, "epochs": 3}})


def test_a_checkpoint_without_identity_is_refused_by_a_run_that_has_one(tmp_path):
    fit_resumable(_model(), _batches, 1, [UpdateCodes()], str(tmp_path), verbose=0)
    assert checkpoint.read_identity(tmp_path / CHECKPOINT_FILE) == {}
    claim(str(tmp_path), {"seed": 0})
    with pytest.raises(checkpoint.CheckpointMismatch, match="records no run identity"):
        fit_resumable(_model(), _batches, 2, [UpdateCodes()], str(tmp_path), verbose=0)


class _PhasedModel:
    """What StagedSchedule uses of SDCH: ``phase`` and ``make_train_function``."""

    def __init__(self, phase):
        self.phase, self.traced = phase, []

    def make_train_function(self, force=False):
        self.traced.append((self.phase, force))


def test_a_resumed_fit_enters_the_phase_of_its_epoch_and_retraces():
    # Built in the joint phase (as SDCH is), resumed after epoch 2: the joint phase, traced anew.
    model = _PhasedModel("joint")
    schedule = StagedSchedule()
    schedule.set_model(model)
    schedule.on_train_begin()
    schedule.on_epoch_begin(2)
    schedule.on_epoch_begin(3)
    assert model.phase == "joint" and model.traced == [("joint", True)]
    # Resumed after epoch 1 by a new fit of the same model: the hash phase.
    schedule.on_train_begin()
    schedule.on_epoch_begin(1)
    schedule.on_epoch_begin(2)
    assert model.traced == [("joint", True), ("hash", True), ("joint", True)]
