"""End-to-end wiring of ``python -m sdch_tf.train`` with the real smoke preset."""
import json
import os
import re

import numpy as np
import pytest

from sdch_tf import train
from sdch_tf.run import results
from sdch_tf.sdch import schedule
from sdch_tf.training import callbacks, checkpoint
from sdch_tf.input_errors import InputError

REQUIRED = {"method", "dataset", "bits", "seed", "map_i2t", "map_t2i", "map_all_i2t", "map_all_t2i", "ndcg_i2t",
            "ndcg_t2i", "ndcg_k", "top_k",
            "config", "split", "epochs", "timing", "curves", "untrained", "retrievals"}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    code = train.main(["--preset", "smoke", "--out", str(out), "--quiet"])
    assert code == 0
    (path,) = out.glob("runs/*/result.json")
    return out, path, json.loads(path.read_text())


def test_smoke_run_writes_a_complete_result(smoke_run, capsys):
    out, path, result = smoke_run
    assert REQUIRED <= set(result)
    assert result["method"] == "sdch" and result["dataset"] == "synthetic" and result["preset"] == "smoke"
    assert result["bits"] == 16 and result["seed"] == 0 and result["top_k"] == 500
    assert [e["phase"] for e in result["epochs"]] == ["features", "hash", "joint"]
    assert {"L_f", "L_h", "similarity", "quantization", "independence", "balance"} <= set(result["epochs"][2])
    assert result["split"] == {"query": 40, "database": 200, "train": 96}
    for key in ("map_i2t", "map_t2i", "map_all_i2t", "map_all_t2i"):
        assert 0.0 < result[key] <= 1.0 and 0.0 < result["untrained"][key] <= 1.0
    for direction in ("i2t", "t2i"):
        pr = result["curves"][f"pr_{direction}"]
        assert len(pr["precision"]) == len(pr["recall"]) == 17  # radii 0..16
        assert pr["recall"][-1] == pytest.approx(1.0)
        assert result["curves"][f"ptop_{direction}"]["k"][0] == 1
    for direction in ("i2t", "t2i"):
        shown = result["retrievals"][direction]
        assert len(shown["query"]) == 8 and all(len(row) == 5 for row in shown["retrieved"])
        assert all(d == sorted(d) for d in shown["distance"])  # best first
        assert not set(shown["query"]) & {i for row in shown["retrieved"] for i in row}  # queries ∉ database
    assert result["timing"]["train_seconds"] > 0 and result["timing"]["encode_ms_per_image"] > 0
    assert result["config"]["bits"] == [16] and result["config"]["epochs"] == 3
    assert os.path.exists(path.parent / "checkpoint.npz")


def test_a_finished_run_is_reused_not_retrained(smoke_run, capsys):
    out, path, result = smoke_run
    mtime = path.stat().st_mtime_ns
    assert train.main(["--preset", "smoke", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Reusing the finished run" in printed
    assert f"{result['map_i2t']:.4f}" in printed and str(path) in printed
    assert path.stat().st_mtime_ns == mtime


def interrupt_after_epoch(monkeypatch, epoch_index: int):
    """Ctrl-C right after the checkpoint of epoch ``epoch_index`` (0-based) is written; returns
    the original ``Checkpoint.on_epoch_end`` to put back."""
    original = callbacks.Checkpoint.on_epoch_end

    def interrupting(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == epoch_index:
            raise KeyboardInterrupt

    monkeypatch.setattr(callbacks.Checkpoint, "on_epoch_end", interrupting)
    return original


def test_an_interrupted_run_resumes_after_its_last_epoch(tmp_path, monkeypatch, capsys):
    original = interrupt_after_epoch(monkeypatch, 1)
    # Ctrl-C: one line saying how to continue, exit 130, no traceback.
    assert train.main(["--preset", "smoke", "--out", str(tmp_path), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "interrupted — run the same command again to continue", err
    (run_dir,) = tmp_path.glob("runs/*")
    assert not (run_dir / "result.json").exists()
    assert [e["phase"] for e in callbacks.EpochLog.read(run_dir / "epochs.jsonl")] == ["features", "hash"]

    monkeypatch.setattr(callbacks.Checkpoint, "on_epoch_end", original)
    assert train.main(["--preset", "smoke", "--out", str(tmp_path)]) == 0
    assert "Resuming from" in capsys.readouterr().out
    result = json.loads((run_dir / "result.json").read_text())
    assert [e["epoch"] for e in result["epochs"]] == [1, 2, 3]
    assert [e["phase"] for e in result["epochs"]] == ["features", "hash", "joint"]


def test_missing_dataset_names_the_files_and_the_synthetic_alternative(tmp_path, capsys):
    code = train.main(["--dataset", "iapr", "--data-dir", str(tmp_path), "--preset", "smoke", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "IAPR-TC12.mat") in err
    assert "--dataset synthetic" in err


def test_command_line_overrides_the_preset():
    args = train.parse_args(["--preset", "smoke", "--bits", "32", "64", "--epochs", "7", "--num-query", "11",
                             "--num-train", "22", "--weights", "w.npy", "--dataset", "mirflickr", "--data-dir", "d",
                             "--label-fraction", "0.3"])
    config = train.build_config(args)
    assert config.data.label_fraction == 0.3
    assert config.bits == (32, 64) and config.epochs == 7 and config.weights == "w.npy"
    assert (config.data.dataset, config.data.data_dir, config.data.num_query, config.data.num_train) == \
        ("mirflickr", "d", 11, 22)
    assert config.image_net.input_size == 67  # the rest stays the smoke preset's
    defaults = train.build_config(train.parse_args([]))
    assert defaults.preset == "cpu" and defaults.data.dataset == "synthetic" and defaults.method == "sdch"


def test_summary_reports_mean_and_std_over_seeds():
    runs = [{"method": "sdch", "dataset": "synthetic", "preset": "cpu", "bits": 16, "seed": s,
             "map_i2t": v, "map_t2i": v / 2, "untrained": {"map_i2t": 0.3, "map_t2i": 0.2}}
            for s, v in ((0, 0.6), (1, 0.8))]
    (row,) = results.summarize(runs)
    assert row["runs"] == 2 and row["seeds"] == [0, 1]
    np.testing.assert_allclose(row["map_i2t"], (0.7, 0.1))
    np.testing.assert_allclose(row["map_t2i"], (0.35, 0.05))
    text = results.format_summary([row], 500)
    assert "0.7000 ± 0.1000" in text and "0.3500 ± 0.0500" in text


def test_divergence_stops_with_a_clear_error(tmp_path, capsys):
    code = train.main(["--preset", "smoke", "--optimizer", "sgd", "--out", str(tmp_path), "--quiet"])
    # Plain SGD at the paper's rates diverges on the summed losses (results/optimizer-study).
    assert code == 3
    err = capsys.readouterr().err
    assert "training diverged in epoch" in err and "phase), step" in err and "--optimizer adam" in err
    # The message names the non-finite terms and the checkpoint kept (the last finished epoch's).
    match = re.search(r"training diverged in epoch (\d+) \((\w+) phase\), step \d+: (\w+) is (nan|inf|-inf)", err)
    assert match, err
    epoch, phase, term = int(match[1]), match[2], match[3]
    # The phase named is the one the schedule gives that epoch (SDCH §4.2).
    assert phase == schedule.phase_of_epoch(epoch - 1), phase
    assert term in {"loss", "L_f", "L_h", "similarity", "quantization", "independence", "balance"}
    (run_dir,) = tmp_path.glob("runs/*")
    assert not (run_dir / "result.json").exists()
    if epoch > 1:
        assert f"The checkpoint after epoch {epoch - 1} is kept in {run_dir / 'checkpoint.npz'}" in err
        assert checkpoint.read_epoch(run_dir / "checkpoint.npz") == epoch - 1
        assert len(callbacks.EpochLog.read(run_dir / "epochs.jsonl")) == epoch - 1
    else:
        assert "No epoch finished" in err and not (run_dir / "checkpoint.npz").exists()


def test_a_flag_the_method_has_no_field_for_is_refused(monkeypatch):
    import dataclasses

    from sdch_tf import registry
    from sdch_tf.configs import DataConfig

    @dataclasses.dataclass(frozen=True)
    class Bare:
        method: str = "bare"
        preset: str = "smoke"
        bits: tuple = (16,)
        epochs: int = 1
        data: DataConfig = dataclasses.field(default_factory=DataConfig)

    # A method whose config has no optimizer field, as most baselines.
    bare = registry.Method("bare", lambda name: Bare(), None, None, None)
    monkeypatch.setattr(registry, "get_method", lambda name: bare)
    assert train.build_config(train.parse_args(["--epochs", "2"])).epochs == 2
    with pytest.raises(InputError, match="--optimizer does not apply to --method sdch"):
        train.build_config(train.parse_args(["--optimizer", "sgd"]))


def test_another_top_k_rescores_the_finished_run_from_its_codes_without_retraining(tmp_path, capsys):
    from sdch_tf.retrieval import metrics
    from sdch_tf.run import experiment

    out = tmp_path / "out"
    assert train.main(["--preset", "smoke", "--out", str(out), "--quiet"]) == 0
    (path,) = out.glob("runs/*/result.json")
    first = json.loads(path.read_text())
    checkpoint_mtime = (path.parent / "checkpoint.npz").stat().st_mtime_ns
    capsys.readouterr()

    assert train.main(["--preset", "smoke", "--out", str(out), "--quiet", "--top-k", "all"]) == 0
    printed = capsys.readouterr().out
    assert "(preset smoke), MAP," in printed and "mAP@500" not in printed
    assert list(out.glob("runs/*/result.json")) == [path]  # the same run: the cut-off does not identify it
    whole = json.loads(path.read_text())
    assert whole["top_k"] is None and whole["config"]["top_k"] is None
    assert whole["map_i2t"] == pytest.approx(first["map_all_i2t"]) and whole["map_t2i"] == pytest.approx(first["map_all_t2i"])
    assert whole["untrained"]["map_i2t"] == pytest.approx(first["untrained"]["map_all_i2t"])
    assert (path.parent / "checkpoint.npz").stat().st_mtime_ns == checkpoint_mtime

    # Any K: mAP@K of the saved codes, as the metric computes it.
    assert train.main(["--preset", "smoke", "--out", str(out), "--quiet", "--top-k", "7"]) == 0
    at7 = json.loads(path.read_text())
    codes = experiment.load_codes(path.parent / experiment.CODES_FILE)
    data = experiment.load_data(train.build_config(train.parse_args(["--preset", "smoke"])).data)
    split = experiment.split_for(train.build_config(train.parse_args(["--preset", "smoke"])).data, data, 0)
    want = metrics.mean_average_precision(codes["query_image"], codes["db_text"], data.labels[split.query],
                                          data.labels[split.database], top_k=7)
    assert at7["top_k"] == 7 and at7["map_i2t"] == pytest.approx(want)
    assert at7["map_i2t"] != pytest.approx(first["map_i2t"])


@pytest.mark.parametrize("value", ["0", "-3", "five"])
def test_a_bad_top_k_is_refused(value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.parse_args(["--top-k", value])
    assert exit_info.value.code == 2 and "--top-k" in capsys.readouterr().err


def test_the_learning_curve_is_logged_and_training_is_unchanged_by_it(tmp_path):
    import numpy as np

    from sdch_tf.run.experiment import load_codes

    runs = {}
    for name, extra in (("plain", []), ("curve", ["--eval-every", "2"])):
        out = tmp_path / name
        assert train.main(["--preset", "smoke", "--deterministic", "--out", str(out), "--quiet", *extra]) == 0
        (path,) = out.glob("runs/*/result.json")
        runs[name] = (path.parent, json.loads(path.read_text()))
    (plain_dir, _), (curve_dir, curve) = runs["plain"], runs["curve"]
    assert plain_dir.name != curve_dir.name  # a run directory of its own
    for key, value in load_codes(str(plain_dir / "codes.npz")).items():
        np.testing.assert_array_equal(load_codes(str(curve_dir / "codes.npz"))[key], value)
    logged = callbacks.EpochLog.read(curve_dir / "epochs.jsonl")
    # Every second epoch and the last (3 epochs: 2 and 3); the last one scores the final codes.
    assert ["curve_map_i2t" in e for e in logged] == [False, True, True]
    assert not any(k.startswith("curve_") for e in callbacks.EpochLog.read(plain_dir / "epochs.jsonl") for k in e)
    for key in ("map_i2t", "map_t2i", "map_all_i2t", "map_all_t2i"):
        assert logged[-1][f"curve_{key}"] == pytest.approx(curve[key], abs=1e-12)


def test_eval_every_below_one_is_one_error_line(tmp_path, capsys):
    assert train.main(["--preset", "smoke", "--eval-every", "0", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == "error: eval_every (--eval-every) = 0: must be at least 1"


def test_dropout_overrides_every_network_that_has_a_rate():
    args = train.parse_args(["--preset", "smoke", "--dropout", "0"])
    assert train.build_config(args).image_net.dropout == 0.0
    assert train.build_config(train.parse_args(["--preset", "smoke"])).image_net.dropout == 0.5
    rdcmh = train.build_config(train.parse_args(["--method", "rdcmh", "--preset", "paper", "--weights", "none",
                                                 "--dropout", "0.25"]))
    assert rdcmh.image_net.dropout == 0.25 and rdcmh.text_net.dropout == 0.25
    with pytest.raises(InputError, match="--dropout does not apply to --method scm"):
        train.build_config(train.parse_args(["--method", "scm", "--dropout", "0"]))
    with pytest.raises(InputError, match=r"--dropout 1.0 is outside \[0, 1\)"):
        train.build_config(train.parse_args(["--dropout", "1"]))
