"""Result files: one ``result.json`` per run (method, dataset, code length, seed), and summaries.

Layout: ``<out>/runs/<run-id>/result.json``, written atomically, next to the run's
checkpoint and epoch log. The run id carries a digest of the configuration, so a rerun of
the same command resumes (or reuses) its own run and never mixes with a different config.
"""
from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import os

import numpy as np

# read_json: the reader of every run file, here for the figures and the run layer.
from sdch_tf.atomic import atomic_write_json, read_json  # noqa: F401

RESULT_FILE = "result.json"


def config_dict(config, bits: int | None = None) -> dict:
    """The configuration as plain JSON data; with ``bits``, restricted to that code length."""
    d = dataclasses.asdict(config)
    if bits is not None:
        d["bits"] = [int(bits)]
    return d


# Config fields added after result sets were recorded, at the value that reproduces the
# behaviour from before they existed: at that value they are left out of the digest, so the
# recorded runs keep their ids (and are reused, not retrained).
_NEUTRAL_FIELDS = {"precision": "fp32", "fc4_init": "truncated", "code_refresh": "recorded", "itq_centering": "joint",
                   "average_image": True, "eval_every": None}


# Config fields of the evaluation only: they do not identify a run (a finished run is rescored
# from its saved codes, ``experiment.rescore``), so the digest and the run identity hold them at
# the value every recorded run had.
_EVALUATION_FIELDS = {"top_k": 500}


def training_config_dict(config, bits: int | None = None) -> dict:
    """``config_dict`` with the evaluation-only fields at their fixed values: what identifies a run."""
    d = config_dict(config, bits)
    for name, fixed in _EVALUATION_FIELDS.items():
        if name in d:
            d[name] = fixed
    return d


def metric_label(top_k: int | None) -> str:
    """"mAP@500", or "MAP" for the whole database (top_k None)."""
    return "MAP" if top_k is None else f"mAP@{top_k}"


def config_digest(config) -> str:
    """8 hex digits identifying everything in the config that training depends on, except the list
    of code lengths."""
    d = training_config_dict(config)
    d.pop("bits", None)
    for name, neutral in _NEUTRAL_FIELDS.items():
        if d.get(name) == neutral:
            del d[name]
    return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:8]


def run_id(config, bits: int, seed: int) -> str:
    return f"{config.method}-{config.data.dataset}-{config.preset}-{bits}bits-seed{seed}-{config_digest(config)}"


def run_dir(out_dir: str, config, bits: int, seed: int) -> str:
    return os.path.join(out_dir, "runs", run_id(config, bits, seed))


def write_result(directory: str, result: dict) -> str:
    path = os.path.join(directory, RESULT_FILE)
    atomic_write_json(path, result)
    return path


def read_result(directory: str) -> dict | None:
    """The run's result.json, or None when the run has not finished."""
    path = os.path.join(directory, RESULT_FILE)
    return read_json(path) if os.path.exists(path) else None


def read_results(out_dir: str) -> list[dict]:
    """Every result.json under ``<out_dir>/runs``."""
    return [read_json(p) for p in sorted(glob.glob(os.path.join(out_dir, "runs", "*", RESULT_FILE)))]


def summarize(results: list[dict]) -> list[dict]:
    """Mean and standard deviation (over seeds) per (method, dataset, preset, bits)."""
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        groups.setdefault((r["method"], r["dataset"], r["preset"], r["bits"]), []).append(r)
    rows = []
    for (method, dataset, preset, bits), runs in sorted(groups.items()):
        row = {"method": method, "dataset": dataset, "preset": preset, "bits": bits, "runs": len(runs),
               "seeds": sorted(r["seed"] for r in runs)}
        for key in ("map_i2t", "map_t2i"):
            values = np.array([r[key] for r in runs])
            untrained = [r["untrained"].get(key) for r in runs]
            row[key] = (float(values.mean()), float(values.std()))
            # None: the untrained codes were not saved, so the untrained networks have no score at
            # this cut-off (a run rescored at another --top-k).
            row["untrained_" + key] = None if None in untrained else float(np.mean(untrained))
        rows.append(row)
    return rows


def format_summary(rows: list[dict], top_k: int | None) -> str:
    """A small text table of mAP@top_k (MAP when None), mean ± std over runs, with the untrained
    networks' value."""
    label = metric_label(top_k)
    lines = [f"{'method':8} {'dataset':10} {'bits':>4} {'runs':>4}  {f'I→T {label}':>16} "
             f"{f'T→I {label}':>16}  {'untrained I→T':>13} {'untrained T→I':>13}"]
    for row in rows:
        cells = []
        for key in ("map_i2t", "map_t2i"):
            mean, std = row[key]
            cells.append(f"{mean:.4f} ± {std:.4f}" if row["runs"] > 1 else f"{mean:.4f}")
        untrained = ["—" if row[f"untrained_{k}"] is None else f"{row[f'untrained_{k}']:.4f}"
                     for k in ("map_i2t", "map_t2i")]
        lines.append(f"{row['method']:8} {row['dataset']:10} {row['bits']:>4} {row['runs']:>4}  {cells[0]:>16} "
                     f"{cells[1]:>16}  {untrained[0]:>13} {untrained[1]:>13}")
    return "\n".join(lines)
