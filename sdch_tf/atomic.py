"""Atomic file writes: a temporary file in the same directory, fsync, then ``os.replace``;
and the replacement of a whole directory by a complete new one.

An interruption at any moment leaves either the old file or the complete new one, plus, after
a SIGKILL or power loss, possibly a ``.tmp-*`` file that ``remove_stale_temporaries`` clears.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile

import numpy as np

from sdch_tf.input_errors import CorruptRunFile, InputError


# Names of the temporary files ``atomic_write`` makes; nothing else may start with it.
TEMP_PREFIX = ".tmp-"


def atomic_write(path, write):
    """Call ``write(binary_file)`` on a temporary file beside ``path``, then rename it into place."""
    with _temporary_beside(path) as (fd, _):
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())


def atomic_write_path(path, write_to):
    """``atomic_write`` for writers that open the file by name themselves (h5py, which reads back
    what it has written, so a write-only file object will not do): ``write_to(temporary path)``,
    then fsync, the rename into place, and an fsync of the directory."""
    with _temporary_beside(path) as (fd, tmp):
        os.close(fd)
        write_to(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
    fsync_directory(os.path.dirname(os.path.abspath(path)))


@contextlib.contextmanager
def _temporary_beside(path):
    """(open descriptor, name) of a new temporary file beside ``path``, renamed onto ``path`` when the
    block ends and removed when it raises."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=TEMP_PREFIX, suffix=os.path.basename(path))
    try:
        yield fd, tmp
        # mkstemp creates 0600; give the file the permissions a plain open() would.
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def umask() -> int:
    """The process's file-mode creation mask (read without changing it for good)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path, text: str):
    """Write ``text`` to ``path`` via a temporary file and a rename."""
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def atomic_write_json(path, obj):
    """Write ``obj`` as indented JSON, atomically. NaN and ±inf become null (strict JSON)."""
    atomic_write_text(path, json.dumps(_finite(obj), indent=2, allow_nan=False) + "\n")


# What to do about a run file that cannot be read.
RUN_FILE_HINT = "delete that run directory or rerun it with --fresh"


def read_json(path: str):
    """The JSON document in ``path``, a run's file. A file that is not there raises FileNotFoundError
    (callers treat that as "not written yet"); one that cannot be read (a directory, no permission) or
    is not UTF-8 JSON (e.g. truncated) raises InputError naming it and what to do."""
    hint = RUN_FILE_HINT
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise CorruptRunFile(f"run file {path} cannot be read ({e.strerror or e}); {hint}") from e
    except UnicodeDecodeError as e:
        raise CorruptRunFile(f"run file {path} is not UTF-8 text ({e}); {hint}") from e
    except json.JSONDecodeError as e:
        raise CorruptRunFile(f"run file {path} is not valid JSON ({e}; truncated by an interrupted write?); "
                         f"{hint}") from e


def _finite(obj):
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def remove_stale_temporaries(directory) -> list[str]:
    """Delete the ``.tmp-*`` files a killed ``atomic_write`` left in ``directory``; returns their paths.

    Only for a directory no other process is writing into (a run directory, by the run that owns it).
    """
    if not os.path.isdir(directory):
        return []
    stale = sorted(os.path.join(directory, name) for name in os.listdir(directory) if name.startswith(TEMP_PREFIX))
    stale = [path for path in stale if os.path.isfile(path)]
    for path in stale:
        os.remove(path)
    return stale


def sibling(path, tag: str) -> str:
    """``<parent>/.<tag>-<name>``: a hidden directory beside ``path`` (skipped by ``runs/*`` globs)."""
    path = os.path.abspath(path)
    return os.path.join(os.path.dirname(path), f".{tag}-{os.path.basename(path)}")


def replace_directory(new, target):
    """Put the complete directory ``new`` in the place of ``target`` (which may not exist).

    ``target`` is renamed to ``.old-<name>`` first and deleted only once ``new`` is in place, so
    at every moment one complete version exists; ``finish_replace`` completes an interrupted call.
    """
    old = sibling(target, "old")
    if os.path.lexists(old):
        shutil.rmtree(old)
    if os.path.lexists(target):
        os.rename(target, old)
    os.rename(new, target)
    fsync_directory(os.path.dirname(os.path.abspath(target)))
    if os.path.lexists(old):
        shutil.rmtree(old)


def finish_replace(target, new):
    """Complete a ``replace_directory(new, target)`` that was killed: with ``target`` moved aside
    but ``new`` not yet in its place, move ``new`` in (it was complete: only a complete directory
    is ever passed), or, without ``new``, move the old ``target`` back. No-op otherwise."""
    old = sibling(target, "old")
    if not os.path.lexists(old):
        return
    if not os.path.lexists(target):
        os.rename(new if os.path.isdir(new) else old, target)
    if os.path.lexists(old):
        shutil.rmtree(old)


def fsync_directory(directory):
    """Make the renames into ``directory`` durable, where the platform can open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def exclusive_lock(path, what: str, wait: bool = False):
    """Hold an exclusive ``flock`` on the file ``path`` (created if needed) for the ``with`` block.

    Another process holding it: ``InputError`` naming ``what`` and that process, or, with
    ``wait``, wait until it lets go (for short critical sections). The lock dies
    with its process (a killed run never leaves a stale lock); the file itself stays, since
    deleting a lock file races with a process about to lock it.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666 & ~umask())
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
        os.close(fd)
        raise InputError(f"{what} is in use by another process{f' (pid {holder})' if holder else ''}; wait for it "
                         f"to finish, or use another --out (lock: {path})") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
