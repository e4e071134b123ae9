"""Interruption loses nothing: SIGKILL mid-epoch or mid-write, divergence, a failed --fresh run.

The kill tests run ``python -m sdch_tf.train``'s ``main`` in a subprocess through a small
driver (written below) that enables op determinism and SIGKILLs itself at a chosen point;
rerunning the same command with the same --out must end with the codes of a run that was
never interrupted, bit for bit.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from sdch_tf import atomic, train, training
from sdch_tf.run import experiment, results, tensorboard_log
from sdch_tf.sdch import losses
from sdch_tf.training import callbacks, checkpoint, fit

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# KILL="epoch,step" (0-based): SIGKILL at the end of that training step, mid-epoch.
# KILL="write,N": SIGKILL halfway through writing the N-th checkpoint (1-based) of this process.
DRIVER = textwrap.dedent('''
    import io, os, signal, sys
    import tensorflow as tf
    tf.config.experimental.enable_op_determinism()
    from sdch_tf import train
    from sdch_tf.training import callbacks, checkpoint, fit

    def die():
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    where, _, at = os.environ.get("KILL", "").partition(",")
    if where == "write":
        real, writes = checkpoint.atomic_write, []

        def torn(path, write):
            writes.append(path)
            if len(writes) < int(at):
                return real(path, write)

            def half(f):
                buffer = io.BytesIO()
                write(buffer)
                f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
                f.flush()
                os.fsync(f.fileno())
                die()
            real(path, half)
        checkpoint.atomic_write = torn
    elif where:
        kill_at = (int(where), int(at))

        class KillingCheckpoint(callbacks.Checkpoint):
            def on_epoch_begin(self, epoch, logs=None):
                self.current = epoch

            def on_train_batch_end(self, batch, logs=None):
                if (self.current, batch) == kill_at:
                    die()
        fit.Checkpoint = KillingCheckpoint
    sys.exit(train.main(sys.argv[1:]))
''')


def _train(driver, out, method, kill=""):
    """Start the driver on the smoke preset; returns the Popen (stdout and stderr captured)."""
    env = {**os.environ, "KILL": kill, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    argv = [sys.executable, str(driver), "--method", method, "--preset", "smoke", "--bits", "16", "--out", str(out)]
    return subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process, expect_killed=False):
    stdout, stderr = process.communicate(timeout=300)
    if expect_killed:
        assert process.returncode == -9, f"expected SIGKILL, got {process.returncode}\n{stdout}\n{stderr}"
    else:
        assert process.returncode == 0, f"exit {process.returncode}\n{stdout}\n{stderr}"
    return stdout


def _codes(run_dir):
    """{name: codes in {−1, +1} (n, bits)} from codes.npz."""
    with np.load(run_dir / experiment.CODES_FILE) as f:
        return {name: np.where(np.unpackbits(f[name], axis=1, count=int(f[f"{name}_shape"][1])) > 0, 1, -1)
                for name in f.files if not name.endswith("_shape")}


def _assert_nothing_partial(run_dir, epoch):
    """After a kill: no result, every visible file parses, the checkpoint loads and holds ``epoch``."""
    assert not (run_dir / results.RESULT_FILE).exists() and not (run_dir / experiment.CODES_FILE).exists()
    for path in run_dir.iterdir():
        if path.name.startswith(atomic.TEMP_PREFIX):
            continue
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".jsonl":
            # The epoch log is written just before the checkpoint, so it may be one epoch ahead;
            # a resumed run keeps only the epochs its checkpoint holds.
            records = callbacks.EpochLog.read(path)
            assert [r["epoch"] for r in records] in ([*range(1, epoch + 1)], [*range(1, epoch + 2)])
        elif path.name == experiment.UNTRAINED_CODES_FILE:
            assert experiment.load_codes(path)["query_image"].shape[1] == 16  # written before training
        elif path.name == tensorboard_log.LOG_DIR:
            # The TensorBoard log, rebuilt from epochs.jsonl when the run resumes (tests/test_tensorboard.py).
            assert path.is_dir() and all(p.name.startswith("events.out.tfevents.") for p in path.iterdir())
        else:
            assert path.name == training.CHECKPOINT_FILE, f"unexpected file {path}"
            with np.load(path) as ckpt:
                assert all(np.all(np.isfinite(ckpt[k])) for k in ckpt.files if ckpt[k].dtype.kind == "f")
    assert checkpoint.read_epoch(run_dir / training.CHECKPOINT_FILE) == epoch
    assert checkpoint.read_identity(run_dir / training.CHECKPOINT_FILE) == training.read_identity(str(run_dir))


@pytest.fixture
def driver(tmp_path):
    path = tmp_path / "driver.py"
    path.write_text(DRIVER)
    return path


# The real kill inside a checkpoint write costs a third process: in the default suite SDCH's stale
# temporary is planted instead, as such a kill leaves it; the DCMH case (slow) kills for real.
@pytest.mark.parametrize("method, torn_write", [("sdch", False), pytest.param("dcmh", True, marks=pytest.mark.slow)])
def test_sigkill_mid_epoch_then_rerun_gives_the_uninterrupted_codes(driver, tmp_path, method, torn_write):
    straight = _train(driver, tmp_path / "straight", method)  # meanwhile, the interrupted one
    out = tmp_path / "interrupted"

    # Killed in epoch 2 after its first step: the checkpoint of epoch 1 is what is left.
    _finish(_train(driver, out, method, kill="1,0"), expect_killed=True)
    (run_dir,) = (out / "runs").iterdir()
    _assert_nothing_partial(run_dir, epoch=1)

    if torn_write:
        # Rerun, killed while writing the checkpoint of epoch 2: a torn temporary file, epoch 1 intact.
        _finish(_train(driver, out, method, kill="write,1"), expect_killed=True)
        (torn,) = [p for p in run_dir.iterdir() if p.name.startswith(atomic.TEMP_PREFIX)]
        assert torn.name.endswith(training.CHECKPOINT_FILE)
        _assert_nothing_partial(run_dir, epoch=1)
    else:
        torn = run_dir / f"{atomic.TEMP_PREFIX}k1ll3dcheckpoint.npz"
        torn.write_bytes((run_dir / training.CHECKPOINT_FILE).read_bytes()[:1000])

    printed = _finish(_train(driver, out, method))
    assert "Resuming from" in printed and "after epoch 1" in printed
    assert not torn.exists() and not [p for p in run_dir.iterdir() if p.name.startswith(".")]
    result = json.loads((run_dir / results.RESULT_FILE).read_text())
    assert [e["epoch"] for e in result["epochs"]] == list(range(1, len(result["epochs"]) + 1))

    _finish(straight)
    (straight_dir,) = (tmp_path / "straight" / "runs").iterdir()
    assert straight_dir.name == run_dir.name
    expected, got = _codes(straight_dir), _codes(run_dir)
    assert sorted(got) == ["db_image", "db_text", "query_image", "query_text"]
    assert got["db_image"].shape == (200, 16) and got["query_text"].shape == (40, 16)
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
    assert result["map_i2t"] == json.loads((straight_dir / results.RESULT_FILE).read_text())["map_i2t"]


class _Poison:
    """Makes SDCH's similarity term NaN from a given (epoch, step) on, through a variable the
    traced train step reads, so the divergence happens inside the real training step."""

    def __init__(self, monkeypatch, epoch, step):
        self.flag = tf.Variable(False)
        self.at, self.armed = (epoch, step), True
        real = losses.hash_loss_terms

        def poisoned(*args, **kwargs):
            terms = dict(real(*args, **kwargs))
            terms["similarity"] = tf.where(self.flag, tf.constant(float("nan")), terms["similarity"])
            return terms

        monkeypatch.setattr(losses, "hash_loss_terms", poisoned)
        poison = self

        class Trigger(callbacks.StopOnDivergence):
            def on_epoch_begin(self, epoch, logs=None):
                super().on_epoch_begin(epoch, logs)
                self.current = epoch

            def on_train_batch_begin(self, batch, logs=None):
                if poison.armed and (self.current, batch) == poison.at:
                    poison.flag.assign(True)

        monkeypatch.setattr(fit, "StopOnDivergence", Trigger)

    def disarm(self):
        self.armed = False
        self.flag.assign(False)


SMOKE = ["--preset", "smoke", "--bits", "16"]


def test_a_nan_loss_keeps_the_last_checkpoint_and_a_failed_fresh_run_keeps_the_result(tmp_path, monkeypatch,
                                                                                      capsys):
    poison = _Poison(monkeypatch, epoch=1, step=1)  # epoch 2 (the Θ_h phase), step 2
    assert train.main([*SMOKE, "--out", str(tmp_path), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "training diverged in epoch 2 (hash phase), step 2: " in err
    assert "L_h is nan" in err and "similarity is nan" in err and "loss is nan" in err
    assert "L_f is" not in err and "L_f=" in err  # finite terms are listed, not named as non-finite
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert f"The checkpoint after epoch 1 is kept in {run_dir / training.CHECKPOINT_FILE}" in err
    _assert_nothing_partial(run_dir, epoch=1)

    poison.disarm()
    assert train.main([*SMOKE, "--out", str(tmp_path)]) == 0
    assert "after epoch 1" in capsys.readouterr().out
    result = json.loads((run_dir / results.RESULT_FILE).read_text())
    assert [e["phase"] for e in result["epochs"]] == ["features", "hash", "joint"]
    assert all(np.isfinite(e["loss"]) for e in result["epochs"])

    # --fresh trains beside the recorded run: failing, it leaves the result as it was.
    recorded = {name: (run_dir / name).read_bytes() for name in (results.RESULT_FILE, experiment.CODES_FILE)}
    poison = _Poison(monkeypatch, epoch=2, step=0)
    assert train.main([*SMOKE, "--out", str(tmp_path), "--quiet", "--fresh"]) == 3
    assert "training diverged in epoch 3" in capsys.readouterr().err
    assert {name: (run_dir / name).read_bytes() for name in recorded} == recorded
    assert len(results.read_results(str(tmp_path))) == 1  # the failed attempt is hidden
    assert (tmp_path / "runs" / f".fresh-{run_dir.name}" / training.CHECKPOINT_FILE).exists()

    # A fresh run that succeeds replaces the directory whole, and only then.
    poison.disarm()
    assert train.main([*SMOKE, "--out", str(tmp_path), "--quiet", "--fresh"]) == 0
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [run_dir.name]
    result = json.loads((run_dir / results.RESULT_FILE).read_text())
    assert result["run_id"] == run_dir.name and len(result["epochs"]) == 3
    assert (run_dir / results.RESULT_FILE).read_bytes() != recorded[results.RESULT_FILE]  # new timings


def test_a_checkpoint_of_another_run_is_refused(tmp_path, capsys):
    one_epoch = [*SMOKE, "--epochs", "1", "--out", str(tmp_path), "--quiet"]
    assert train.main(one_epoch) == 0
    (seed0,) = (tmp_path / "runs").iterdir()
    # Seed 1's run directory, holding seed 0's checkpoint: resuming must refuse it.
    seed1 = results.run_dir(str(tmp_path), train.build_config(train.parse_args(one_epoch)), 16, 1)
    os.makedirs(seed1)
    os.replace(seed0 / training.CHECKPOINT_FILE, os.path.join(seed1, training.CHECKPOINT_FILE))
    assert train.main([*one_epoch, "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert f"checkpoint {os.path.join(seed1, training.CHECKPOINT_FILE)} was written by another run" in err
    assert "seed: recorded 0, this run 1" in err and "split.train: recorded" in err and "--fresh" in err
    assert not os.path.exists(os.path.join(seed1, results.RESULT_FILE))


def test_stale_temporaries_are_removed_and_only_they(tmp_path):
    (tmp_path / ".tmp-abc123checkpoint.npz").write_bytes(b"torn")
    (tmp_path / ".tmp-dir").mkdir()
    (tmp_path / "result.json").write_text("{}")
    removed = atomic.remove_stale_temporaries(str(tmp_path))
    assert removed == [str(tmp_path / ".tmp-abc123checkpoint.npz")]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-dir", "result.json"]
    assert atomic.remove_stale_temporaries(str(tmp_path / "missing")) == []


def _tree(path):
    return {p.name: p.read_text() for p in path.iterdir()}


def test_replace_directory_and_finishing_an_interrupted_replace(tmp_path):
    target, new = tmp_path / "run", tmp_path / ".fresh-run"
    target.mkdir(), new.mkdir()
    (target / "result.json").write_text("old")
    (new / "result.json").write_text("new")
    atomic.replace_directory(str(new), str(target))
    assert _tree(target) == {"result.json": "new"} and sorted(p.name for p in tmp_path.iterdir()) == ["run"]

    # Killed after moving the old one aside, before moving the new one in: finishing puts the new in.
    old = tmp_path / ".old-run"
    os.rename(target, old)
    new.mkdir()
    (new / "result.json").write_text("newer")
    atomic.finish_replace(str(target), str(new))
    assert _tree(target) == {"result.json": "newer"} and sorted(p.name for p in tmp_path.iterdir()) == ["run"]

    # Without a new one, the old one goes back; after a completed replace, the leftover is deleted.
    os.rename(target, old)
    atomic.finish_replace(str(target), str(new))
    assert _tree(target) == {"result.json": "newer"} and not old.exists()
    old.mkdir()
    atomic.finish_replace(str(target), str(new))
    assert not old.exists() and _tree(target) == {"result.json": "newer"}
