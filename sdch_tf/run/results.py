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
                   "average_image": True}


def config_digest(config) -> str:
    """8 hex digits identifying everything in the config except the list of code lengths."""
    d = config_dict(config)
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
            untrained = np.array([r["untrained"][key] for r in runs])
            row[key] = (float(values.mean()), float(values.std()))
            row["untrained_" + key] = float(untrained.mean())
        rows.append(row)
    return rows


def format_summary(rows: list[dict], top_k: int) -> str:
    """A small text table of mAP@top_k, mean ± std over runs, with the untrained networks' mAP."""
    lines = [f"{'method':8} {'dataset':10} {'bits':>4} {'runs':>4}  {f'I→T mAP@{top_k}':>16} "
             f"{f'T→I mAP@{top_k}':>16}  {'untrained I→T':>13} {'untrained T→I':>13}"]
    for row in rows:
        cells = []
        for key in ("map_i2t", "map_t2i"):
            mean, std = row[key]
            cells.append(f"{mean:.4f} ± {std:.4f}" if row["runs"] > 1 else f"{mean:.4f}")
        lines.append(f"{row['method']:8} {row['dataset']:10} {row['bits']:>4} {row['runs']:>4}  {cells[0]:>16} "
                     f"{cells[1]:>16}  {row['untrained_map_i2t']:>13.4f} {row['untrained_map_t2i']:>13.4f}")
    return "\n".join(lines)
