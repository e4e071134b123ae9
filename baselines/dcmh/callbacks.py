"""DCMH's outer loop around ``fit()``: the learning-rate schedule and the objective log."""
from __future__ import annotations

import keras
import numpy as np

from baselines.dcmh import losses


def logspace_rate(epoch: int, start: float, end: float, epochs: int) -> float:
    """The rate of 0-based ``epoch``: MATLAB's logspace(log10(start), log10(end), epochs)[epoch]
    (code DCMH_demo.m: lr = logspace(-1.5, -3, maxIter))."""
    if epochs == 1:
        return float(start)
    return float(start * (end / start) ** (epoch / (epochs - 1)))


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
