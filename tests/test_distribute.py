"""--distribute: a mirrored run on two logical CPU devices trains like one device
(the runs: tests/two_devices.py)."""
import json

import numpy as np
import pytest

from sdch_tf.training import distribute
from tests import two_devices, workers

SMOKE_QUIET = ["--preset", "smoke", "--quiet"]

# SDCH's smoke preset runs all three phases of the staged schedule; dropout off: a replica's
# dropout mask cannot equal a slice of the one-device mask.
CONFIGURE = """
configs = {"smoke": dataclasses.replace(base, image_net=dataclasses.replace(base.image_net, dropout=0.0))}
"""
TERMS = {"loss", "L_f", "L_h", "similarity", "quantization", "independence", "balance",
         "pair_hamming"}  # the last from the forward pass that refreshes B (CodeRefresh)


@pytest.fixture(scope="module")
def two_device_runs(tmp_path_factory, onednn):
    return two_devices.run(tmp_path_factory.mktemp(f"distribute-onednn{onednn}"),
                           "sdch", CONFIGURE, onednn=onednn)


def test_the_mirrored_run_uses_both_devices(two_device_runs):
    two_devices.assert_both_devices_used(two_device_runs[0], "smoke")


def test_mirrored_losses_equal_single_device_losses(two_device_runs):
    logs, _ = two_device_runs
    single, mirrored = logs["smoke/none"]["epochs"], logs["smoke/mirrored"]["epochs"]
    assert [e["phase"] for e in single] == ["features", "hash", "joint"]
    two_devices.assert_same_losses(single, mirrored, [1, 2, 3], {"loss"})
    assert set().union(*single) - {"epoch", "phase"} <= TERMS


def test_mirrored_codes_equal_single_device_codes(two_device_runs):
    _, arrays = two_device_runs
    two_devices.assert_same_codes(arrays["smoke/none"], arrays["smoke/mirrored"])


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


def test_multiworker_from_tf_config_trains_like_one_device(tmp_path):
    """A one-worker cluster: the MultiWorkerMirroredStrategy path end to end through the CLI."""
    (port,) = workers.free_ports(1)
    cluster = json.dumps({"cluster": {"worker": [f"localhost:{port}"]}, "task": {"type": "worker", "index": 0}})
    distributed = workers.train([*SMOKE_QUIET, "--distribute", "multiworker"], tmp_path / "mw", TF_CONFIG=cluster)
    assert distributed.returncode == 0, distributed.stderr[-3000:]
    single = workers.train(SMOKE_QUIET, tmp_path / "single")
    assert single.returncode == 0, single.stderr[-3000:]
    (mw,) = (tmp_path / "mw" / "runs").iterdir()
    (one,) = (tmp_path / "single" / "runs").iterdir()
    assert mw.name == one.name  # the strategy is not part of the configuration
    a, b = (json.loads((d / "result.json").read_text()) for d in (mw, one))
    assert a["map_i2t"] == pytest.approx(b["map_i2t"], abs=1e-3)
    assert a["map_t2i"] == pytest.approx(b["map_t2i"], abs=1e-3)


def test_a_method_without_a_distributed_train_step_is_refused(tmp_path, monkeypatch, capsys):
    import dataclasses as dc

    from sdch_tf import registry, train

    single_device = dc.replace(registry.get_method("sdch"), distributable=False)
    monkeypatch.setattr(registry, "get_method", lambda name: single_device)
    assert train.main(["--preset", "smoke", "--distribute", "mirrored", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--distribute mirrored does not apply to --method sdch" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_a_batch_that_does_not_split_over_the_replicas_is_refused(tmp_path, monkeypatch, capsys):
    from sdch_tf import train
    from sdch_tf.training import distribute

    class TwoReplicas:
        num_replicas_in_sync = 2

    monkeypatch.setattr(distribute, "make_strategy", lambda name: TwoReplicas())
    assert train.main(["--preset", "smoke", "--distribute", "mirrored", "--batch-size", "19",
                       "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--batch-size 19 does not split evenly over 2 replicas" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()
