"""Write the files of one drawing (tables, figures) as a set: all of them or none.

Each file is written atomically (``sdch_tf.atomic``), but a command writes several: if Figure 4
failed after Table 2 was written, the output would mix new and old files. ``write_set`` renders
every file into a hidden staging directory inside the output directory (same file system, so the
moves are renames) and moves them into place only once all of them were rendered:

    written = write_set(out_dir, lambda stage: draw_everything_below(stage))

On any failure (an exception, Ctrl-C) nothing in the output changes and the staging directory is
removed; a SIGKILL can leave a ``.figures-staging-*`` directory, which is hidden and safe to delete.
"""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
from typing import Callable

from sdch_tf.atomic import fsync_directory

STAGING_PREFIX = ".figures-staging-"


def _make_root(root: str) -> list[str]:
    """Create ``root`` (and missing parents); the directories created, deepest first."""
    created = []
    path = os.path.abspath(root)
    while not os.path.lexists(path):
        created.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    os.makedirs(root, exist_ok=True)
    return created


def _remove_created(created: list[str]):
    """Remove the directories ``_make_root`` created, if they are (still) empty."""
    for path in created:
        try:
            os.rmdir(path)
        except OSError:
            return


def _check_target(root: str, target: str):
    """Raise the OSError that moving a file to ``target`` would hit midway, before anything is moved:
    ``target`` is a directory, or one of its parents below ``root`` is not a directory."""
    if os.path.isdir(target) and not os.path.islink(target):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), target)
    parent = os.path.dirname(target)
    root = os.path.abspath(root)
    while parent and os.path.abspath(parent) != root and not os.path.isdir(parent):
        if os.path.lexists(parent):
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), parent)
        parent = os.path.dirname(parent)


def write_set(root: str, render: Callable[[str], list[str]]) -> list[str]:
    """``render(stage)`` writes files below the directory ``stage`` and returns their paths; each is
    then moved to the same relative path below ``root`` (``os.replace``, replacing an older file).
    Returns the final paths, in ``render``'s order.

    If ``render`` or a move's preparation fails, ``root`` is as before (created directories removed
    again) and the exception propagates. Only the renames themselves, after everything was rendered
    and checked, could stop halfway (e.g. the disk failing between two renames).
    """
    created = _make_root(root)
    stage = None
    try:
        stage = tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root)
        staged = list(dict.fromkeys(render(stage)))   # a path returned twice is moved once
        moves = []
        for path in staged:
            relative = os.path.relpath(path, stage)
            if relative.startswith(os.pardir) or os.path.isabs(relative) or not os.path.isfile(path):
                raise ValueError(f"write_set: {path!r} is not a file written below the staging directory {stage!r}")
            moves.append((path, os.path.join(root, relative)))
        for _, target in moves:
            _check_target(root, target)
        directories = []
        for path, target in moves:
            directory = os.path.dirname(target)
            os.makedirs(directory, exist_ok=True)
            os.replace(path, target)
            if directory not in directories:
                directories.append(directory)
        for directory in directories:
            fsync_directory(directory)
        return [target for _, target in moves]
    except BaseException:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
            stage = None
        _remove_created(created)
        raise
    finally:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
            if not os.listdir(root):   # nothing was drawn into a directory made for it
                _remove_created(created)
