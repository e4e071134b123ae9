"""Read a result set and group its runs into table cells: (method, dataset, bits) → runs.

A result set is a directory ``<out>`` whose ``<out>/runs/*/result.json`` files were written by
``sdch_tf.experiment.run`` (any method). Runs of one cell normally share a configuration and
differ by seed; if a cell holds runs of several configurations (say a rerun with other
``--epochs`` in the same ``--out``), the configuration with the most runs is used and the
others are reported, so that a table cell never averages different experiments.
"""
from __future__ import annotations

import dataclasses
import os
import warnings

import numpy as np

from sdch_tf import results


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

    @property
    def seeds(self) -> list[int]:
        return sorted(int(r["seed"]) for r in self.runs)


def config_digest(run: dict) -> str:
    """The configuration digest that ends a run id (``results.run_id``)."""
    return run["run_id"].rsplit("-", 1)[-1]


def load_runs(results_dir: str) -> list[dict]:
    """Every finished run (result.json) of the result set ``results_dir``."""
    if not os.path.isdir(results_dir):
        raise FileNotFoundError(f"no result set at {results_dir!r} (expected a directory holding runs/*/result.json)")
    return results.read_results(results_dir)


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
