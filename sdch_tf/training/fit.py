"""``keras.Model.fit`` with per-epoch checkpoints and resumption, shared by every method.

The method supplies its model, its training batches and its schedule callbacks (staged
phases, B updates); this module adds, in order after them, the divergence stop, the epoch
log and the checkpoint, so that a checkpoint always holds the B the next epoch needs, and a
diverged epoch is never checkpointed.

A run directory holds:
    run.json        the run's identity (``claim``): method, code length, seed, configuration,
                    split — what the training sequence depends on besides the epoch
    checkpoint.npz  the state after the last finished epoch, with the identity it was written for
    epochs.jsonl    one record per finished epoch
"""
from __future__ import annotations

import hashlib
import os
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from sdch_tf.training import checkpoint, distribute
from sdch_tf.atomic import RUN_FILE_HINT, atomic_write_json, read_json, remove_stale_temporaries
from sdch_tf.data.pipeline import num_train_batches, train_batches
from sdch_tf.input_errors import CorruptRunFile
from sdch_tf.training.callbacks import Checkpoint, EpochLog, StopOnDivergence, TrainingDiverged

CHECKPOINT_FILE = "checkpoint.npz"
EPOCH_LOG_FILE = "epochs.jsonl"
IDENTITY_FILE = "run.json"


def fingerprint(indices) -> str:
    """16 hex digits identifying an index array (a split part) by its values and order."""
    return hashlib.sha1(np.ascontiguousarray(indices, np.int64).tobytes()).hexdigest()[:16]


def read_identity(run_dir: str) -> dict:
    """The identity in ``run_dir/run.json``; {} when there is none (``fit_resumable`` used on its own)."""
    path = os.path.join(run_dir, IDENTITY_FILE)
    if not os.path.exists(path):
        return {}
    identity = read_json(path)
    if not isinstance(identity, dict):
        raise CorruptRunFile(f"run file {path} holds a JSON {type(identity).__name__}, not an object; {RUN_FILE_HINT}")
    return identity


def claim(run_dir: str, identity: dict):
    """Make ``run_dir`` the directory of the run ``identity`` (JSON data): write ``run.json``, or
    check that the one there names the same run (``checkpoint.CheckpointMismatch`` otherwise)."""
    path = os.path.join(run_dir, IDENTITY_FILE)
    expected = checkpoint.normalized(identity)
    if os.path.exists(path):
        diff = checkpoint.differences(read_identity(run_dir), expected)
        if diff:
            raise checkpoint.CheckpointMismatch(
                f"{run_dir} belongs to another run ({'; '.join(diff[:8])}); its {IDENTITY_FILE} says so. "
                "Pass --fresh to discard it, or use another --out"
            )
        return
    atomic_write_json(path, expected)


def fit_resumable(model: keras.Model, batches: Callable[[int], tf.data.Dataset], epochs: int,
                  callbacks: list[keras.callbacks.Callback], run_dir: str, verbose: int = 1,
                  steps_per_epoch: int | None = None) -> list[dict]:
    """Train ``model`` for ``epochs`` epochs; returns one record per epoch (loss terms, seconds).

    Args:
        batches: start_epoch → the training dataset: one iteration per epoch, continuing the
            epoch sequence from ``start_epoch`` (``pipeline.train_batches(..., start_epoch=)``),
            or, with ``steps_per_epoch``, every remaining epoch in one dataset
            (``train_batches(..., start_epoch=, stop_epoch=epochs)``; safe under tf.distribute).
            Epoch e's batches must depend on e and the run's identity alone.
        callbacks: the method's schedule callbacks; they run before the bookkeeping ones. Any
            state they keep must follow from the epoch number (``StagedSchedule``, learning-rate
            schedules) or live in model variables, which the checkpoint holds.
        run_dir: holds ``checkpoint.npz`` and ``epochs.jsonl``, rewritten after every epoch. If
            a checkpoint is there, training resumes after its last finished epoch — only if it
            records the identity in ``run_dir/run.json`` (``claim``), else
            ``checkpoint.CheckpointMismatch``. Temporary files a killed write left are removed.

    Raises:
        TrainingDiverged: a loss term became NaN or infinite; the message names the epoch, the
            step and the terms, and which checkpoint was kept (the last finished epoch's, untouched).
    """
    ckpt_path = os.path.join(run_dir, CHECKPOINT_FILE)
    log_path = os.path.join(run_dir, EPOCH_LOG_FILE)
    remove_stale_temporaries(run_dir)
    distribute.resume_point_of(run_dir, (CHECKPOINT_FILE, EPOCH_LOG_FILE), checkpoint.read_epoch)
    identity = read_identity(run_dir)
    initial_epoch, previous = 0, []
    if os.path.exists(ckpt_path):
        initial_epoch = checkpoint.restore(ckpt_path, model, identity)
        previous = EpochLog.read(log_path)[:initial_epoch] if os.path.exists(log_path) else []
        if verbose:
            print(f"Resuming from {ckpt_path} after epoch {initial_epoch}")
    distribute.check_same_start(initial_epoch, ckpt_path)
    log = EpochLog(log_path, previous)
    saver = Checkpoint(ckpt_path, identity, epoch=initial_epoch if os.path.exists(ckpt_path) else None)
    if initial_epoch < epochs:
        try:
            model.fit(
                batches(initial_epoch),
                epochs=epochs,
                initial_epoch=initial_epoch,
                callbacks=[*callbacks, StopOnDivergence(), log, saver],
                verbose=verbose,
                shuffle=False,  # the pipeline reshuffles every epoch itself
                steps_per_epoch=steps_per_epoch,
            )
        except TrainingDiverged as e:
            kept = (f"The checkpoint after epoch {saver.epoch} is kept in {ckpt_path} (the same command resumes "
                    "from it)."
                    if saver.epoch is not None else "No epoch finished, so there is no checkpoint.")
            raise TrainingDiverged(f"{e} {kept}") from None
    return log.records


def fit_on_pairs(model: keras.Model, config, data, split, prep, run_dir: str, seed: int, verbose: int,
                 callbacks: list[keras.callbacks.Callback]) -> list[dict]:
    """``fit_resumable`` on the shared pipeline's image–text training pairs
    (``pipeline.train_batches``: batches of ``config.batch_size`` in the order of (seed, epoch),
    ``config.epochs`` epochs), for the methods whose epoch is one pass over the pairs."""
    return fit_resumable(
        model,
        lambda start: train_batches(data, split.train, config.batch_size, prep, seed, start_epoch=start,
                                    stop_epoch=config.epochs),
        config.epochs,
        callbacks,
        run_dir,
        verbose,
        steps_per_epoch=num_train_batches(len(split.train), config.batch_size),
    )
