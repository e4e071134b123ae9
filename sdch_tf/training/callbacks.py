"""The bookkeeping callbacks every method's ``fit`` gets (``training.fit_resumable``).

Order matters: the method's own callbacks run first (a schedule sets the phase before an
epoch; at its end the codes B are updated), then ``StopOnDivergence`` checks the epoch's
values, then ``EpochLog`` and ``Checkpoint`` record the finished epoch (so a checkpoint always
holds the B that the next epoch needs, and never a diverged epoch).
"""
from __future__ import annotations

import json
import math
import time

import keras

from sdch_tf.training import checkpoint
from sdch_tf.atomic import atomic_write_text
from sdch_tf.input_errors import TrainingDiverged


def non_finite(logs) -> list[str]:
    """Names of the logged values that are NaN or ±inf, in log order."""
    return [name for name, value in (logs or {}).items() if not math.isfinite(float(value))]


class StopOnDivergence(keras.callbacks.Callback):
    """Stops at the first non-finite logged value with an error naming the epoch, the step, the
    phase and the non-finite loss terms, and what to try (the model's ``divergence_hint``),
    instead of letting NaN codes reach B, ITQ and the evaluator.

    Placed before ``EpochLog`` and ``Checkpoint``: raising stops ``fit`` before the diverged
    epoch is logged or checkpointed, so the checkpoint of the last finished epoch is kept. The
    per-step logs are running means over the epoch, so a term turns non-finite at the step it
    first does and stays so.
    """

    def __init__(self):
        super().__init__()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._check(logs, f"step {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        # Epoch-level values some methods add (DCMH's objective J, CMHN's code step diagnostics).
        self._check(logs, "at the end of the epoch")

    def _check(self, logs, where):
        bad = non_finite(logs)
        if not bad:
            return
        named = ", ".join(f"{k} is {float(logs[k])}" for k in bad)
        finite = ", ".join(f"{k}={float(v):.4g}" for k, v in logs.items() if k not in bad)
        raise TrainingDiverged(
            f"training diverged in epoch {self._epoch + 1} ({getattr(self.model, 'phase', 'joint')} phase), "
            f"{where}: {named}{f' (finite: {finite})' if finite else ''}. "
            f"{divergence_hint(self.model)}"
        )


def divergence_hint(model) -> str:
    """What to try after a divergence, from the optimisers the model really uses."""
    optimizers = list(checkpoint.optimizers_of(model).values()) or [getattr(model, "optimizer", None)]
    names = sorted({type(getattr(o, "inner_optimizer", o)).__name__ for o in optimizers if o is not None})
    data = ("If it diverges in the first steps, check the inputs for extreme values (texts or images far "
            "from the scale of the dataset's other samples).")
    if names and all(name in ("Adam", "AdamW") for name in names):
        return f"Lower the learning rates (the optimiser is already Adam). {data}"
    if names:
        return (f"Lower the learning rates, or try --optimizer adam where the method offers it "
                f"(optimiser in use: {', '.join(names)}). {data}")
    return f"Lower the learning rates. {data}"


def logspace_rate(epoch: int, start: float, end: float, epochs: int) -> float:
    """The rate of 0-based ``epoch``: MATLAB's logspace(log10(start), log10(end), epochs)[epoch]
    (DCMH's code DCMH_demo.m: lr = logspace(-1.5, -3, maxIter); PRDH keeps it)."""
    if epochs == 1:
        return float(start)
    return float(start * (end / start) ** (epoch / (epochs - 1)))


class EpochLearningRate(keras.callbacks.Callback):
    """Sets every optimiser's learning rate to ``rate_of_epoch(e)`` before 0-based epoch e (the
    per-epoch schedules of DCMH's and DSPAH's code); a function of the epoch alone, so a resumed
    run continues the same schedule."""

    def __init__(self, rate_of_epoch):
        super().__init__()
        self.rate_of_epoch = rate_of_epoch

    def on_epoch_begin(self, epoch, logs=None):
        rate = float(self.rate_of_epoch(epoch))
        for optimizer in self.model.optimizers_by_name.values():
            optimizer.learning_rate.assign(rate)


class UpdateCodes(keras.callbacks.Callback):
    """Calls ``model.update_codes(epoch)`` after every epoch: the B step of the alternating
    baselines (``sdch_tf.training.hashing_model.CrossModalHashingModel``)."""

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
        try:
            with open(path, encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError
            raise checkpoint.corrupt(path, e) from None


class Checkpoint(keras.callbacks.Callback):
    """Saves weights, B, Z, optimiser state, the epoch and the run's ``identity`` after every
    epoch (atomically), so that an interrupted run resumes from the last finished epoch.
    ``epoch`` is the number of finished epochs the file at ``path`` holds (None: none written)."""

    def __init__(self, path, identity: dict | None = None, epoch: int | None = None):
        super().__init__()
        self.path, self.identity, self.epoch = path, identity, epoch

    def on_epoch_end(self, epoch, logs=None):
        checkpoint.save(self.path, self.model, epoch=epoch + 1, identity=self.identity)
        self.epoch = epoch + 1
