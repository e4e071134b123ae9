"""A run's TensorBoard log, ``<run dir>/tensorboard/``: ``tensorboard --logdir results/`` shows every run.

Scalars, each epoch once, at step = the epoch's number in ``epochs.jsonl`` (1, 2, …):

    epoch/<name>   every value of that epoch's record bar epoch, phase and seconds: the loss
                   terms, a method's epoch-level values (DCMH's objective, a solver's statistics),
                   the learning curve's ``curve_map_*`` under ``--eval-every``
    map/i2t, map/t2i, map/all_i2t, map/all_t2i, map/untrained_i2t, map/untrained_t2i
                   result.json's mAP@top_k, whole-database MAP and the untrained networks' mAP@top_k,
                   once, at step = the number of epochs

Written with ``tf.summary`` by ``RunLog``, an observer (``registry``: a callback run after the
method's own each epoch), rather than by ``keras.callbacks.TensorBoard``, which does not fit here:
it logs epoch e at step e − 1 (the record's epoch is e, and the final mAP would not line up with
the last epoch), makes its writer the default one for the whole ``fit`` and flushes only when
``fit`` ends (a killed run would lose its epochs), and cannot log a closed-form solve, which
runs no Keras epoch.

Each epoch is logged once. When training starts in a process (the first epoch it begins) the log
is rebuilt from ``epochs.jsonl`` up to the epoch it resumes from — the records a checkpoint backs,
not whatever an interrupted process had logged — and each epoch it then finishes is appended and
flushed. A run whose ``fit`` begins no Keras epoch (``training.closed_form.fit_solved``; a run
resumed after its last epoch) has its log written from ``epochs.jsonl`` by ``finish``. Writing
reads the logged values only and draws no random number: training is unchanged
(tests/test_tensorboard.py).

Only the chief writes (``for_run``). Without the ``tensorboard`` package (``tf.summary.scalar``
needs it) runs train without logs, after one warning (``available``).
"""
from __future__ import annotations

import math
import os
import shutil
import warnings

import keras
import tensorflow as tf

from sdch_tf.training.callbacks import EpochLog
from sdch_tf.training.distribute import is_chief
from sdch_tf.training.fit import EPOCH_LOG_FILE

LOG_DIR = "tensorboard"
# Record fields that are not per-epoch values (EpochLog): its number, the phase name, the duration.
NOT_LOGGED = ("epoch", "phase", "seconds")
# result.json key → tag of the final scores.
FINAL_TAGS = {"map_i2t": "map/i2t", "map_t2i": "map/t2i", "map_all_i2t": "map/all_i2t", "map_all_t2i": "map/all_t2i"}
UNTRAINED_TAGS = {"map_i2t": "map/untrained_i2t", "map_t2i": "map/untrained_t2i"}

_warned = False


def available() -> bool:
    """Whether the ``tensorboard`` package can be imported; warns once per process when it cannot."""
    global _warned
    try:
        import tensorboard  # noqa: F401  (tf.summary.scalar raises TBNotInstalledError without it)
    except ImportError:
        if not _warned:
            _warned = True
            warnings.warn("the tensorboard package is not installed: runs train without TensorBoard logs "
                          "(pip install tensorboard)", RuntimeWarning, stacklevel=2)
        return False
    return True


def for_run(run_dir: str) -> RunLog | None:
    """The log of the run trained in ``run_dir``; None (no log) on a worker that is not the chief
    under ``--distribute multiworker`` (its run directory is a copy, under ``--out/.worker-<id>``)
    or without the tensorboard package."""
    if not is_chief(tf.distribute.get_strategy()) or not available():
        return None
    return RunLog(run_dir)


def epoch_values(record) -> dict[str, float]:
    """{name: value} of an epoch's record or logs that TensorBoard shows: the numbers, bar NOT_LOGGED."""
    values = {}
    for name, value in (record or {}).items():
        if name in NOT_LOGGED or isinstance(value, (bool, str)) or value is None:
            continue
        try:
            values[name] = float(value)
        except (TypeError, ValueError):
            continue
    return values


class RunLog(keras.callbacks.Callback):
    """Writes ``run_dir``'s TensorBoard log (module docstring); ``finish`` adds the final scores,
    ``close`` releases the event file (the run layer calls it whatever happens)."""

    def __init__(self, run_dir: str):
        super().__init__()
        self.run_dir = run_dir
        self.log_dir = os.path.join(run_dir, LOG_DIR)
        self._writer = None

    def _recorded(self) -> list[dict]:
        path = os.path.join(self.run_dir, EPOCH_LOG_FILE)
        return EpochLog.read(path) if os.path.exists(path) else []

    def _restart(self, records) -> None:
        """A new log holding ``records``: whatever an earlier process logged is dropped."""
        shutil.rmtree(self.log_dir, ignore_errors=True)
        self._writer = tf.summary.create_file_writer(self.log_dir)
        for record in records:
            self._write_epoch(int(record["epoch"]), record)
        self._writer.flush()

    def _write_epoch(self, step: int, values) -> None:
        with self._writer.as_default():
            for name, value in epoch_values(values).items():
                tf.summary.scalar(f"epoch/{name}", value, step=step)

    def on_epoch_begin(self, epoch, logs=None):
        if self._writer is None:  # the first epoch of this process: the epochs before it, from their records
            self._restart(self._recorded()[:epoch])

    def on_epoch_end(self, epoch, logs=None):
        self._write_epoch(epoch + 1, logs)
        self._writer.flush()

    def finish(self, epochs: list[dict], result: dict) -> None:
        """The final scores of ``result`` at step = the number of epochs; before them, when ``fit``
        began no Keras epoch in this process, the epochs' records (``epochs.jsonl``, else ``epochs``)."""
        if self._writer is None:
            self._restart(self._recorded()[:len(epochs)] or epochs)
        step = max((int(e.get("epoch", 0)) for e in epochs), default=0)
        scores = {tag: result.get(key) for key, tag in FINAL_TAGS.items()}
        scores.update({tag: (result.get("untrained") or {}).get(key) for key, tag in UNTRAINED_TAGS.items()})
        with self._writer.as_default():
            for tag, value in scores.items():
                if value is not None and math.isfinite(float(value)):
                    tf.summary.scalar(tag, float(value), step=step)
        self.close()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
