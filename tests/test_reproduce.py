"""``python -m sdch_tf.reproduce`` end to end on the real smoke presets: plan, train, skip, draw."""
import json
import pathlib

import pytest

from sdch_tf import reproduce
from sdch_tf.input_errors import InputError

PAPER = pathlib.Path(__file__).parent.parent / "results" / "paper"


def test_weights_are_given_per_method():
    assert reproduce.parse_weights(["sdch=~/w/alexnet.npy"], ["sdch", "dcmh"]) == {
        "sdch": str(pathlib.Path("~/w/alexnet.npy").expanduser())}
    with pytest.raises(InputError, match="METHOD=PATH"):
        reproduce.parse_weights(["alexnet.npy"], ["sdch"])
    with pytest.raises(InputError, match="METHOD=PATH"):
        reproduce.parse_weights(["cmhn=x.mat"], ["sdch"])  # cmhn not among --methods


def test_the_plan_covers_every_method_bits_and_seed(tmp_path, capsys):
    args = reproduce.parse_args(["--preset", "smoke", "--methods", "sdch", "rdcmh", "--bits", "16", "64",
                                 "--runs", "2", "--seed", "3", "--out", str(tmp_path), "--sensitivity"])
    plan = reproduce.build_plan(args, str(tmp_path))
    main = [(r.config.method, r.bits, r.seed) for r in plan if r.out_dir == str(tmp_path)]
    assert main == [(m, b, s) for m in ("sdch", "rdcmh") for b in (16, 64) for s in (3, 4)]
    sweeps = [r for r in plan if r.out_dir != str(tmp_path)]
    assert len(sweeps) == 5 * 4 and {r.config.method for r in sweeps} == {"sdch"}
    assert {r.bits for r in sweeps} == {64}
    assert reproduce.main(["--preset", "smoke", "--methods", "sdch", "--bits", "16", "--runs", "2",
                           "--out", str(tmp_path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "0 recorded, 2 to run (seeds 0,1)" in out and "2 of 2 runs to train" in out
    assert not (tmp_path / "runs").exists()  # a dry run trains nothing


def test_reproduce_trains_skips_recorded_runs_and_draws(tmp_path, capsys):
    argv = ["--preset", "smoke", "--methods", "sdch", "dcmh", "--bits", "32", "--runs", "1",
            "--out", str(tmp_path), "--paper", str(PAPER), "--quiet"]
    assert reproduce.main(argv) == 0
    results = [json.loads(p.read_text()) for p in tmp_path.glob("runs/*/result.json")]
    assert sorted((r["method"], r["bits"], r["seed"], r["preset"]) for r in results) == [
        ("dcmh", 32, 0, "smoke"), ("sdch", 32, 0, "smoke")]
    drawn = {p.name for p in tmp_path.glob("*/*") if p.parent.name in ("tables", "figures")}
    assert {"table2.md", "table2.tex", "table3.md", "table3.tex", "table4.md", "table4.tex",
            "fig3_top5_retrievals_32bits.png", "fig4_precision_recall_32bits.pdf",
            "fig5_precision_top_r_32bits.png"} <= drawn
    table2 = (tmp_path / "tables" / "table2.md").read_text()
    sdch = next(r for r in results if r["method"] == "sdch")
    assert f"{sdch['map_i2t']:.3f}" in table2 and "(0.866)" in table2  # ours, and the paper's MIR-FLICKR 32 bits
    printed = capsys.readouterr().out
    assert "2 of 2 runs to train" in printed and "Table 2" in printed
    # Restarting trains nothing: every run is recorded.
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.glob("runs/*/result.json")}
    assert reproduce.main(argv + ["--no-draw"]) == 0
    assert "0 of 2 runs to train" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in tmp_path.glob("runs/*/result.json")} == mtimes


@pytest.mark.parametrize("given, expected", [(None, 500), ("all", None), ("100", 100)])
def test_top_k_reaches_every_planned_run(tmp_path, given, expected):
    argv = ["--preset", "smoke", "--methods", "sdch", "dcmh", "--out", str(tmp_path)]
    args = reproduce.parse_args(argv + (["--top-k", given] if given else []))
    plan = reproduce.build_plan(args, str(tmp_path))
    assert plan and {r.config.top_k for r in plan} == {expected}
