"""Figure 6 (sdch_tf/figures/sensitivity.py) from fabricated sweep folders."""
from __future__ import annotations

import json
import os

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from sdch_tf.figures import sensitivity

DEFAULTS = {"gamma": 0.01, "beta1": 1.0, "beta2": 1.0, "beta3": 0.1}


def sweep_run(param, value, seed, map_i2t, map_t2i, dataset="mirflickr", bits=64, epochs=50, method="sdch"):
    config = dict(DEFAULTS, method=method, bits=[bits], epochs=epochs, data={"dataset": dataset})
    config[param] = value
    return {"method": method, "dataset": dataset, "preset": "cpu", "bits": bits, "seed": seed, "top_k": 500,
            "run_id": f"{method}-{dataset}-cpu-{bits}bits-seed{seed}-{param}{value}e{epochs}",
            "map_i2t": map_i2t, "map_t2i": map_t2i, "config": config}


def write_sweep(results_dir, param, runs):
    for r in runs:
        directory = os.path.join(results_dir, "sweeps", param, "runs", r["run_id"])
        os.makedirs(directory)
        with open(os.path.join(directory, "result.json"), "w") as f:
            json.dump(r, f)


GAMMA_RUNS = [  # given out of order on purpose
    sweep_run("gamma", 1.0, 0, 0.40, 0.50),
    sweep_run("gamma", 0.01, 0, 0.60, 0.70),
    sweep_run("gamma", 0.001, 0, 0.50, 0.55),
    sweep_run("gamma", 0.01, 1, 0.80, 0.74),
]


def test_defaults_are_the_papers():
    assert {p: sensitivity.default_value(p) for p in DEFAULTS} == DEFAULTS


def test_sweep_series_sorts_values_and_averages_seeds():
    series = sensitivity.sweep_series(GAMMA_RUNS, "gamma")
    assert list(series) == ["mirflickr"]
    s = series["mirflickr"]
    np.testing.assert_array_equal(s.values, [0.001, 0.01, 1.0])
    np.testing.assert_array_equal(s.runs, [1, 2, 1])
    np.testing.assert_allclose(s.mean["i2t"], [0.50, 0.70, 0.40])
    np.testing.assert_allclose(s.std["i2t"], [0.0, 0.10, 0.0])  # population std of 0.6, 0.8
    np.testing.assert_allclose(s.mean["t2i"], [0.55, 0.72, 0.50])
    np.testing.assert_allclose(s.std["t2i"], [0.0, 0.02, 0.0])
    assert s.top_k == 500


def test_sweep_series_keeps_the_largest_base_configuration_and_warns():
    stray = sweep_run("gamma", 0.01, 0, 0.0, 0.0, epochs=3)  # same folder, another base config
    with pytest.warns(UserWarning, match="2 base configurations.*3 runs, ignoring 1"):
        s = sensitivity.sweep_series(GAMMA_RUNS[:3] + [stray], "gamma")["mirflickr"]
    np.testing.assert_allclose(s.mean["i2t"], [0.50, 0.60, 0.40])


def test_sweep_series_splits_datasets_and_filters_bits_method_and_missing_param():
    other_bits = sweep_run("gamma", 0.1, 0, 0.9, 0.9, bits=32)
    other_method = sweep_run("gamma", 0.1, 0, 0.9, 0.9, method="dcmh")
    no_param = sweep_run("gamma", 0.1, 0, 0.9, 0.9)
    del no_param["config"]["gamma"]
    iapr = sweep_run("gamma", 0.1, 0, 0.3, 0.35, dataset="iapr")
    with pytest.warns(UserWarning, match="1 runs have no config"):
        series = sensitivity.sweep_series(GAMMA_RUNS + [other_bits, other_method, no_param, iapr], "gamma")
    assert sorted(series) == ["iapr", "mirflickr"]
    np.testing.assert_array_equal(series["iapr"].values, [0.1])
    np.testing.assert_array_equal(series["mirflickr"].values, [0.001, 0.01, 1.0])


def test_load_sweeps_reads_the_sweep_folders(tmp_path):
    write_sweep(tmp_path, "gamma", GAMMA_RUNS)
    write_sweep(tmp_path, "beta3", [sweep_run("beta3", v, 0, 0.5 + v / 100, 0.6) for v in (10.0, 0.01)])
    sweeps = sensitivity.load_sweeps(str(tmp_path))
    assert sorted(sweeps) == ["beta3", "gamma"]
    np.testing.assert_array_equal(sweeps["beta3"]["mirflickr"].values, [0.01, 10.0])
    np.testing.assert_allclose(sweeps["beta3"]["mirflickr"].mean["i2t"], [0.5001, 0.6])
    assert sensitivity.load_sweeps(str(tmp_path), bits=32) == {}


def line_data(ax):
    """Data lines of a panel (not the dotted defaults, nor error-bar caps), as (x, y) arrays."""
    return [line.get_xydata() for line in ax.get_lines() if line.get_linestyle() == "-"]


def test_figure_panels_lines_defaults_and_missing_sweeps(tmp_path):
    write_sweep(tmp_path, "gamma", GAMMA_RUNS)
    write_sweep(tmp_path, "beta1", [sweep_run("beta1", v, 0, 0.6, 0.7) for v in (0.1, 1.0, 10.0)])
    write_sweep(tmp_path, "beta3", [sweep_run("beta3", v, 0, 0.5, 0.6) for v in (0.01, 0.1)])
    fig = sensitivity.build_sensitivity_figure(sensitivity.load_sweeps(str(tmp_path)), source="set")
    (a_i2t, b_i2t), (a_t2i, b_t2i) = np.reshape(fig.axes, (2, 2))
    assert a_i2t.get_title() == "(a) $\\gamma$ — Image→Text"
    assert b_t2i.get_title() == "(b) $\\beta_i$, MIR-FLICKR — Text→Image"
    [xy] = line_data(a_t2i)
    np.testing.assert_allclose(xy, [[0.001, 0.55], [0.01, 0.72], [1.0, 0.50]])
    assert a_i2t.get_xscale() == "log" and b_i2t.get_xscale() == "log"
    assert a_i2t.get_ylabel() == "mAP@500"
    # The mean of two seeds carries an error bar of their std (0.1 on I→T at γ = 0.01).
    [bars] = a_i2t.containers
    segments = bars.lines[2][0].get_segments()
    spans = sorted(abs(s[1, 1] - s[0, 1]) for s in segments)
    np.testing.assert_allclose(spans[-1], 0.2)
    # Default values as dotted vertical lines: γ = 0.01; β1 = 1 and β3 = 0.1 in (b).
    dotted = lambda ax: sorted(line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == ":")
    assert dotted(a_i2t) == [0.01]
    assert dotted(b_i2t) == [0.1, 1.0]
    assert [xy[:, 0].tolist() for xy in line_data(b_i2t)] == [[0.1, 1.0, 10.0], [0.01, 0.1]]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert sorted(labels) == sorted(["MIR-FLICKR", "$\\beta_1$", "$\\beta_3$", "default (§4.2)"])
    assert "64 bits" in fig._suptitle.get_text() and "set" in fig._suptitle.get_text()


def test_panels_without_a_sweep_say_so():
    sweeps = {"beta2": sensitivity.sweep_series([sweep_run("beta2", 1.0, 0, 0.6, 0.7)], "beta2")}
    fig = sensitivity.build_sensitivity_figure(sweeps)
    a_i2t, b_i2t, a_t2i, b_t2i = fig.axes
    for ax in (a_i2t, a_t2i):
        assert [t.get_text() for t in ax.texts] == ["no sweep recorded\n(64 bits)"]
        assert ax.get_lines() == []
    assert len(line_data(b_i2t)) == 1


def test_a_swept_zero_uses_a_symlog_axis():
    sweeps = {"beta3": sensitivity.sweep_series([sweep_run("beta3", v, 0, 0.6, 0.7) for v in (0.0, 0.1, 1.0)],
                                                "beta3")}
    fig = sensitivity.build_sensitivity_figure(sweeps)
    assert fig.axes[1].get_xscale() == "symlog"


def test_draw_writes_png_and_pdf(tmp_path):
    write_sweep(tmp_path, "gamma", GAMMA_RUNS)
    base = str(tmp_path / "figures" / "fig6")
    paths = sensitivity.draw_sensitivity(str(tmp_path), base)
    assert paths == [base + ".png", base + ".pdf"]
    assert all(os.path.getsize(p) > 1000 for p in paths)
    assert sorted(os.listdir(tmp_path / "figures")) == ["fig6.pdf", "fig6.png"]


def test_no_sweep_gives_no_figure_and_a_message(tmp_path, capsys):
    assert sensitivity.draw_sensitivity(str(tmp_path), str(tmp_path / "figures" / "fig6")) == []
    assert "no parameter sweep at 64 bits" in capsys.readouterr().out
    assert not (tmp_path / "figures").exists()
    assert sensitivity.main(["--results", str(tmp_path / "nowhere")]) == 0
