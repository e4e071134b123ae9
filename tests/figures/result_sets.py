"""Result sets on disk for the tests of the figures' command lines: runs that every part can draw from.

A run here has what a finished ``sdch_tf.run.experiment.run`` records and the figures read: the keys of
Tables 2–4, the curves of Figures 4–5 and (``retrievals=True``) the top-5 lists of Figure 3 on
smoke-size synthetic data; sweep runs (Figure 6) live under ``sweeps/<param>/runs``.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import types

from sdch_tf.configs import DataConfig, smoke_data
from sdch_tf.data.synthetic import make_synthetic
from tests.figures.test_curves import run as curve_run
from tests.figures.test_retrievals import run as retrieval_run, smoke_synthetic
from tests.figures.test_sensitivity import GAMMA_RUNS, write_sweep
from tests.figures.test_tables import run as table_run


@functools.lru_cache(maxsize=1)
def _smoke_labels():
    return make_synthetic(smoke_data(DataConfig()).synthetic).labels


def full_run(method="sdch", bits=32, seed=0, map_i2t=0.6, map_t2i=0.5, retrievals=False) -> dict:
    r = table_run(method, bits, seed, map_i2t, map_t2i)
    r["curves"] = curve_run(method, bits=bits, seed=seed)["curves"]
    if retrievals:
        query = [100, 101, 102, 103]
        recorded = retrieval_run(method, [[10, 11, 12, 13, 14]] * 4, [[20, 21, 22, 23, 24]] * 4, seed=seed,
                                 bits=bits, query=query, labels=_smoke_labels())
        r["retrievals"], r["config"] = recorded["retrievals"], recorded["config"]
    return r


def write_run(root, r: dict) -> str:
    """``<root>/runs/<run id>/result.json``; returns its path."""
    directory = os.path.join(root, "runs", r["run_id"])
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "result.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(r, f)
    return path


def write_result_set(root, runs=None, sweeps=True) -> list[str]:
    """A result set drawing Tables 2–4, Figures 3–5 (32 bits) and Figure 6; the result.json paths."""
    runs = runs if runs is not None else [full_run("sdch", 32, 0, 0.6, retrievals=True),
                                          full_run("sdch", 32, 1, 0.7, retrievals=True),
                                          full_run("dcmh", 32, 0, 0.5, retrievals=True)]
    paths = [write_run(root, r) for r in runs]
    if sweeps:
        write_sweep(str(root), "gamma", GAMMA_RUNS)
    return paths


def fake_experiment(monkeypatch):
    """``sdch_tf.run.experiment`` (which imports TensorFlow) replaced by one whose ``load_data`` rebuilds the
    smoke synthetic set, as Figure 3 needs the dataset's pictures and words."""
    module = types.ModuleType("sdch_tf.run.experiment")
    module.load_data = smoke_synthetic
    monkeypatch.setitem(sys.modules, "sdch_tf.run.experiment", module)
    return module


def snapshot(directory) -> dict:
    """{path relative to ``directory``: sha256 of the file's bytes, or "<dir>"} of everything below it,
    hidden entries too; None when ``directory`` does not exist."""
    if not os.path.lexists(directory):
        return None
    found = {}
    for parent, dirs, files in os.walk(directory):
        for name in dirs:
            found[os.path.relpath(os.path.join(parent, name), directory)] = "<dir>"
        for name in files:
            path = os.path.join(parent, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, directory)] = hashlib.sha256(f.read()).hexdigest()
    return found
