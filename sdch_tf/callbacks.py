"""Keras callbacks that carry SDCH's schedule around ``fit()`` (SDCH §4.2, Algorithm 1).

Order matters: ``StagedSchedule`` sets the phase before an epoch; at its end ``CodeRefresh``
updates B, then ``EpochLog`` and ``Checkpoint`` record the finished epoch (so a checkpoint
always holds the B that the next epoch needs).
"""
from __future__ import annotations

import json
import math
import time

import keras

from sdch_tf import checkpoint
from sdch_tf.atomic import atomic_write_text
from sdch_tf.model import FEATURES, HASH, JOINT


def phase_of_epoch(epoch: int, feature_epochs: int = 1, hash_epochs: int = 1) -> str:
    """Phase of a 0-based epoch: Θ_f only, then Θ_h only, then everything (SDCH §4.2)."""
    if epoch < feature_epochs:
        return FEATURES
    if epoch < feature_epochs + hash_epochs:
        return HASH
    return JOINT


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


class StopOnDivergence(keras.callbacks.Callback):
    """Stops at the first non-finite loss with an error that says where and what to try
    (the model's ``divergence_hint``), instead of letting NaN codes reach B, ITQ and the evaluator."""

    def __init__(self):
        super().__init__()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        if not all(math.isfinite(float(v)) for v in logs.values()):
            terms = ", ".join(f"{k}={float(v):.4g}" for k, v in logs.items())
            raise TrainingDiverged(
                f"training diverged in epoch {self._epoch + 1} ({getattr(self.model, 'phase', 'joint')} phase), "
                f"step {batch + 1}: "
                f"{terms}. {getattr(self.model, 'divergence_hint', 'Lower the learning rates.')}"
            )


class StagedSchedule(keras.callbacks.Callback):
    """Sets ``model.phase`` for each epoch and retraces the train step when it changes.

    Setting a group's learning rate to 0 (the paper's wording) is implemented by not
    computing or applying that group's update at all, which is the same thing, cheaper.
    """

    def __init__(self, feature_epochs: int = 1, hash_epochs: int = 1):
        super().__init__()
        self.feature_epochs, self.hash_epochs = feature_epochs, hash_epochs

    def on_epoch_begin(self, epoch, logs=None):
        phase = phase_of_epoch(epoch, self.feature_epochs, self.hash_epochs)
        if phase != self.model.phase:
            self.model.phase = phase
            self.model.make_train_function(force=True)


class CodeRefresh(keras.callbacks.Callback):
    """B after each epoch: ITQ on the recorded Z after the Θ_f-only epoch (SDCH §4.2), else
    B = sign(Z) from the Z recorded during the epoch (Eq. 10)."""

    def __init__(self, itq_iterations: int = 50, seed: int = 0):
        super().__init__()
        self.itq_iterations, self.seed = itq_iterations, seed

    def on_epoch_end(self, epoch, logs=None):
        if self.model.phase == FEATURES:
            self.model.initialize_codes_itq(self.itq_iterations, self.seed)
        else:
            self.model.refresh_codes()


class UpdateCodes(keras.callbacks.Callback):
    """Calls ``model.update_codes(epoch)`` after every epoch: the B step of the alternating
    baselines (``sdch_tf.hashing_model.CrossModalHashingModel``)."""

    def on_epoch_end(self, epoch, logs=None):
        self.model.update_codes(epoch)


class EpochLog(keras.callbacks.Callback):
    """Keeps every epoch's phase, loss terms and duration, written to ``path`` as JSON lines.

    ``records`` starts from ``previous`` so that a resumed run keeps its full history.
    """

    def __init__(self, path, previous=()):
        super().__init__()
        self.path = path
        self.records = list(previous)
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        record = {"epoch": epoch + 1, "phase": getattr(self.model, "phase", None), "seconds": time.perf_counter() - self._start}
        record.update({k: float(v) for k, v in (logs or {}).items()})
        self.records.append(record)
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in self.records))

    @staticmethod
    def read(path):
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]


class Checkpoint(keras.callbacks.Callback):
    """Saves weights, B, Z, optimiser state and the epoch after every epoch (atomically), so that
    an interrupted run resumes from the last finished epoch."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        checkpoint.save(self.path, self.model, epoch=epoch + 1)

