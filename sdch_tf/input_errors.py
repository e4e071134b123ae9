"""Errors caused by what the user supplied — a data or weights file, a size, a name — not by a bug;
and the divergence of a training, the other expected failure the command lines report (sdch_tf.cli).

Every such error names the file, key, sample or option, what was found and what was expected.
The command lines (``python -m sdch_tf.train``, ``reproduce``, ``sweep``) print any
``InputError`` as ``error: <message>`` and exit with status 2, without a traceback; any other
exception is a bug and keeps its traceback.
"""
from __future__ import annotations


class InputError(ValueError):
    """Unusable user input: the message says which input, what was found and what was expected."""


class WeightsFileError(InputError):
    """A pretrained-weights file that is not of the expected kind or does not fit the network built:
    the message names the file, the layer and the expected vs found shapes."""


class WeightsNotFoundError(InputError, FileNotFoundError):
    """No pretrained-weights file at the path given."""


class CorruptRunFile(InputError):
    """A file of a run directory (checkpoint, run.json, epochs.jsonl, result.json, …) that cannot be
    read; the message names it and says how to recover."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite (``callbacks.StopOnDivergence``); the message names the
    epoch, the step, the non-finite terms and the checkpoint kept."""
