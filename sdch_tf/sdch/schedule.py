"""SDCH's staged schedule around ``fit()`` (SDCH §4.2, Algorithm 1): the phase of each epoch,
and B after it (ITQ after the Θ_f-only epoch, sign(Z) after the others).
"""
from __future__ import annotations

import keras

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
