"""``python -m sdch_tf.sweep`` (SDCH Fig. 6) with the real smoke preset."""
import json

import pytest

from sdch_tf import sweep
from sdch_tf.run import results
from sdch_tf.sdch.config import preset
from sdch_tf.input_errors import InputError


def test_sweep_plan_sets_only_the_swept_parameter(tmp_path):
    base = preset("smoke")
    plan = sweep.sweep_plan("beta2", [0.1, 10], base, 64, [0, 1], str(tmp_path))
    assert [(r.config.beta2, r.seed) for r in plan] == [(0.1, 0), (0.1, 1), (10.0, 0), (10.0, 1)]
    assert all(r.bits == 64 and r.config.bits == (64,) for r in plan)
    assert all((r.config.gamma, r.config.beta1, r.config.beta3) == (base.gamma, base.beta1, base.beta3) for r in plan)
    assert all(r.out_dir == str(tmp_path / "sweeps" / "beta2") for r in plan)
    with pytest.raises(ValueError, match="unknown sweep parameter"):
        sweep.sweep_plan("lr_hash", [1], base, 64, [0], str(tmp_path))


def test_overrides_take_the_type_of_the_field():
    base = preset("smoke")
    assert sweep.parse_overrides(["beta3=1", "epochs=2"], base) == {"beta3": 1.0, "epochs": 2}
    assert isinstance(sweep.parse_overrides(["epochs=2"], base)["epochs"], int)
    with pytest.raises(InputError, match="FIELD=VALUE"):
        sweep.parse_overrides(["nonsense=1"], base)
    with pytest.raises(InputError, match="not a valid int"):
        sweep.parse_overrides(["epochs=two"], base)


@pytest.mark.parametrize("text, value", [("false", False), ("False", False), ("0", False), ("no", False),
                                         ("true", True), ("1", True), ("YES", True)])
def test_boolean_overrides_are_parsed_not_cast(text, value):
    # bool("false") is True: data_init=false was once trained and recorded as true.
    assert sweep.parse_overrides([f"data_init={text}"], preset("smoke")) == {"data_init": value}


def test_a_boolean_override_that_is_no_boolean_is_refused():
    with pytest.raises(InputError, match="'maybe' is not a valid bool"):
        sweep.parse_overrides(["data_init=maybe"], preset("smoke"))


@pytest.mark.parametrize("argv, message", [
    (["--param", "gamma", "--values", "-1"], "gamma (--values) = -1.0: must not be negative (a negative weight maximises its term)"),
    (["--param", "beta1", "--values", "nan"], "beta1 (--values) = nan: must be a finite number"),
    (["--param", "gamma", "--set", "epochs=0"], "epochs (--set epochs) = 0: must be at least 1"),
    (["--param", "gamma", "--seed", "-2"], "--seed -2: must not be negative"),
    (["--param", "gamma", "--bits", "0"], "bits (--bits) = (0,): every code length must be a positive integer"),
])
def test_out_of_range_sweep_values_are_refused_before_anything_runs(tmp_path, capsys, argv, message):
    assert sweep.main([*argv, "--preset", "smoke", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {message}", err
    assert not any(tmp_path.iterdir())


def test_a_sweep_reuses_the_main_run_with_the_same_configuration(tmp_path):
    base = preset("smoke")
    plan = sweep.sweep_plan("gamma", [base.gamma, 1.0], base, 16, [0], str(tmp_path))
    main = tmp_path / "runs" / results.run_id(plan[0].config, 16, 0)
    main.mkdir(parents=True)
    (main / "result.json").write_text(json.dumps({"map_i2t": 0.5}))
    (main / "epochs.jsonl").write_text("{}\n")
    (main / "checkpoint.npz").write_bytes(b"not copied")
    assert sweep.reuse_main_runs(plan, str(tmp_path)) == [main.name]
    assert [r.status for r in plan] == ["recorded", "new"]
    copied = tmp_path / "sweeps" / "gamma" / "runs" / main.name
    assert json.loads((copied / "result.json").read_text()) == {"map_i2t": 0.5}
    assert sorted(p.name for p in copied.iterdir()) == ["epochs.jsonl", "result.json"]


def test_sweep_end_to_end_on_the_smoke_preset(tmp_path, capsys):
    code = sweep.main(["--param", "gamma", "--values", "0.01", "1", "--preset", "smoke", "--bits", "16",
                       "--out", str(tmp_path), "--quiet"])
    assert code == 0
    found = sorted((json.loads(p.read_text()) for p in tmp_path.glob("sweeps/gamma/runs/*/result.json")),
                   key=lambda r: r["config"]["gamma"])
    assert [r["config"]["gamma"] for r in found] == [0.01, 1.0]
    assert all(r["bits"] == 16 and r["method"] == "sdch" and r["preset"] == "smoke" for r in found)
    out = capsys.readouterr().out
    assert "2 of 2 runs to train" in out
    assert f"{found[1]['map_i2t']:.4f}" in out
    # Rerunning trains nothing.
    assert sweep.main(["--param", "gamma", "--values", "0.01", "1", "--preset", "smoke", "--bits", "16",
                       "--out", str(tmp_path), "--dry-run"]) == 0
    assert "0 of 2 runs to train" in capsys.readouterr().out


def test_the_paper_values_marked_on_figure_6_are_the_sdch_defaults():
    import dataclasses

    from sdch_tf.run.sweeps import PAPER_VALUES
    from sdch_tf.sdch.config import SDCHConfig

    defaults = {f.name: f.default for f in dataclasses.fields(SDCHConfig)}
    assert PAPER_VALUES == {param: defaults[param] for param in sweep.PARAMS}
