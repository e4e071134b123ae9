"""DCMH's objective log after every outer iteration (its learning-rate schedule is the shared
``training.callbacks.logspace_rate``)."""
from __future__ import annotations

import keras
import numpy as np

from baselines.dcmh import losses


class ObjectiveLog(keras.callbacks.Callback):
    """Adds J of DCMH Eq. 2 over all training pairs to the epoch's logs ("objective" and its
    terms, prefixed "J_"), with the B the epoch trained against: code process_DCMH.m prints
    calc_loss(S, F, G, B) after the two passes, before the next epoch's B update. Must run
    before ``UpdateCodes``."""

    def __init__(self, train_labels):
        super().__init__()
        self.train_labels = np.asarray(train_labels, np.float32)

    def on_epoch_end(self, epoch, logs=None):
        model = self.model
        values = losses.objective(model.image_outputs, model.text_outputs, model.codes, self.train_labels,
                                  model.gamma, model.eta)
        if logs is not None:
            logs.update({"J_" + name if name != "objective" else name: value for name, value in values.items()})
