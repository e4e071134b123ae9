"""Every run's TensorBoard log (sdch_tf/run/tensorboard_log.py), read back from its event files:
one value per epoch per loss term, equal to epochs.jsonl's, and the final mAP equal to result.json's,
for SDCH (Keras epochs) and SCM (one closed-form solve); each epoch once after a resumed run;
nothing written by a reused run, by a worker that is not the chief, or without tensorboard."""
import json
import sys
import warnings
from collections import defaultdict

import numpy as np
import pytest
import tensorflow as tf

from sdch_tf import train
from sdch_tf.run import tensorboard_log
from sdch_tf.training import callbacks
from tests.baselines.feature_files import (
    multilabel_toy,
    train_on_features,
    write_toy_features,
)

SDCH_2_EPOCHS = ["--preset", "smoke", "--epochs", "2", "--quiet"]


def scalars(run_dir) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(step, value), …] in writing order} over every event file of the run's log."""
    found = defaultdict(list)
    for path in sorted((run_dir / tensorboard_log.LOG_DIR).glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                found[value.tag].append((event.step, float(tf.make_ndarray(value.tensor))))
    return dict(found)


def assert_log_matches_the_run(run_dir):
    """epoch/<term> holds each record of epochs.jsonl once at step = its epoch; map/* result.json's."""
    records = callbacks.EpochLog.read(run_dir / "epochs.jsonl")
    result = json.loads((run_dir / "result.json").read_text())
    logged = scalars(run_dir)
    expected = defaultdict(list)
    for record in records:
        for name, value in tensorboard_log.epoch_values(record).items():
            expected[f"epoch/{name}"].append((record["epoch"], value))
    assert {t for t in logged if t.startswith("epoch/")} == set(expected)
    for tag, values in expected.items():
        assert [s for s, _ in logged[tag]] == [s for s, _ in values], tag
        np.testing.assert_allclose([v for _, v in logged[tag]], [v for _, v in values], rtol=1e-6, err_msg=tag)
    final = {"map/i2t": result["map_i2t"], "map/t2i": result["map_t2i"], "map/all_i2t": result["map_all_i2t"],
             "map/all_t2i": result["map_all_t2i"], "map/untrained_i2t": result["untrained"]["map_i2t"],
             "map/untrained_t2i": result["untrained"]["map_t2i"]}
    assert {t for t in logged if t.startswith("map/")} == set(final)
    for tag, value in final.items():
        (step, got), = logged[tag]
        assert step == len(records) and got == pytest.approx(value, rel=1e-6), tag
    return logged


@pytest.fixture(scope="module")
def sdch_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sdch")
    assert train.main([*SDCH_2_EPOCHS, "--eval-every", "1", "--out", str(out)]) == 0
    (run_dir,) = (out / "runs").iterdir()
    return out, run_dir


def test_an_sdch_run_logs_every_epoch_and_its_final_map(sdch_run):
    _, run_dir = sdch_run
    logged = assert_log_matches_the_run(run_dir)
    assert [s for s, _ in logged["epoch/L_f"]] == [1, 2] and [s for s, _ in logged["epoch/L_h"]] == [2]
    # The learning curve (--eval-every) is logged too: the observer runs after it.
    assert [s for s, _ in logged["epoch/curve_map_i2t"]] == [1, 2]


def test_a_reused_run_writes_nothing(sdch_run):
    out, run_dir = sdch_run
    before = {p.name: p.read_bytes() for p in (run_dir / tensorboard_log.LOG_DIR).iterdir()}
    assert train.main([*SDCH_2_EPOCHS, "--eval-every", "1", "--out", str(out)]) == 0
    assert {p.name: p.read_bytes() for p in (run_dir / tensorboard_log.LOG_DIR).iterdir()} == before


def test_the_log_leaves_training_unchanged(sdch_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # the same run without a log
    monkeypatch.setattr(tensorboard_log, "_warned", True)
    assert train.main([*SDCH_2_EPOCHS, "--eval-every", "1", "--out", str(tmp_path)]) == 0
    (plain,) = (tmp_path / "runs").iterdir()
    assert plain.name == sdch_run[1].name and not (plain / tensorboard_log.LOG_DIR).exists()
    with np.load(plain / "codes.npz") as a, np.load(sdch_run[1] / "codes.npz") as b:
        assert a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files)


@pytest.mark.parametrize("logged_before", [1, 2], ids=["after-checkpoint-1", "before-checkpoint-2"])
def test_a_resumed_run_logs_each_epoch_once(tmp_path, monkeypatch, logged_before):
    """Ctrl-C after the checkpoint of epoch 1 of 2, or in epoch 2 after its values were logged but
    before its checkpoint (epoch 2 is trained again): either way one value per epoch."""
    original = callbacks.Checkpoint.on_epoch_end

    def interrupting(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt
        original(self, epoch, logs)
        if epoch == logged_before - 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(callbacks.Checkpoint, "on_epoch_end", interrupting)
    assert train.main([*SDCH_2_EPOCHS, "--out", str(tmp_path)]) == 130
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert [s for s, _ in scalars(run_dir)["epoch/loss"]] == list(range(1, logged_before + 1))
    monkeypatch.setattr(callbacks.Checkpoint, "on_epoch_end", original)
    assert train.main([*SDCH_2_EPOCHS, "--out", str(tmp_path)]) == 0
    logged = assert_log_matches_the_run(run_dir)
    assert [s for s, _ in logged["epoch/L_f"]] == [1, 2]


@pytest.fixture
def toy_features(tmp_path):
    rng = np.random.default_rng(4)
    return write_toy_features(tmp_path / "toy.h5", rng, *multilabel_toy(rng))


def test_a_closed_form_run_logs_its_solve_and_its_final_map(toy_features, tmp_path, monkeypatch):
    assert train_on_features("scm", toy_features, tmp_path, monkeypatch) == 0
    (run_dir,) = (tmp_path / "out" / "runs").iterdir()
    logged = assert_log_matches_the_run(run_dir)
    assert logged["epoch/objective"][0][0] == 1 and logged["map/i2t"][0][0] == 1


def test_without_tensorboard_the_run_trains_without_a_log_after_one_warning(toy_features, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # `import tensorboard` raises ImportError
    monkeypatch.setattr(tensorboard_log, "_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        codes = [train_on_features("scm", toy_features, tmp_path, monkeypatch, *fresh) for fresh in ((), ("--fresh",))]
    assert codes == [0, 0]
    (warned,) = [w for w in caught if "tensorboard" in str(w.message)]  # once for both runs
    assert warned.category is RuntimeWarning and "pip install tensorboard" in str(warned.message)
    (run_dir,) = (tmp_path / "out" / "runs").iterdir()
    assert (run_dir / "result.json").exists() and not (run_dir / tensorboard_log.LOG_DIR).exists()


def test_only_the_chief_writes_a_log(toy_features, tmp_path, monkeypatch):
    monkeypatch.setattr(tensorboard_log, "is_chief", lambda strategy: False)
    assert train_on_features("scm", toy_features, tmp_path, monkeypatch) == 0
    (run_dir,) = (tmp_path / "out" / "runs").iterdir()
    assert (run_dir / "result.json").exists() and not (run_dir / tensorboard_log.LOG_DIR).exists()
