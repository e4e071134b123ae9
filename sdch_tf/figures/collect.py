"""Read a result set and group its runs into table cells: (method, dataset, bits) → runs.

A result set is a directory ``<out>`` whose ``<out>/runs/*/result.json`` files were written by
``sdch_tf.run.experiment.run`` (any method). Runs of one cell normally share a configuration and
differ by seed; if a cell holds runs of several configurations (say a rerun with other
``--epochs`` in the same ``--out``), the configuration with the most runs is used and the
others are reported, so that a table cell never averages different experiments.

A result file that cannot be used (truncated, not JSON, a key missing or of the wrong type) is
an ``InputError`` naming it (``check_run``), not a traceback from inside a table or figure.
"""
from __future__ import annotations

import dataclasses
import glob
import os
import warnings

import numpy as np

from sdch_tf.atomic import RUN_FILE_HINT
from sdch_tf.run import results
from sdch_tf.input_errors import InputError


@dataclasses.dataclass(frozen=True)
class Cell:
    """The runs (one per seed) of one method, dataset and code length."""

    method: str
    dataset: str
    bits: int
    runs: tuple[dict, ...]

    def values(self, key: str) -> np.ndarray:
        """float64 (runs,): ``key`` (e.g. ``map_i2t``) of every run that has it."""
        return np.array([float(r[key]) for r in self.runs if key in r], dtype=np.float64)

    def mean_std(self, key: str) -> tuple[float, float, int]:
        """(mean, population std, number of runs) of ``key``; (nan, nan, 0) when no run has it."""
        values = self.values(key)
        if values.size == 0:
            return float("nan"), float("nan"), 0
        return float(values.mean()), float(values.std()), int(values.size)

    def by_seed(self, key: str) -> dict[int, float]:
        """seed → ``key`` of the runs that have it (runs with one seed share split and batch order)."""
        return {int(r["seed"]): float(r[key]) for r in self.runs if key in r}

    @property
    def seeds(self) -> list[int]:
        return sorted(int(r["seed"]) for r in self.runs)


def config_digest(run: dict) -> str:
    """The configuration digest that ends a run id (``results.run_id``)."""
    return run["run_id"].rsplit("-", 1)[-1]


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_top_k(x) -> bool:
    return x is None or _is_int(x)  # None: the whole database


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


# Keys every finished run records (sdch_tf.run.experiment.run) that the tables and figures read, with
# their type; then keys some runs lack (older ones) but that must have this type when present.
REQUIRED_KEYS = {"method": (str, "a string"), "dataset": (str, "a string"), "bits": (_is_int, "an integer"),
                 "seed": (_is_int, "an integer"), "run_id": (str, "a string"), "top_k": (_is_top_k, "an integer or null"),
                 "map_i2t": (_is_number, "a number"), "map_t2i": (_is_number, "a number")}
OPTIONAL_KEYS = {"curves": (dict, "an object"), "timing": (dict, "an object"), "epochs": (list, "a list"),
                 "config": (dict, "an object"), "retrievals": (dict, "an object")}


def _fits(value, kind) -> bool:
    return isinstance(value, kind) if isinstance(kind, type) else kind(value)


def check_run(run, path: str) -> dict:
    """``run`` (the contents of the result file ``path``) if it has every key the tables and figures
    read, each of the right type; else InputError naming the file, what is wrong and what to do."""
    def bad(what):
        return InputError(f"run file {path} {what}; {RUN_FILE_HINT}")

    if not isinstance(run, dict):
        raise bad(f"is not a JSON object (found {type(run).__name__}; a run's result.json holds one object "
                  f"with the keys {', '.join(REQUIRED_KEYS)}, ...)")
    missing = [key for key in REQUIRED_KEYS if key not in run]
    if missing:
        raise bad(f"is missing key(s) {', '.join(map(repr, missing))} (a finished run records "
                  f"{', '.join(REQUIRED_KEYS)}, ...)")
    for keys in (REQUIRED_KEYS, OPTIONAL_KEYS):
        for key, (kind, noun) in keys.items():
            if key in run and not _fits(run[key], kind):
                raise bad(f"is not a usable run: key {key!r} must be {noun}, got {run[key]!r:.60}")
    return run


def result_paths(directory: str) -> list[str]:
    """``<directory>/runs/*/result.json``, sorted: the files ``results.read_results`` reads."""
    return sorted(glob.glob(os.path.join(directory, "runs", "*", results.RESULT_FILE)))


def read_runs(directory: str) -> list[dict]:
    """Every finished run under ``<directory>/runs`` ([] when there is none), each checked by
    ``check_run``: a corrupt file raises InputError naming it instead of failing later in a figure."""
    return [check_run(results.read_json(path), path) for path in result_paths(directory)]


def load_runs(results_dir: str) -> list[dict]:
    """Every finished run (result.json) of the result set ``results_dir``, checked (``read_runs``)."""
    if not os.path.isdir(results_dir):
        raise FileNotFoundError(f"no result set at {results_dir!r} (expected a directory holding runs/*/result.json)")
    return read_runs(results_dir)


def group_cells(runs: list[dict], preset: str | None = None) -> dict[tuple[str, str, int], Cell]:
    """Cells keyed by (method, dataset, bits); with ``preset``, only runs of that preset."""
    groups: dict[tuple[str, str, int], dict[str, list[dict]]] = {}
    for run in runs:
        if preset is not None and run.get("preset") != preset:
            continue
        key = (run["method"], run["dataset"], int(run["bits"]))
        groups.setdefault(key, {}).setdefault(config_digest(run), []).append(run)
    cells = {}
    for key, by_config in sorted(groups.items()):
        digest = max(by_config, key=lambda d: (len(by_config[d]), d))
        if len(by_config) > 1:
            others = ", ".join(f"{d} ({len(r)} runs)" for d, r in by_config.items() if d != digest)
            warnings.warn(f"{key[0]} {key[1]} {key[2]} bits: runs of several configurations; using {digest} "
                          f"({len(by_config[digest])} runs), ignoring {others}", stacklevel=2)
        chosen = sorted(by_config[digest], key=lambda r: int(r["seed"]))
        cells[key] = Cell(*key, runs=tuple(chosen))
    return cells


def load_cells(results_dir: str, preset: str | None = None) -> dict[tuple[str, str, int], Cell]:
    """``group_cells`` of the result set ``results_dir``, read once for every table and figure.

    Raises FileNotFoundError when the directory is missing or holds no run (of ``preset``).
    """
    cells = group_cells(load_runs(results_dir), preset=preset)
    if not cells:
        which = f" of preset {preset!r}" if preset else ""
        raise FileNotFoundError(f"no runs{which} in {results_dir!r} (expected runs/*/result.json)")
    return cells
