"""``keras.Model.fit`` with per-epoch checkpoints and resumption, shared by every method.

The method supplies its model, its training batches and its schedule callbacks (staged
phases, B updates); this module adds, in order after them, the divergence stop, the epoch
log and the checkpoint, so that a checkpoint always holds the B the next epoch needs.
"""
from __future__ import annotations

import os
from typing import Callable

import keras
import tensorflow as tf

from sdch_tf import checkpoint
from sdch_tf.callbacks import Checkpoint, EpochLog, StopOnDivergence

CHECKPOINT_FILE = "checkpoint.npz"
EPOCH_LOG_FILE = "epochs.jsonl"


def fit_resumable(model: keras.Model, batches: Callable[[int], tf.data.Dataset], epochs: int,
                  callbacks: list[keras.callbacks.Callback], run_dir: str, verbose: int = 1) -> list[dict]:
    """Train ``model`` for ``epochs`` epochs; returns one record per epoch (loss terms, seconds).

    Args:
        batches: start_epoch → the training dataset, one iteration per epoch, continuing the
            epoch sequence from ``start_epoch`` (``pipeline.train_batches(..., start_epoch=)``).
        callbacks: the method's schedule callbacks; they run before the bookkeeping ones.
        run_dir: holds ``checkpoint.npz`` and ``epochs.jsonl``, rewritten after every epoch. If
            a checkpoint is there, training resumes after its last finished epoch.
    """
    ckpt_path = os.path.join(run_dir, CHECKPOINT_FILE)
    log_path = os.path.join(run_dir, EPOCH_LOG_FILE)
    initial_epoch, previous = 0, []
    if os.path.exists(ckpt_path):
        initial_epoch = checkpoint.restore(ckpt_path, model)
        previous = EpochLog.read(log_path)[:initial_epoch] if os.path.exists(log_path) else []
        if verbose:
            print(f"Resuming from {ckpt_path} after epoch {initial_epoch}")
    log = EpochLog(log_path, previous)
    if initial_epoch < epochs:
        model.fit(
            batches(initial_epoch),
            epochs=epochs,
            initial_epoch=initial_epoch,
            callbacks=[*callbacks, StopOnDivergence(), log, Checkpoint(ckpt_path)],
            verbose=verbose,
            shuffle=False,  # the pipeline reshuffles every epoch itself
        )
    return log.records
