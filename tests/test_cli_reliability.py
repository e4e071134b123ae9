"""The command lines under misuse: every expected failure is one ``error:`` line (or the
interruption line) with its exit status, no traceback, no orphan run directory, and nothing
recorded is ever reused for other data, lost, or shared by two processes (sdch_tf.cli).
"""
import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from sdch_tf import atomic, cli, train
from sdch_tf.run import experiment, results, run_plan
from sdch_tf.training.callbacks import TrainingDiverged, divergence_hint
from sdch_tf.sdch.config import preset
from sdch_tf.registry import get_method
from tests.test_cli_errors import write_nuswide
from tests.test_train import interrupt_after_epoch

REPO = str(Path(__file__).resolve().parents[1])
SMOKE = ["--preset", "smoke", "--quiet"]


def only_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


# ---- sizes and numbers: refused where the config is built, before anything is made ----------

@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "epochs (--epochs) = 0: must be at least 1"),
    (["--batch-size", "0"], "batch_size (--batch-size) = 0: must be at least 1"),
    (["--bits", "0"], "bits (--bits) = (0,): every code length must be a positive integer"),
    (["--bits", "16", "16"], "bits (--bits) = (16, 16): 16 is given more than once"),
    (["--num-query", "0"], "--num-query 0: must be a positive integer"),
    (["--num-train", "0"], "--num-train 0: must be a positive integer"),
    (["--seed", "-1"], "--seed -1: must not be negative"),
    (["--runs", "0"], "--runs 0: must be at least 1"),
    (["--label-fraction", "0"], "--label-fraction 0.0: must be in (0, 1]"),
])
def test_out_of_range_numbers_are_refused_before_anything_is_made(tmp_path, capsys, argv, message):
    assert train.main([*SMOKE, "--out", str(tmp_path), *argv]) == 2
    assert only_error_line(capsys).startswith(f"error: {message}")
    assert not any(tmp_path.iterdir())


def test_rdcmh_with_a_batch_too_small_for_its_bins_leaves_no_run_directory(tmp_path, capsys):
    assert train.main([*SMOKE, "--method", "rdcmh", "--batch-size", "4", "--out", str(tmp_path)]) == 2
    err = only_error_line(capsys)
    assert "cannot fill num_bins = 5 bins; use --batch-size 6 or more" in err, err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_failure_while_setting_up_a_new_run_removes_its_directory(tmp_path):
    import dataclasses

    def broken_build(*args):
        raise ValueError("a bug in build")

    config = preset("smoke")
    broken = dataclasses.replace(get_method("sdch"), build=broken_build)
    with pytest.raises(ValueError, match="a bug in build"):
        experiment.run(broken, config, experiment.load_data(config.data), 16, 0, str(tmp_path), verbose=0)
    assert not any((tmp_path / "runs").iterdir())


# ---- finished runs are reused only for the same data ----------------------------------------

def test_a_finished_run_is_not_reused_after_its_data_changed(tmp_path, capsys):
    data_dir = write_nuswide(tmp_path / "data")
    argv = [*SMOKE, "--dataset", "nuswide", "--data-dir", str(data_dir), "--num-query", "5", "--num-train", "12",
            "--batch-size", "6", "--epochs", "1", "--out", str(tmp_path / "out")]
    assert train.main(argv) == 0
    (run_dir,) = (tmp_path / "out" / "runs").iterdir()
    recorded = (run_dir / "result.json").read_bytes()
    capsys.readouterr()
    # The same file names, other contents (one text dimension more): the run id is the same.
    rng = np.random.default_rng(1)
    texts = rng.integers(0, 3, (30, 11)).astype(np.float64)
    shutil.rmtree(data_dir)
    write_nuswide(data_dir, texts_=texts)
    assert train.main(argv) == 2
    err = only_error_line(capsys)
    assert f"the finished run in {run_dir} was made from other data" in err and "data.text_dim" in err, err
    assert "--fresh" in err
    assert (run_dir / "result.json").read_bytes() == recorded
    # --fresh trains it again on the new data.
    assert train.main([*argv, "--fresh"]) == 0
    assert json.loads((run_dir / "run.json").read_text())["data"]["text_dim"] == 11


def test_a_finished_run_recorded_without_run_json_is_checked_on_its_split(tmp_path):
    config = preset("smoke")
    data = experiment.load_data(config.data)
    split = experiment.split_for(config.data, data, 0)
    identity = experiment.run_identity(config, data, split, 16, 0)
    result = {"dataset": "synthetic", "split": {**split.sizes(), "query": 1}}
    with pytest.raises(experiment.checkpoint.CheckpointMismatch, match="split.query: recorded 1"):
        experiment.check_recorded_run(str(tmp_path), identity, result)
    experiment.check_recorded_run(str(tmp_path), identity, {"dataset": "synthetic", "split": split.sizes()})


# ---- one process per run directory -----------------------------------------------------------

def test_a_run_being_trained_by_another_process_is_refused(tmp_path, capsys):
    config = preset("smoke")
    run_id = results.run_id(config, 16, 0)
    lock = tmp_path / experiment.LOCK_DIR / run_id
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {REPO!r})
        from sdch_tf import atomic
        with atomic.exclusive_lock({str(lock)!r}, "x"):
            print("locked", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert train.main([*SMOKE, "--bits", "16", "--out", str(tmp_path)]) == 2
        err = only_error_line(capsys)
        assert f"is in use by another process (pid {holder.pid})" in err, err
        assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    finally:
        holder.kill()
        holder.wait()
    # The lock dies with its process.
    with atomic.exclusive_lock(str(lock), "x"):
        pass


# ---- corrupt run files name themselves and the way out -----------------------------------------

@pytest.fixture(scope="module")
def one_epoch_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("one_epoch")
    assert train.main([*SMOKE, "--epochs", "1", "--out", str(out)]) == 0
    (run_dir,) = (out / "runs").iterdir()
    return run_dir


def test_a_run_shorter_than_its_preset_says_so_in_the_summary(tmp_path, capsys):
    assert train.main([*SMOKE, "--epochs", "1", "--out", str(tmp_path)]) == 0
    assert "SDCH on synthetic (preset smoke, 1 epochs (the preset has 3)), mAP@500" in capsys.readouterr().out


@pytest.mark.parametrize("name, finished", [("checkpoint.npz", False), ("run.json", False), ("epochs.jsonl", False),
                                            ("untrained.json", False), ("result.json", True)])
def test_a_corrupt_run_file_is_named_with_the_way_out(one_epoch_run, tmp_path, capsys, name, finished):
    out = tmp_path / "out"
    shutil.copytree(one_epoch_run.parent.parent, out)
    run_dir = out / "runs" / one_epoch_run.name
    if not finished:  # an interrupted run: everything but result.json
        (run_dir / "result.json").unlink()
    path = run_dir / name
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2] + b"\xff garbage")
    assert train.main([*SMOKE, "--epochs", "1", "--out", str(out)]) == 2
    err = only_error_line(capsys)
    assert str(path) in err and "--fresh" in err, err


def test_reproduce_dry_run_names_a_corrupt_result(one_epoch_run, tmp_path, capsys):
    from sdch_tf import reproduce

    out = tmp_path / "out"
    shutil.copytree(one_epoch_run.parent.parent, out)
    path = out / "runs" / one_epoch_run.name / "result.json"
    path.write_text("{ truncated")
    assert reproduce.main(["--preset", "smoke", "--methods", "sdch", "--runs", "1", "--out", str(out),
                           "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.strip().startswith("error: ") and str(path) in err and "--fresh" in err, err


# ---- --fresh resumes its own staging run -----------------------------------------------------

def test_an_interrupted_fresh_run_resumes_where_it_stopped(tmp_path, monkeypatch, capsys):
    from sdch_tf.training import callbacks

    out = tmp_path / "out"
    argv = [*SMOKE, "--out", str(out)]
    assert train.main(argv) == 0  # the recorded run (smoke: 3 epochs)
    (run_dir,) = (out / "runs").iterdir()
    recorded = (run_dir / "result.json").read_bytes()
    original = interrupt_after_epoch(monkeypatch, 1)
    assert train.main([*argv, "--fresh"]) == 130
    staging = Path(atomic.sibling(run_dir, "fresh"))
    assert (staging / "checkpoint.npz").exists() and (run_dir / "result.json").read_bytes() == recorded
    monkeypatch.setattr(callbacks.Checkpoint, "on_epoch_end", original)
    capsys.readouterr()
    assert train.main(["--preset", "smoke", "--out", str(out), "--fresh"]) == 0  # not --quiet: it says it resumes
    printed = capsys.readouterr().out
    assert "Resuming the interrupted --fresh run" in printed and "after epoch 2" in printed, printed
    assert not staging.exists()
    result = json.loads((run_dir / "result.json").read_text())
    assert [e["epoch"] for e in result["epochs"]] == [1, 2, 3]
    assert (run_dir / "result.json").read_bytes() != recorded  # the fresh result replaced the old one


# ---- one handler: interruption, divergence, file-system errors ------------------------------

def test_ctrl_c_anywhere_in_train_prints_how_to_continue(monkeypatch, tmp_path, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiment, "run", interrupted)
    assert train.main([*SMOKE, "--out", str(tmp_path)]) == 130
    assert capsys.readouterr().err.strip() == cli.INTERRUPTED


@pytest.mark.parametrize("error, line", [
    (OSError(errno.ENOSPC, "No space left on device", "/r/runs/x/checkpoint.npz"),
     "error: No space left on device (free some space, then run the same command again: finished epochs are kept):"
     " /r/runs/x/checkpoint.npz"),
    (PermissionError(errno.EACCES, "Permission denied", "/data/x.mat"), "error: Permission denied: /data/x.mat"),
    (OSError(errno.EROFS, "Read-only file system", "/ro/runs"),
     "error: Read-only file system (choose a writable --out): /ro/runs"),
    (OSError(errno.ELOOP, "Too many levels of symbolic links", "/d/a"),
     "error: Too many levels of symbolic links: /d/a"),
])
def test_file_system_errors_are_one_line(capsys, error, line):
    def main(argv):
        raise error

    assert cli.run_main(main, []) == 2
    assert capsys.readouterr().err.strip() == line


def test_an_out_that_is_a_file_is_one_line(tmp_path, capsys):
    out = tmp_path / "results"
    out.write_text("not a directory")
    assert train.main([*SMOKE, "--out", str(out)]) == 2
    assert only_error_line(capsys) == f"error: --out {out} is a file, not a directory; choose a directory for the " \
                                      "results"


def test_an_input_error_wrapped_by_tensorflow_is_unwrapped(capsys):
    import tensorflow as tf

    def main(argv):
        raise tf.errors.UnknownError(None, None, "InputError: cannot read images 3..5 of IAll in f.mat: bad chunk\n"
                                                 "Traceback (most recent call last): ...")

    assert cli.run_main(main, []) == 2
    assert capsys.readouterr().err.strip() == "error: cannot read images 3..5 of IAll in f.mat: bad chunk"


def test_a_divergence_in_a_plan_does_not_stop_the_other_runs(tmp_path, monkeypatch, capsys):
    config = preset("smoke")
    plan = [run_plan.PlannedRun(config, bits, 0, str(tmp_path)) for bits in (16, 32, 64)]

    def fake_run(method, config, data, bits, seed, out_dir, verbose=1):
        if bits == 32:
            raise TrainingDiverged("training diverged in epoch 2")
        return {"bits": bits}, "path"

    monkeypatch.setattr(experiment, "run", fake_run)
    with pytest.raises(run_plan.PlanDiverged) as caught:
        run_plan.execute(plan, lambda config: None, verbose=0)
    assert caught.value.done == [{"bits": 16}, {"bits": 64}]
    assert "1 of 3 runs diverged" in str(caught.value) and "32 bits" in str(caught.value)
    assert "error: sdch synthetic 32 bits seed 0: training diverged in epoch 2" in capsys.readouterr().err


def test_the_divergence_hint_follows_the_optimiser_in_use():
    import keras

    class Model:
        optimizers_by_name = {"image": keras.optimizers.Adam(), "text": keras.optimizers.Adam()}

    hint = divergence_hint(Model())
    assert "--optimizer adam" not in hint and "already Adam" in hint and "inputs" in hint
    Model.optimizers_by_name = {"image": keras.optimizers.SGD()}
    assert "--optimizer adam" in divergence_hint(Model()) and "SGD" in divergence_hint(Model())


# ---- a quiet start-up --------------------------------------------------------------------------

def test_tensorflow_start_up_lines_stay_off_the_terminal_unless_verbose(tmp_path):
    # A stand-in TensorFlow that writes to the process's stderr (fd 2) while it is imported, as the
    # real one does from C++ (oneDNN, the CUDA stub, cuInit) before its logging is configured.
    for name in ("tensorflow", "keras"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"import os\nos.write(2, b'{name} start-up line\\n')\n")
    code = "import sys; from sdch_tf.cli import quiet_tensorflow_import as q; q(sys.argv[1] == 'v'); print('ok')"
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{REPO}")
    env.pop(cli.VERBOSE_ENV, None)
    quiet = subprocess.run([sys.executable, "-c", code, "q"], env=env, capture_output=True, text=True)
    loud = subprocess.run([sys.executable, "-c", code, "v"], env=env, capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stdout == "ok\n" and quiet.stderr == "", quiet.stderr
    assert loud.returncode == 0 and "tensorflow start-up line" in loud.stderr


def test_the_real_command_line_prints_only_its_own_lines(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sdch_tf.train", *SMOKE, "--epochs", "0", "--out", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL",
                                                                                  cli.VERBOSE_ENV)})
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: epochs (--epochs) = 0: must be at least 1", proc.stderr


# ---- a paper preset is the paper: it needs the pretrained weights ------------------------------

@pytest.mark.parametrize("method, expected", [("sdch", "bvlc_alexnet.npy"), ("dcmh", "imagenet-vgg-f.mat"),
                                              ("cmhn", "imagenet-vgg-f.mat"), ("rdcmh", "imagenet-vgg-f.mat"),
                                              ("dspah", "ResNet-34 state dict")])
def test_a_paper_preset_without_its_weights_is_refused(tmp_path, capsys, method, expected):
    assert train.main(["--method", method, "--preset", "paper", "--out", str(tmp_path)]) == 2
    err = only_error_line(capsys)
    assert f"--preset paper trains {method} from" in err and expected in err and "--weights none" in err, err
    assert not any(tmp_path.iterdir())


def test_weights_none_runs_a_paper_preset_from_random_initialisation_on_purpose():
    from sdch_tf import configs

    config = train.build_config(train.parse_args(["--preset", "paper", "--weights", "none"]))
    assert config.preset == "paper" and config.weights == "none"  # recorded as such in result.json
    assert configs.pretrained_weights(config) is None
    assert configs.pretrained_weights(dataclasses_replace(config, weights="w.npy")) == "w.npy"
    # The other presets load the stand-in weights committed with the package.
    assert train.build_config(train.parse_args(["--preset", "cpu"])).weights == \
        configs.standin_weights("cpu", "bvlc_alexnet.npy")


def dataclasses_replace(config, **fields):
    import dataclasses

    return dataclasses.replace(config, **fields)


def test_every_preset_of_every_method_passes_the_range_checks():
    from sdch_tf.config_checks import check_config
    from sdch_tf.registry import METHODS

    for name in METHODS:
        for preset_name in ("paper", "cpu", "smoke"):
            check_config(get_method(name).preset(preset_name))  # raises InputError on a bad range
