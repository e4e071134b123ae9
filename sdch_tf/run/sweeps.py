"""Parameter sweeps of SDCH Figure 6 (SDCH §4.4): the swept parameters and their ranges, where a
sweep's runs are recorded, and the plan of one sweep (``python -m sdch_tf.sweep``,
``reproduce --sensitivity``; ``figures.sensitivity`` reads what they record).
"""
from __future__ import annotations

import dataclasses
import os
import shutil

from sdch_tf.run import results
from sdch_tf.config_checks import check_config
from sdch_tf.run.run_plan import PlannedRun

PARAMS = ("gamma", "beta1", "beta2", "beta3")
# SDCH §4.4 / Fig. 6: γ ∈ [0.001, 2], β_i ∈ (0.01, 20), on log-spaced points.
DEFAULT_VALUES = {"gamma": (0.001, 0.01, 0.1, 1.0, 2.0), "beta1": (0.01, 0.1, 1.0, 10.0, 20.0),
                  "beta2": (0.01, 0.1, 1.0, 10.0, 20.0), "beta3": (0.01, 0.1, 1.0, 10.0, 20.0)}
SWEEP_BITS = 64  # SDCH Fig. 6: "MAP@64bits"
# SDCH §4.2: the paper's values, marked on Figure 6 (tests/test_sweep.py checks them against
# the SDCH config's defaults).
PAPER_VALUES = {"gamma": 0.01, "beta1": 1.0, "beta2": 1.0, "beta3": 0.1}


def sweep_dir(out_dir: str, param: str) -> str:
    """The result set of one swept parameter (``collect.load_runs`` reads it)."""
    return os.path.join(out_dir, "sweeps", param)


def sweep_plan(param: str, values, base_config, bits: int, seeds, out_dir: str):
    """PlannedRuns of ``base_config`` with ``param`` set to each value, for each seed."""
    if param not in PARAMS:
        raise ValueError(f"unknown sweep parameter {param!r}; choose one of {PARAMS}")
    plan = []
    for value in values:
        config = dataclasses.replace(base_config, **{param: float(value)}, bits=(int(bits),))
        check_config(config, {param: "--values", "bits": "--bits"})
        plan += [PlannedRun(config, int(bits), int(seed), sweep_dir(out_dir, param)) for seed in seeds]
    return plan


def reuse_main_runs(plan, out_dir: str) -> list[str]:
    """Copy into the sweep the recorded main runs that it would repeat (the value equal to the
    preset's gives the same configuration, hence the same run id); returns the copied run ids."""
    copied = []
    for run in plan:
        if run.status != "new":
            continue
        source = results.run_dir(out_dir, run.config, run.bits, run.seed)
        if os.path.exists(os.path.join(source, results.RESULT_FILE)):
            os.makedirs(run.directory)
            for name in sorted(os.listdir(source)):
                if name.endswith((".json", ".jsonl")) and name != results.RESULT_FILE:
                    shutil.copy2(os.path.join(source, name), run.directory)
            # result.json last: its presence is what marks the copied run as finished.
            shutil.copy2(os.path.join(source, results.RESULT_FILE), run.directory)
            copied.append(os.path.basename(run.directory))
    return copied


def recorded_runs(out: str) -> list[dict]:
    """Every finished run of the result set ``out``, its sweeps included (the time estimates' evidence)."""
    found = results.read_results(out)
    for param in PARAMS:
        found += results.read_results(sweep_dir(out, param))
    return found
