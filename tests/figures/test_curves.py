"""Figures 4 and 5 (sdch_tf/figures/curves.py) on hand-set curves, and the shared plotting helpers."""
from __future__ import annotations

import json
import os

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from sdch_tf.figures import collect, curves, plotting, style

RADIUS = [0, 1, 2, 3]
K = [1, 50, 100]


def run(method="sdch", dataset="synthetic", bits=32, seed=0, pr=None, ptop=None, directions=("i2t", "t2i")):
    """A result dict with only what the curve figures read. ``pr`` = (precision, recall) by radius."""
    pr = pr or ([0.9, 0.8, 0.6, 0.5], [0.1, 0.3, 0.7, 1.0])
    ptop = ptop or [0.9, 0.8, 0.7]
    recorded = {}
    for d in directions:
        recorded[f"pr_{d}"] = {"radius": RADIUS, "precision": list(pr[0]), "recall": list(pr[1])}
        recorded[f"ptop_{d}"] = {"k": K, "precision": list(ptop)}
    return {"method": method, "dataset": dataset, "preset": "cpu", "bits": bits, "seed": seed,
            "run_id": f"{method}-{dataset}-cpu-{bits}bits-seed{seed}-0123abcd", "top_k": 500,
            "map_i2t": 0.5, "map_t2i": 0.5, "curves": recorded}


def cells_of(*runs):
    return collect.group_cells(list(runs))


def panel_lines(fig, row, col):
    """{legend label: (x, y)} of the lines drawn in one panel."""
    ax = fig.axes[row * (len(fig.axes) // 2) + col]
    return {line.get_label(): line.get_xydata() for line in ax.get_lines()}


# ------------------------------------------------------------------------ averaged series


def test_pr_series_averages_runs_and_skips_undefined_precision():
    # Radius 0: nothing retrieved in either run (null = NaN): no point at all.
    # Radius 1: only run 0 retrieved something: its precision alone, not (1.0 + 0) / 2.
    a = run(seed=0, pr=([None, 1.0, 0.5, 0.4], [0.0, 0.25, 0.5, 1.0]))
    b = run(seed=1, pr=([float("nan"), None, 0.7, 0.6], [0.0, 0.0, 0.6, 1.0]))
    cell = cells_of(a, b)[("sdch", "synthetic", 32)]
    recall, precision = curves.pr_series(cell, "i2t")
    np.testing.assert_allclose(recall, [0.125, 0.55, 1.0])
    np.testing.assert_allclose(precision, [1.0, 0.6, 0.5])


def test_top_r_series_is_the_mean_over_runs_at_each_r():
    cell = cells_of(run(seed=0, ptop=[1.0, 0.8, 0.6]), run(seed=1, ptop=[0.5, 0.6, 0.7]))[("sdch", "synthetic", 32)]
    k, precision = curves.top_r_series(cell, "t2i")
    np.testing.assert_array_equal(k, [1, 50, 100])
    np.testing.assert_allclose(precision, [0.75, 0.7, 0.65])


def test_a_run_on_other_radii_is_left_out_with_a_warning():
    odd = run(seed=1, pr=([0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]))
    odd["curves"]["pr_i2t"]["radius"] = [0, 1, 2, 3, 4]
    cell = cells_of(run(seed=0), odd)[("sdch", "synthetic", 32)]
    with pytest.warns(UserWarning, match="other radius values"):
        recall, precision = curves.pr_series(cell, "i2t")
    np.testing.assert_allclose(precision, [0.9, 0.8, 0.6, 0.5])
    np.testing.assert_allclose(recall, [0.1, 0.3, 0.7, 1.0])


def test_runs_without_curves_give_empty_series():
    bare = run()
    del bare["curves"]
    cell = cells_of(bare)[("sdch", "synthetic", 32)]
    assert curves.pr_series(cell, "i2t")[0].size == 0
    assert curves.top_r_series(cell, "i2t")[0].size == 0


# ------------------------------------------------------------------------ figures


def test_pr_figure_plots_the_averaged_series_per_panel():
    a = run(seed=0, pr=([None, 1.0, 0.5, 0.4], [0.0, 0.25, 0.5, 1.0]))
    b = run(seed=1, pr=([None, None, 0.7, 0.6], [0.0, 0.0, 0.6, 1.0]))
    fig = curves.build_pr_figure(cells_of(a, b), bits=32)
    for row in (0, 1):  # I→T on top, T→I below, both recorded alike here
        xy = panel_lines(fig, row, 0)["SDCH"]
        np.testing.assert_allclose(xy[:, 0], [0.125, 0.55, 1.0])
        np.testing.assert_allclose(xy[:, 1], [1.0, 0.6, 0.5])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Recall" and ax.get_ylabel() == "Precision"
    assert ax.get_xlim() == (0.0, 1.0) and ax.get_ylim()[0] == 0.0
    assert [a.get_title() for a in fig.axes] == ["Synthetic — Image→Text", "Synthetic — Text→Image"]
    assert "32 bits" in fig._suptitle.get_text() and "mean of 2 runs" in fig._suptitle.get_text()


def test_columns_follow_the_paper_dataset_order_and_only_the_asked_bits():
    cells = cells_of(run(dataset="synthetic"), run(dataset="nuswide"), run(dataset="iapr", bits=64))
    fig = curves.build_top_r_figure(cells, bits=32, source="results/x")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["NUS-WIDE — Image→Text", "Synthetic — Image→Text", "NUS-WIDE — Text→Image",
                      "Synthetic — Text→Image"]
    assert fig.axes[0].get_xlabel() == "Number of top retrieved\nsamples R"
    assert fig._suptitle.get_text().startswith("Precision@top-R, 32 bits\nresults/x")
    np.testing.assert_allclose(panel_lines(fig, 0, 1)["SDCH"], [[1, 0.9], [50, 0.8], [100, 0.7]])


def test_a_direction_without_curves_says_so():
    fig = curves.build_pr_figure(cells_of(run(directions=("i2t",))), bits=32)
    top, bottom = fig.axes
    assert len(top.get_lines()) == 1 and len(bottom.get_lines()) == 0
    assert [t.get_text() for t in bottom.texts] == ["no curves recorded"]


def legend_labels(fig):
    legend = fig.legends[0]
    return [t.get_text() for t in legend.get_texts()], legend._ncols


def test_one_legend_entry_per_method_in_method_order():
    methods = ["sdch", "dcmh", "rdcmh", "scm", "cmhn", "dspah"]  # scrambled on purpose
    fig = curves.build_pr_figure(cells_of(*[run(method=m) for m in methods]), bits=32)
    labels, ncol = legend_labels(fig)
    expected = [style.method_name(m) for m in style.METHOD_ORDER if m in methods]
    assert expected == ["SCM", "CMHN", "DSPAH", "RDCMH", "DCMH", "SDCH"]
    # matplotlib fills legend columns first; the entries are permuted so that rows read in order.
    assert labels == plotting.row_major(expected, ncol)
    assert len(fig.legends) == 1
    assert all(ax.get_legend() is None for ax in fig.axes)


def test_row_major_reads_left_to_right():
    assert plotting.row_major([0, 1, 2, 3, 4], 3) == [0, 3, 1, 4, 2]  # columns [0 3] [1 4] [2]
    assert plotting.row_major([0, 1, 2, 3, 4], 5) == [0, 1, 2, 3, 4]
    assert plotting.row_major([0, 1, 2, 3], 2) == [0, 2, 1, 3]


def test_a_method_keeps_its_colour_and_marker_in_figures_4_and_5():
    cells = cells_of(*[run(method=m) for m in ("sdch", "dcmh", "cmhn")])
    for build in (curves.build_pr_figure, curves.build_top_r_figure):
        fig = build(cells, bits=32)
        for ax in fig.axes:
            for line in ax.get_lines():
                method = {style.method_name(m): m for m in ("sdch", "dcmh", "cmhn")}[line.get_label()]
                assert line.get_color() == style.method_colour(method)
                assert line.get_marker() == style.method_marker(method)
        handles = fig.legends[0].legend_handles
        labels, _ = legend_labels(fig)
        colours = {label: h.get_color() for label, h in zip(labels, handles)}
        assert colours == {"SDCH": "#D55E00", "DCMH": "#0072B2", "CMHN": "#009E73"}


def test_figure_size_is_paper_scale():
    assert plotting.figure_size(3, 2)[0] == pytest.approx(7.0)
    assert plotting.figure_size(1, 2)[0] == pytest.approx(3.5)
    cells = cells_of(*[run(dataset=d) for d in ("nuswide", "mirflickr", "iapr")])
    fig = curves.build_pr_figure(cells, bits=32)
    assert fig.get_figwidth() == pytest.approx(7.0)
    assert min(t.get_fontsize() for ax in fig.axes for t in ax.get_xticklabels() + [ax.title, ax.xaxis.label]) >= 8


# ------------------------------------------------------------------------ files


def assert_png_and_pdf(paths, base):
    assert paths == [f"{base}.png", f"{base}.pdf"]
    with open(paths[0], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with open(paths[1], "rb") as f:
        assert f.read(5) == b"%PDF-"
    assert all(os.path.getsize(p) > 1000 for p in paths)
    # The temporary files of the atomic writes are gone.
    assert sorted(os.listdir(os.path.dirname(base))) == sorted(os.path.basename(p) for p in paths)


def test_draw_functions_write_png_and_pdf(tmp_path):
    cells = cells_of(run(method="sdch"), run(method="dcmh"))
    base4, base5 = str(tmp_path / "f4" / "fig4"), str(tmp_path / "f5" / "fig5")
    assert_png_and_pdf(curves.draw_pr_curves(cells, base4, bits=32), base4)
    assert_png_and_pdf(curves.draw_top_r_curves(cells, base5, bits=32), base5)


def test_nothing_at_the_asked_bits_skips_the_figure(tmp_path, capsys):
    cells = cells_of(run(bits=16))
    assert curves.draw_pr_curves(cells, str(tmp_path / "fig4"), bits=32) == []
    assert "no run at 32 bits" in capsys.readouterr().out
    assert os.listdir(tmp_path) == []


def test_cli_draws_both_figures_from_a_result_set(tmp_path, capsys):
    for r in (run(seed=0), run(seed=1, method="cmhn")):
        directory = tmp_path / "set" / "runs" / r["run_id"]
        directory.mkdir(parents=True)
        (directory / "result.json").write_text(json.dumps(r))
    assert curves.main(["--results", str(tmp_path / "set"), "--out", str(tmp_path / "out")]) == 0
    assert sorted(os.listdir(tmp_path / "out")) == [
        "fig4_precision_recall_32bits.pdf", "fig4_precision_recall_32bits.png",
        "fig5_precision_top_r_32bits.pdf", "fig5_precision_top_r_32bits.png"]
    assert curves.main(["--results", str(tmp_path / "missing")]) == 2


def test_every_method_of_the_tables_has_its_own_colour_and_marker():
    # SDCH Tables 2–3's twelve rows plus CMHN, DSPAH and RDCMH: no two share a colour or a marker.
    assert len(style.METHOD_ORDER) == 15
    assert set(style.METHOD_COLOURS) == set(style.METHOD_ORDER) == set(style.METHOD_MARKERS)
    assert len(set(style.METHOD_COLOURS.values())) == 15
    assert len(set(style.METHOD_MARKERS.values())) == 15
