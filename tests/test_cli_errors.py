"""Bad input on the command lines (train, reproduce, sweep): one ``error: <message>`` on stderr, exit
status 2, no traceback, nothing trained and nothing written under --out (issue 5, "hardened inputs")."""
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from sdch_tf import reproduce, sweep, train
from sdch_tf.data.dataset import ArrayImages
from sdch_tf.data.mat import write_mat_v5, write_mat_v73

REPO = str(Path(__file__).resolve().parents[1])
N = 30


def labels(n=N):
    out = np.zeros((n, 4))
    out[:, 0] = 1
    out[::2, 1] = 1
    out[::3, 2] = 1
    out[1::4, 3] = 1
    return out


def write_nuswide(directory, labels_=None, texts_=None):
    """A tiny NUS-WIDE DCMH layout: images v7.3, labels v5, texts v7.3."""
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    write_mat_v73(directory / "nus-wide-tc21-iall.mat",
                  {"IAll": ArrayImages(rng.integers(0, 256, (N, 16, 16, 3), dtype=np.uint8))})
    write_mat_v5(directory / "nus-wide-tc21-lall.mat", {"LAll": labels() if labels_ is None else labels_})
    write_mat_v73(directory / "nus-wide-tc21-yall.mat",
                  {"YAll": rng.integers(0, 3, (N, 10)).astype(np.float64) if texts_ is None else texts_})
    return directory


def truncate(path):
    whole = path.read_bytes()
    path.write_bytes(whole[:len(whole) // 2])


def float_images(directory):
    write_mat_v73(directory / "nus-wide-tc21-iall.mat", {"IAll": np.zeros((16, 16, 3, N))})


def nan_texts(directory):
    texts = np.ones((N, 10))
    texts[7, 3] = np.nan
    write_mat_v73(directory / "nus-wide-tc21-yall.mat", {"YAll": texts})


def one_d_labels(directory):
    with h5py.File(directory / "nus-wide-tc21-lall.mat", "w") as f:
        f["LAll"] = np.ones(N)


# (how the files are spoiled, words the message must hold)
BAD_FILES = {
    "missing": (lambda d: (d / "nus-wide-tc21-yall.mat").unlink(), ["nus-wide-tc21-yall.mat [MISSING]",
                                                                    "--dataset synthetic"]),
    "truncated-v73": (lambda d: truncate(d / "nus-wide-tc21-iall.mat"), ["nus-wide-tc21-iall.mat: cannot open",
                                                                         "truncated file"]),
    "truncated-v5": (lambda d: truncate(d / "nus-wide-tc21-lall.mat"), ["nus-wide-tc21-lall.mat: cannot read the "
                                                                        "MATLAB v5 file"]),
    "not-mat": (lambda d: (d / "nus-wide-tc21-lall.mat").write_text("0 1 0\n1 0 0\n"),
                ["nus-wide-tc21-lall.mat: not a MATLAB MAT-file"]),
    "missing-key": (lambda d: write_mat_v5(d / "nus-wide-tc21-lall.mat", {"L": labels()}),
                    ["nus-wide-tc21-lall.mat: no variable 'LAll'; variables present: L (30, 4) double"]),
    "counts-disagree": (lambda d: write_mat_v73(d / "nus-wide-tc21-yall.mat", {"YAll": np.ones((N - 1, 10))}),
                        ["row counts disagree", "'YAll' has shape (29, 10); expected (30, d)"]),
    "float-images": (float_images, ["'IAll' must be a uint8 image array, found float64"]),
    "1-d-labels": (one_d_labels, ["'LAll' must be a 2-D label matrix MATLAB (N, C); found shape (30,)"]),
    "nan-texts": (nan_texts, ["'YAll' (shape (30, 10)) holds non-finite values", "[7, 3] = nan"]),
}


def run_train(capsys, *argv):
    code = train.main(["--preset", "smoke", "--quiet", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_clean_error(code, err, *words):
    assert code == 2
    assert err.lstrip().startswith("error: ") and "Traceback" not in err
    for word in words:
        assert word in err


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_train_reports_a_bad_dataset_file(tmp_path, capsys, case):
    spoil, words = BAD_FILES[case]
    spoil(write_nuswide(tmp_path / "data"))
    code, _, err = run_train(capsys, "--dataset", "nuswide", "--data-dir", str(tmp_path / "data"),
                             "--num-query", "5", "--num-train", "10", "--out", str(tmp_path / "out"))
    assert_clean_error(code, err, *words)
    assert not (tmp_path / "out").exists()


def test_train_checks_split_sizes_before_training(tmp_path, capsys):
    write_nuswide(tmp_path / "data")
    out = tmp_path / "out"
    code, printed, err = run_train(capsys, "--dataset", "nuswide", "--data-dir", str(tmp_path / "data"),
                                   "--num-query", "10", "--num-train", "25", "--out", str(out))
    assert_clean_error(code, err, "nuswide: the split does not fit the dataset",
                       "num_train=25 exceeds the database size 20 (30 samples minus 10 queries)",
                       "at least 35 samples; available: 30 samples")
    assert "nuswide: 30 samples" in printed and not out.exists()
    # No sizes given: the smoke preset's 40 queries do not fit 30 samples.
    code, _, err = run_train(capsys, "--dataset", "nuswide", "--data-dir", str(tmp_path / "data"), "--out", str(out))
    assert_clean_error(code, err, "num_query=40 leaves no database out of 30 samples",
                       "40 queries (set by --num-query / --num-train or the preset)")
    assert not out.exists()


@pytest.mark.parametrize("flag, value", [("--dataset", "flickr"), ("--method", "sdhc")])
def test_unknown_names_are_refused_by_the_parser_with_the_valid_ones(capsys, flag, value):
    with pytest.raises(SystemExit) as info:
        train.main([flag, value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"invalid choice: '{value}'" in err and ("'mirflickr'" in err or "'sdch'" in err)


def test_a_flag_the_method_does_not_have_exits_2(capsys):
    code, _, err = run_train(capsys, "--method", "cmhn", "--optimizer", "sgd")
    assert_clean_error(code, err, "--optimizer does not apply to --method cmhn")


def test_train_reports_a_missing_weights_file(tmp_path, capsys):
    code, _, err = run_train(capsys, "--weights", str(tmp_path / "bvlc_alexnet.npy"), "--out", str(tmp_path))
    assert_clean_error(code, err, f"AlexNet weights file not found: '{tmp_path / 'bvlc_alexnet.npy'}'")


def test_train_reports_weights_of_another_architecture(tmp_path, capsys):
    path = tmp_path / "resnet34.npz"
    np.savez(path, **{"conv1.weight": np.zeros((64, 3, 7, 7), np.float32)})
    code, _, err = run_train(capsys, "--weights", str(path), "--out", str(tmp_path / "out"))
    assert_clean_error(code, err, f"{path}: is a zip archive (.npz, or a PyTorch checkpoint)",
                       "expected bvlc_alexnet.npy")
    assert not list((tmp_path / "out").glob("runs/*/result.json"))
    # A baseline whose preprocessing reads the VGG-F file's mean first.
    code, _, err = run_train(capsys, "--method", "dcmh", "--weights", str(path), "--out", str(tmp_path / "out"))
    assert_clean_error(code, err, f"{path}: could not be read by scipy.io.loadmat")


def test_the_real_command_line_shows_the_report_and_the_error(tmp_path):
    """A real process: the dropped and all-zero-text samples are reported on stderr, then the error."""
    lab = labels()
    lab[[3, 8]] = 0
    texts = np.ones((N, 10))
    texts[[5, 6]] = 0
    write_nuswide(tmp_path / "data", labels_=lab, texts_=texts)
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-m", "sdch_tf.train", "--dataset", "nuswide", "--data-dir",
                           str(tmp_path / "data"), "--preset", "smoke", "--out", str(tmp_path / "out")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "nuswide: dropped 2 of 30 samples that have no label" in proc.stderr
    assert "file rows 3, 8 (0-based)" in proc.stderr
    assert "nuswide: warning: 2 of 28 samples have an all-zero text vector" in proc.stderr
    assert "kept: samples 4, 5 (file rows 5, 6)" in proc.stderr
    assert "error: nuswide: the split does not fit the dataset" in proc.stderr
    assert "available: 28 samples; the files hold 30, of which 2 were dropped" in proc.stderr
    assert "nuswide: 28 samples (30 in the files, 2 dropped" in proc.stdout


# ------------------------------------------------------------------------------ reproduce and sweep


def test_reproduce_reports_a_missing_dataset(tmp_path, capsys):
    code = reproduce.main(["--dataset", "iapr", "--data-dir", str(tmp_path / "nowhere"), "--preset", "smoke",
                           "--methods", "sdch", "--bits", "16", "--runs", "1", "--out", str(tmp_path / "out"),
                           "--no-draw", "--quiet"])
    err = capsys.readouterr().err
    assert_clean_error(code, err, "IAPR-TC12.mat [MISSING]", "(the directory does not exist)")
    assert not list((tmp_path / "out").glob("runs/*"))


def test_reproduce_reports_a_bad_weights_argument(tmp_path, capsys):
    code = reproduce.main(["--preset", "smoke", "--methods", "sdch", "--weights", "alexnet.npy",
                           "--out", str(tmp_path)])
    assert_clean_error(code, capsys.readouterr().err, "expected METHOD=PATH")


def test_reproduce_reports_a_bad_file_and_split(tmp_path, capsys):
    nan_texts(write_nuswide(tmp_path / "data"))
    argv = ["--dataset", "nuswide", "--data-dir", str(tmp_path / "data"), "--preset", "smoke", "--methods", "dcmh",
            "--bits", "16", "--runs", "1", "--out", str(tmp_path / "out"), "--no-draw", "--quiet"]
    assert_clean_error(reproduce.main(argv), capsys.readouterr().err, "holds non-finite values", "[7, 3] = nan")
    write_nuswide(tmp_path / "data")
    assert_clean_error(reproduce.main(argv), capsys.readouterr().err,
                       "num_query=40 leaves no database out of 30 samples")
    assert not (tmp_path / "out").exists()  # checked before any run directory is made


def test_sweep_reports_a_bad_dataset_and_a_bad_override(tmp_path, capsys):
    spoil, words = BAD_FILES["missing-key"]
    spoil(write_nuswide(tmp_path / "data"))
    code = sweep.main(["--param", "gamma", "--values", "0.1", "--dataset", "nuswide", "--data-dir",
                       str(tmp_path / "data"), "--preset", "smoke", "--out", str(tmp_path / "out"), "--quiet"])
    assert_clean_error(code, capsys.readouterr().err, *words)
    code = sweep.main(["--param", "gamma", "--preset", "smoke", "--set", "nonsense=1", "--out", str(tmp_path)])
    assert_clean_error(code, capsys.readouterr().err, "--set 'nonsense=1'")
