"""Train a method once on one device and once mirrored over two logical CPU devices, and compare.

TensorFlow fixes its devices when first initialised, so the runs happen in a subprocess that
splits the CPU into two logical devices before anything else, with op determinism on. Both runs
share one process and one strategy object per kind: a second MirroredStrategy in the process
would hand out the same collective keys again, which the process-wide executor has bound.

``run(work, method, configure, collect)`` executes ``configure`` (Python source that turns
``base``, the method's smoke preset, into ``configs``: {label: config}) and, after each training,
``collect(model, strategy, record, arrays)`` if ``collect`` defines it, to add JSON values to
``record`` and arrays to ``arrays`` (which already holds the four evaluation code matrices).
It returns ``(logs, arrays)`` keyed ``"<label>/<strategy>"`` with strategy "none" or "mirrored".
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CODE_KEYS = ("query_image", "query_text", "db_image", "db_text")

DRIVER = """
import dataclasses, json, os, sys, tempfile
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
tf.config.experimental.enable_op_determinism()
from sdch_tf.retrieval import evaluation
from sdch_tf.run import experiment
from sdch_tf.training import distribute
from sdch_tf.registry import get_method

method = get_method(sys.argv[2])
base = method.preset("smoke")
collect = lambda model, strategy, record, arrays: None
{configure}
{collect}
strategies = {{name: distribute.make_strategy(name) for name in ("none", "mirrored")}}
out = {{}}
for label, config in configs.items():
    data = experiment.load_data(config.data)
    split = experiment.split_for(config.data, data, 0)
    for name, strategy in strategies.items():
        with strategy.scope():
            model = method.build(config, data, split, 16, 0)
            epochs = method.fit(model, config, data, split, tempfile.mkdtemp(), 0, 0)
            codes, _ = evaluation.encode_split(model, data, split, method.preprocessing(config))
        record = {{"replicas": strategy.num_replicas_in_sync, "train": len(split.train),
                   "batch_size": config.batch_size,
                   "epochs": [{{k: v for k, v in e.items() if not k.endswith("seconds")}} for e in epochs]}}
        arrays = dict(codes)
        collect(model, strategy, record, arrays)
        out[f"{{label}}/{{name}}"] = record
        np.savez(os.path.join(sys.argv[1], f"{{label}}-{{name}}.npz"), **arrays)
with open(os.path.join(sys.argv[1], "logs.json"), "w") as f:
    json.dump(out, f)
"""


def run(work, method: str, configure: str, collect: str = "", onednn: str | None = None) -> tuple[dict, dict]:
    """Both trainings of every config; see the module docstring.

    ``onednn``: TF_ENABLE_ONEDNN_OPTS for the subprocess ("0" or "1"; None: inherited). TensorFlow
    enables oneDNN by default only on some CPUs, whose kernels differ on empty batches
    (sdch_tf.nets.empty_batch), so the distribute tests run under both settings on every CPU.
    """
    script = work / "driver.py"
    script.write_text(DRIVER.format(configure=textwrap.dedent(configure), collect=textwrap.dedent(collect)))
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
    if onednn is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = onednn
    proc = subprocess.run([sys.executable, str(script), str(work), method], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    logs = json.loads((work / "logs.json").read_text())
    arrays = {run: dict(np.load(work / f"{run.replace('/', '-')}.npz")) for run in logs}
    return logs, arrays


def assert_both_devices_used(logs: dict, label: str = "") -> None:
    assert logs[f"{label}/none"]["replicas"] == 1
    assert logs[f"{label}/mirrored"]["replicas"] == 2


def assert_same_losses(single: list[dict], mirrored: list[dict], epochs: list[int], required: set[str],
                       absolute: tuple[str, ...] = ()) -> None:
    """Per-epoch records agree to float32 rounding (a split batch only reorders the reductions):
    every logged value but epoch and phase, relatively, or to 1e-3 for the fractions in ``absolute``."""
    assert [e["epoch"] for e in single] == [e["epoch"] for e in mirrored] == epochs
    for one, two in zip(single, mirrored):
        assert set(one) == set(two) and required <= set(one), (sorted(one), sorted(required))
        assert one.get("phase") == two.get("phase")
        for key in set(one) - {"epoch", "phase"}:
            if key in absolute:
                assert two[key] == pytest.approx(one[key], abs=1e-3), (one["epoch"], key)
            else:
                assert two[key] == pytest.approx(one[key], rel=1e-4), (one["epoch"], key)


def assert_same_codes(single: dict, mirrored: dict, keys=CODE_KEYS, bits: int = 16) -> None:
    """Codes in {−1, +1}; a bit may flip only where its output is within float rounding of 0."""
    for key in keys:
        assert single[key].shape == mirrored[key].shape and single[key].shape[1] == bits, key
        assert set(np.unique(single[key])) == {-1, 1}, key
        assert np.mean(single[key] != mirrored[key]) < 1e-3, key
