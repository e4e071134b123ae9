"""Redraw every table and figure a result set supports: ``python -m sdch_tf.figures``.

    python -m sdch_tf.figures --results results/cpu-synthetic

Reads ``<results>/runs`` (Tables 2–4, Figures 3–5) and ``<results>/sweeps`` (Figure 6), and the
papers' numbers in ``results/paper``; writes ``<results>/tables/`` and ``<results>/figures/``.
Nothing is trained: a table or figure whose runs are missing says so and the rest is drawn.
The files change together: if any table or figure fails, none of the output files changes.
"""
from __future__ import annotations

import argparse
import os

from sdch_tf.cli import run_main
from sdch_tf.figures import collect, curves, retrievals, sensitivity, staging, table_render, tables
from sdch_tf.figures.style import FIGURE_FILES



def draw_all(results_dir: str, paper_dir: str = os.path.join("results", "paper"), preset: str | None = None,
             out_dir: str | None = None, curve_bits: int = 32, sensitivity_bits: int = 64,
             data_dir: str | None = None, verbose: bool = True) -> list[str]:
    """Tables 2–4 and Figures 3–6 from ``results_dir``; returns the files written.
    With ``verbose`` the tables are also printed (plain text).

    The files change as one set (``staging.write_set``): everything is rendered first, and if any
    part fails nothing under ``out_dir`` changes."""
    out_dir = out_dir or results_dir
    # Grouped once for the tables and the curves (Figure 3 picks its own runs: pick_runs).
    cells = collect.load_cells(results_dir, preset)
    built = tables.tables_from_cells(cells, paper_dir, results_dir)
    if verbose:
        for table in built:
            print(table_render.plain(table) + "\n")

    def render(stage):
        figures_dir = os.path.join(stage, "figures")

        def base(kind, bits):
            return os.path.join(figures_dir, FIGURE_FILES[kind].format(bits=bits))

        written = tables.save_tables(built, os.path.join(stage, "tables"))
        written += curves.draw_pr_curves(cells, base("pr", curve_bits), bits=curve_bits, source=results_dir)
        written += curves.draw_top_r_curves(cells, base("top_r", curve_bits), bits=curve_bits, source=results_dir)
        written += sensitivity.draw_sensitivity(results_dir, base("sensitivity", sensitivity_bits),
                                                bits=sensitivity_bits)
        written += retrievals.draw_retrievals(results_dir, base("retrievals", curve_bits), bits=curve_bits,
                                              data_dir=data_dir)
        return written

    return staging.write_set(out_dir, render)


def main(argv=None) -> int:
    """The CLI; bad input, a file-system error or Ctrl-C end as one line and an exit status
    (``sdch_tf.cli.run_main``)."""
    return run_main(_main, argv)


def _main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sdch_tf.figures", description=__doc__.split("\n\n")[0])
    p.add_argument("--results", required=True, help="a result set: the --out of train/reproduce/sweep")
    p.add_argument("--paper", default=os.path.join("results", "paper"), help="the papers' numbers")
    p.add_argument("--preset", default=None, help="only runs of this preset")
    p.add_argument("--out", default=None, help="where tables/ and figures/ go (default: the result set)")
    p.add_argument("--data-dir", default=None, help="dataset files for Figure 3's images and texts")
    args = p.parse_args(argv)
    written = draw_all(args.results, args.paper, args.preset, args.out, data_dir=args.data_dir)
    print("Written:")
    for path in written:
        print(f"  {path}")
    return 0
