"""What every command line shares: a quiet TensorFlow start-up and one handler for expected failures.

``run_main(main, argv)`` runs a CLI's ``main(argv)`` and turns every failure that is not a bug
into one line and an exit status (docs/reliability.md):

    bad input, a corrupt run file, a locked run   error: <what, which file/key>   exit 2
    a file-system error (permissions, disk full)  error: <reason>: <path>         exit 2
    a loss that became NaN or infinite            error: training diverged ...    exit 3
    a worker of a multi-worker cluster was lost   error: the cluster lost ...     exit 4
    Ctrl-C                                        interrupted — run the same command
                                                  again to continue               exit 130

Anything else is a bug and keeps its traceback.

TensorFlow prints start-up lines (oneDNN, the CUDA stub, ``cuInit`` errors on machines without
a GPU) from C++ before its logging is configured, so ``TF_CPP_MIN_LOG_LEVEL`` cannot hide them:
``quiet_tensorflow_import`` imports TensorFlow with the process's stderr redirected to a
temporary file and shows what it caught only if the import fails. ``--verbose`` or
``SDCH_TF_VERBOSE=1`` keeps every line.
"""
from __future__ import annotations

import argparse
import errno
import os
import re
import sys
import tempfile
from typing import Callable, Sequence

from sdch_tf.input_errors import InputError, TrainingDiverged
VERBOSE_ENV = "SDCH_TF_VERBOSE"

EXIT_INPUT = 2
EXIT_DIVERGED = 3
EXIT_CLUSTER = 4
EXIT_INTERRUPTED = 130

INTERRUPTED = "interrupted — run the same command again to continue"


def add_verbose_flag(parser) -> None:
    """``--verbose``, the same on every command line (read by ``quiet_tensorflow_import``)."""
    parser.add_argument("--verbose", action="store_true",
                        help=f"show TensorFlow's start-up and C++ log lines (also {VERBOSE_ENV}=1)")


def quiet_tensorflow_import(verbose: bool = False) -> None:
    """Import TensorFlow (and Keras) now, keeping its C++ start-up lines off the terminal unless
    ``verbose`` or ``SDCH_TF_VERBOSE``. A no-op once TensorFlow is imported. The training command
    lines call it once their arguments are parsed: ``--help`` and a bad option cost no import."""
    verbose = verbose or os.environ.get(VERBOSE_ENV, "") not in ("", "0")
    if verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
    else:
        # After start-up only FATAL C++ lines; every real failure reaches Python as an exception.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return
    if verbose:
        import keras  # noqa: F401  (here, not at the top: this function decides how TensorFlow starts)
        import tensorflow  # noqa: F401
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            import keras  # noqa: F401
            import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            caught.seek(0)
            sys.stderr.write(caught.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def parse_top_k(text: str) -> int | str:
    """``--top-k`` of every command: a positive integer K, or "all" (the whole database)."""
    if text.strip().lower() == "all":
        return "all"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a positive integer nor 'all'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1 (or 'all')")
    return value


def check_out_dir(path: str, flag: str = "--out") -> None:
    """``InputError`` if ``path`` exists and is not a directory (checked before any work starts)."""
    if os.path.lexists(path) and not os.path.isdir(path):
        raise InputError(f"{flag} {path} is a file, not a directory; choose a directory for the results")


def check_out_file(path: str) -> None:
    """``InputError`` for an ``--out`` file that could not be written, before any work starts: a
    directory, or a place under a file or in a directory without write permission."""
    if os.path.isdir(path):
        raise InputError(f"--out {path} is a directory; give the file to write, e.g. "
                         f"{os.path.join(path, 'features.h5')}")
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):  # the writer creates the missing directories
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise InputError(f"--out {path}: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"--out {path}: no permission to write in {parent}")


def _os_error_line(error: OSError) -> str:
    reason = error.strerror or str(error)
    if error.errno == errno.ENOSPC:
        reason += " (free some space, then run the same command again: finished epochs are kept)"
    elif error.errno == errno.EROFS:
        reason += " (choose a writable --out)"
    where = [p for p in (error.filename, error.filename2) if p]
    return f"error: {reason}" + (f": {' -> '.join(map(str, where))}" if where else "")


# tf.data wraps an exception raised in a py_function / numpy_function (an image reader's
# InputError) into an OpError whose message carries "InputError: <our message>".
_WRAPPED_INPUT_ERROR = re.compile(r"\b(?:InputError|MatFileError|DatasetFormatError): (.+)")


def run_main(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """``main(argv)`` with every expected failure as one line."""
    try:
        return main(argv)
    except KeyboardInterrupt:
        line, status = INTERRUPTED, EXIT_INTERRUPTED
    except TrainingDiverged as e:
        line, status = f"error: {e}", EXIT_DIVERGED
    except InputError as e:
        line, status = f"error: {e}", EXIT_INPUT
    except OSError as e:
        line, status = _os_error_line(e), EXIT_INPUT
    except Exception as e:
        wrapped, lost = _wrapped_input_error(e), _lost_worker(e)
        if wrapped is not None:
            line, status = f"error: {wrapped}", EXIT_INPUT
        elif lost is not None:
            line, status = lost, EXIT_CLUSTER
        else:
            raise
    # A blank line first: the failure may interrupt a progress bar.
    print(f"\n{line}", file=sys.stderr)
    return status


# TensorFlow's errors when a peer of a MultiWorkerMirroredStrategy cluster stops: its health
# check aborts the collectives (UnavailableError), or a collective times out or is cancelled.
_CLUSTER_ERRORS = ("UnavailableError", "DeadlineExceededError", "AbortedError")
_TASK = re.compile(r"/job:\w+/(?:replica:\d+/)?task:\d+")


def _lost_worker(error: Exception) -> str | None:
    """The error line for a worker lost from the cluster, or None for any other error."""
    if type(error).__module__.split(".")[0] != "tensorflow" or type(error).__name__ not in _CLUSTER_ERRORS:
        return None
    message = str(error)
    if "ollective" not in message and "heartbeat" not in message and "task" not in message:
        return None
    who = ", ".join(_unhealthy_tasks(message)) or "a worker"
    return (f"error: the cluster lost {who} ({type(error).__name__}: collectives aborted); every finished epoch is "
            "checkpointed: start every worker again with the same command, and training resumes from the last "
            "checkpoint")


def _unhealthy_tasks(message: str) -> list[str]:
    """The tasks TensorFlow's health check lists, one a line, after "… tasks are unhealthy (…):". The
    rest of the message names other tasks too (the one that reported, a remote gRPC target): those
    did not stop."""
    if "unhealthy" not in message:
        return []
    tasks = []
    for line in message.split("unhealthy", 1)[1].split(":", 1)[-1].splitlines():
        line = line.strip()
        if not line and not tasks:
            continue
        if not _TASK.fullmatch(line):
            break
        tasks.append(line)
    return tasks


def _wrapped_input_error(error: Exception) -> str | None:
    """The message of an InputError that TensorFlow wrapped into one of its own errors, if any."""
    if type(error).__module__.split(".")[0] != "tensorflow":
        return None
    match = _WRAPPED_INPUT_ERROR.search(str(error))
    return match.group(1).strip() if match else None
