"""--distribute: a mirrored run on two logical CPU devices trains like one device.

TensorFlow fixes its devices when first initialised, so the runs happen in a subprocess that
splits the CPU into two logical devices before anything else.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sdch_tf import distribute

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Trains SDCH (smoke preset, all three phases of the staged schedule, dropout off: a replica's
# dropout mask cannot equal a slice of the one-device mask) once on the default strategy and once
# mirrored over two logical CPUs, in one process; writes both runs' epoch logs and codes.
DRIVER = textwrap.dedent("""
    import dataclasses, json, os, sys, tempfile
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    tf.config.experimental.enable_op_determinism()
    from sdch_tf import distribute, evaluation, experiment, trainer
    from sdch_tf.config import preset

    config = preset("smoke")
    config = dataclasses.replace(config, image_net=dataclasses.replace(config.image_net, dropout=0.0))
    data = experiment.load_data(config.data)
    split = experiment.split_for(config.data, data, 0)
    out = {}
    for name in ("none", "mirrored"):
        strategy = distribute.make_strategy(name)
        with strategy.scope():
            model = trainer.build(config, data, split, 16, 0)
            epochs = trainer.fit(model, config, data, split, tempfile.mkdtemp(), 0, verbose=0)
            codes, _ = evaluation.encode_split(model, data, split, trainer.preprocessing(config))
        out[name] = {"replicas": strategy.num_replicas_in_sync,
                     "epochs": [{k: v for k, v in e.items() if k != "seconds"} for e in epochs]}
        np.savez(os.path.join(sys.argv[1], name + ".npz"), **codes)
    with open(os.path.join(sys.argv[1], "logs.json"), "w") as f:
        json.dump(out, f)
""")


@pytest.fixture(scope="module")
def two_device_runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("distribute")
    script = work / "driver.py"
    script.write_text(DRIVER)
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, str(script), str(work)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    logs = json.loads((work / "logs.json").read_text())
    codes = {name: dict(np.load(work / f"{name}.npz")) for name in ("none", "mirrored")}
    return logs, codes


def test_the_mirrored_run_uses_both_devices(two_device_runs):
    logs, _ = two_device_runs
    assert logs["none"]["replicas"] == 1
    assert logs["mirrored"]["replicas"] == 2


def test_mirrored_losses_equal_single_device_losses(two_device_runs):
    logs, _ = two_device_runs
    single, mirrored = logs["none"]["epochs"], logs["mirrored"]["epochs"]
    assert [e["phase"] for e in single] == ["features", "hash", "joint"]
    assert [e["phase"] for e in mirrored] == [e["phase"] for e in single]
    for one, two in zip(single, mirrored):
        assert set(one) == set(two)
        for key in one:
            if key not in ("epoch", "phase"):
                # Reductions of two half-batches in another order: float32 rounding only.
                assert two[key] == pytest.approx(one[key], rel=1e-4), (one["epoch"], key)


def test_mirrored_codes_equal_single_device_codes(two_device_runs):
    _, codes = two_device_runs
    for key in ("query_image", "query_text", "db_image", "db_text"):
        single, mirrored = codes["none"][key], codes["mirrored"][key]
        assert single.shape == mirrored.shape and single.shape[1] == 16
        # A code bit can flip only where z is within float rounding of 0.
        assert np.mean(single != mirrored) < 1e-3, key


def test_gather_is_the_identity_outside_a_distribution():
    import tensorflow as tf

    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(distribute.gather(x).numpy(), x.numpy())
    assert distribute.num_replicas() == 1


def test_multiworker_without_tf_config_says_what_is_missing(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        distribute.make_strategy("multiworker")
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        distribute.make_strategy("multiworker")


def test_unknown_strategy_lists_the_choices():
    with pytest.raises(ValueError, match="none, mirrored, multiworker"):
        distribute.make_strategy("tpu")


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _train(args, tmp_path, **env):
    environment = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2", **env)
    return subprocess.run([sys.executable, "-m", "sdch_tf.train", "--preset", "smoke", "--quiet",
                           "--out", str(tmp_path), *args], cwd=REPO, env=environment, capture_output=True,
                          text=True, timeout=600)


def test_multiworker_from_tf_config_trains_like_one_device(tmp_path):
    """A one-worker cluster: the MultiWorkerMirroredStrategy path end to end through the CLI."""
    cluster = json.dumps({"cluster": {"worker": [f"localhost:{_free_port()}"]}, "task": {"type": "worker", "index": 0}})
    distributed = _train(["--distribute", "multiworker"], tmp_path / "mw", TF_CONFIG=cluster)
    assert distributed.returncode == 0, distributed.stderr[-3000:]
    single = _train([], tmp_path / "single")
    assert single.returncode == 0, single.stderr[-3000:]
    (mw,) = (tmp_path / "mw" / "runs").iterdir()
    (one,) = (tmp_path / "single" / "runs").iterdir()
    assert mw.name == one.name  # the strategy is not part of the configuration
    a, b = (json.loads((d / "result.json").read_text()) for d in (mw, one))
    assert a["map_i2t"] == pytest.approx(b["map_i2t"], abs=1e-3)
    assert a["map_t2i"] == pytest.approx(b["map_t2i"], abs=1e-3)


def test_a_method_without_a_distributed_train_step_is_refused(tmp_path):
    proc = _train(["--method", "dcmh", "--distribute", "mirrored"], tmp_path)
    assert proc.returncode == 2
    assert "--distribute mirrored does not apply to --method dcmh" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists()
