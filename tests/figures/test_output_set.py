"""The figures' outputs change as one set: a part that fails after others were rendered leaves every file
of the output directory as it was (nothing new, nothing half-replaced, no staging directory left)."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest

from sdch_tf.figures import curves, draw, plotting, retrievals, sensitivity, table_render, tables
from tests.figures.result_sets import fake_experiment, full_run, snapshot, write_result_set, write_run
from tests.figures.test_sensitivity import sweep_run, write_sweep

PAPER = str(Path(__file__).resolve().parents[2] / "results" / "paper")


class Broken(RuntimeError):
    pass


def fail_top_r(monkeypatch):
    """Figure 5 fails (after the tables and Figure 4 were rendered)."""
    def broken(*args, **kwargs):
        raise Broken("Figure 5 broke")
    monkeypatch.setattr(curves, "draw_top_r_curves", broken)


def fail_table4(monkeypatch):
    """The LaTeX of Table 4 fails (after Tables 2 and 3 were rendered)."""
    latex = table_render.latex

    def broken(table):
        if table.name == "table4":
            raise Broken("Table 4 broke")
        return latex(table)
    monkeypatch.setattr(table_render, "latex", broken)


def fail_pdf(monkeypatch):
    """A figure's PDF fails (after its PNG was rendered)."""
    write = plotting.atomic_write

    def broken(path, writer):
        if str(path).endswith(".pdf"):
            raise Broken(f"{path} broke")
        return write(path, writer)
    monkeypatch.setattr(plotting, "atomic_write", broken)


# (CLI, output directory below tmp_path, extra arguments, failure)
PARTS = {
    "all": (draw.main, "out", ["--paper", PAPER], fail_top_r),
    "tables": (tables.main, "out/tables", ["--paper", PAPER], fail_table4),
    "curves": (curves.main, "out/figures", [], fail_top_r),
    "sensitivity": (sensitivity.main, "out/figures", [], fail_pdf),
    "retrievals": (retrievals.main, "out/figures", [], fail_pdf),
}


def change_results(res):
    """More runs, so that every table and figure drawn next differs from the earlier set."""
    write_run(res, full_run("dcmh", 32, 1, 0.9, 0.8, retrievals=True))
    write_sweep(str(res), "beta1", [sweep_run("beta1", 2.0, 0, 0.3, 0.4)])


@pytest.mark.parametrize("part", PARTS)
def test_a_failing_part_leaves_the_output_directory_as_it_was(tmp_path, monkeypatch, capsys, part):
    main, out_name, extra, fail = PARTS[part]
    fake_experiment(monkeypatch)
    res, out = tmp_path / "res", tmp_path / out_name
    write_result_set(res)
    args = ["--results", str(res), "--out", str(out), *extra]

    def fails_changing_nothing():
        before = snapshot(tmp_path)
        with monkeypatch.context() as m:
            fail(m)
            with pytest.raises(Broken):
                main(args)
        assert snapshot(tmp_path) == before

    # An empty output directory stays empty; a missing one is not created.
    for existed in (True, False):
        if existed:
            out.mkdir(parents=True)
        fails_changing_nothing()
        if existed:
            out.rmdir()

    # An earlier complete set stays as it was, byte for byte.
    out.mkdir(parents=True)
    assert main(args) == 0
    earlier = snapshot(out)
    assert len(earlier) >= 2
    change_results(res)
    fails_changing_nothing()
    assert snapshot(out) == earlier

    # Without the failure the new set replaces the earlier one, and no staging directory is left.
    assert main(args) == 0
    now = snapshot(out)
    assert sorted(now) == sorted(earlier) and now != earlier
    assert [n for n in os.listdir(tmp_path / "out") if n.startswith(".")] == []
    assert [n for n in os.listdir(res) if n.startswith(".")] == []


def test_draw_all_into_the_result_set_itself_changes_nothing_on_failure(tmp_path, monkeypatch):
    fake_experiment(monkeypatch)
    write_result_set(tmp_path)
    rendered = []
    save_tables = tables.save_tables

    def spy(built, out_dir):
        written = save_tables(built, out_dir)
        rendered.extend(written)
        return written
    monkeypatch.setattr(tables, "save_tables", spy)
    fail_top_r(monkeypatch)
    before = snapshot(tmp_path)
    with pytest.raises(Broken):
        draw.draw_all(str(tmp_path), PAPER, verbose=False)
    assert len(rendered) == 6          # the tables had been rendered (into the staging directory)
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "tables").exists()


def test_draw_all_returns_the_final_paths(tmp_path, monkeypatch):
    fake_experiment(monkeypatch)
    write_result_set(tmp_path)
    written = draw.draw_all(str(tmp_path), PAPER, verbose=False)
    assert all(os.path.isfile(p) for p in written)
    assert sorted(os.path.relpath(p, tmp_path) for p in written) == sorted(
        [f"tables/table{i}.{e}" for i in (2, 3, 4) for e in ("md", "tex")]
        + [f"figures/{draw.FIGURE_FILES[k].format(bits=b)}.{e}" for k, b in
           (("pr", 32), ("top_r", 32), ("retrievals", 32), ("sensitivity", 64)) for e in ("png", "pdf")])
