"""SDCH's staged schedule around ``fit()`` (SDCH §4.2, Algorithm 1): the phase of each epoch,
and B after it (ITQ after the Θ_f-only epoch, sign(Z) after the others, Z from a forward pass
over the training set).
"""
from __future__ import annotations

import time

import keras
import numpy as np

from sdch_tf.sdch.model import FEATURES, HASH, JOINT


def phase_of_epoch(epoch: int, feature_epochs: int = 1, hash_epochs: int = 1) -> str:
    """Phase of a 0-based epoch: Θ_f only, then Θ_h only, then everything (SDCH §4.2)."""
    if epoch < feature_epochs:
        return FEATURES
    if epoch < feature_epochs + hash_epochs:
        return HASH
    return JOINT



class StagedSchedule(keras.callbacks.Callback):
    """Sets ``model.phase`` for each epoch and retraces the train step when it changes.

    The phase is a function of the epoch alone, so a run resumed after epoch e enters the phase
    of epoch e + 1; the first epoch of every ``fit`` retraces, whatever phase the model was
    built or last traced in (a train function traced by an earlier ``fit`` may belong to another).

    Setting a group's learning rate to 0 (the paper's wording) is implemented by not
    computing or applying that group's update at all, which is the same thing, cheaper.
    """

    def __init__(self, feature_epochs: int = 1, hash_epochs: int = 1):
        super().__init__()
        self.feature_epochs, self.hash_epochs = feature_epochs, hash_epochs
        self._traced_phase = None

    def on_train_begin(self, logs=None):
        self._traced_phase = None

    def on_epoch_begin(self, epoch, logs=None):
        phase = phase_of_epoch(epoch, self.feature_epochs, self.hash_epochs)
        if phase != self._traced_phase:
            self.model.phase = phase
            self.model.make_train_function(force=True)
            self._traced_phase = phase


# Where B comes from after an epoch (``SDCHConfig.code_refresh``).
FORWARD, RECORDED = "forward", "recorded"
CODE_SOURCES = (FORWARD, RECORDED)


class CodeRefresh(keras.callbacks.Callback):
    """B after each epoch: ITQ after the Θ_f-only epoch (SDCH §4.2), else B = sign(Z) (Eq. 10).

    With ``source="forward"`` (SDCH §3.3: "with Θ_f and Θ_h fixed, we can obtain f_x, f_y and Z by
    TensorFlow Forward-Propagation") Z is that of a forward pass over the training set, centre
    crops, ``training=False``; ``training_inputs()`` gives its (image batches, text batches) in
    training-set order. ``"recorded"`` uses the Z each sample had when it was last in a batch
    (for comparison only; docs/reproduction.md §1).

    When ``training_inputs`` is given the forward pass is made in both modes and the epoch's logs
    get diagnostics of the codes it gives: ``pair_hamming``, the mean Hamming distance between
    the image and the text code of the same training item, ``refresh_seconds``, the pass's
    duration, and, with ``"recorded"``, ``stale_bits_image`` / ``stale_bits_text``: the fraction
    of B's bits that differ from the forward pass's codes.
    """

    def __init__(self, itq_iterations: int = 50, seed: int = 0, source: str = RECORDED, training_inputs=None,
                 itq_centering: str = "joint"):
        super().__init__()
        if source not in CODE_SOURCES:
            raise ValueError(f"source must be one of {CODE_SOURCES}, got {source!r}")
        if source == FORWARD and training_inputs is None:
            raise ValueError("source='forward' needs training_inputs, the training set's batches")
        self.itq_iterations, self.seed, self.source = itq_iterations, seed, source
        self.training_inputs, self.itq_centering = training_inputs, itq_centering

    def on_epoch_end(self, epoch, logs=None):
        model = self.model
        stats, z = {}, None
        if self.training_inputs is not None:
            start = time.perf_counter()
            z = model.training_set_outputs(*self.training_inputs())
            stats["refresh_seconds"] = time.perf_counter() - start
            stats.update(code_diagnostics(z, model.num_train, None if self.source == FORWARD else model.z_record))
        source_z = z if self.source == FORWARD else None
        if model.phase == FEATURES:
            model.initialize_codes_itq(self.itq_iterations, self.seed, source_z, self.itq_centering)
        else:
            model.refresh_codes(source_z)
        if logs is not None:
            logs.update(stats)


def code_diagnostics(z, num_train: int, recorded=None) -> dict:
    """``pair_hamming`` of the codes sign(z) (z: (2n, r), images then texts) and, given the
    recorded Z (2n, r), the fraction of its signs that differ from z's per modality."""
    codes = np.asarray(z) >= 0
    stats = {"pair_hamming": float(np.mean(np.sum(codes[:num_train] != codes[num_train:], axis=1)))}
    if recorded is not None:
        stale = (np.asarray(recorded) >= 0) != codes
        stats["stale_bits_image"] = float(stale[:num_train].mean())
        stats["stale_bits_text"] = float(stale[num_train:].mean())
    return stats
