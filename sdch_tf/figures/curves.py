"""SDCH Figures 4 and 5 from recorded runs: precision–recall by Hamming radius and precision@top-R.

    python -m sdch_tf.figures.curves --results results/cpu-synthetic [--out DIR] [--bits 32]

Layout as in SDCH §4.3, Figs. 4–5 (code length 32): one column per dataset, Image→Text on the
top row, Text→Image on the bottom row, one line per method. Each line is the mean over the
runs (seeds) of a ``collect.Cell``; the curves are the ones each run recorded in
``result["curves"]`` (``sdch_tf.retrieval.metrics``: ``pr_<dir>`` by radius d = 0..r, Eq. 11–12;
``ptop_<dir>`` at R = 1, 50, ..., 1000).
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np
from matplotlib import ticker

from sdch_tf.cli import run_main
from sdch_tf.figures import collect, plotting, staging, style

DIRECTIONS = ("i2t", "t2i")


def _curve_runs(cell: collect.Cell, key: str, x_key: str) -> list[dict]:
    """The ``curves[key]`` of the runs that recorded it, all on the first one's x values (a run
    on other x values — say another code length's radii — is left out with a warning)."""
    curves = [r["curves"][key] for r in cell.runs if key in r.get("curves", {})]
    if not curves:
        return []
    x = curves[0][x_key]
    same = [c for c in curves if c[x_key] == x]
    if len(same) < len(curves):
        warnings.warn(f"{cell.method} {cell.dataset} {cell.bits} bits: {len(curves) - len(same)} runs recorded "
                      f"{key} at other {x_key} values; left out", stacklevel=3)
    return same


def _as_float(values) -> np.ndarray:
    # JSON stores the NaN of an undefined precision as null.
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def pr_series(cell: collect.Cell, direction: str) -> tuple[np.ndarray, np.ndarray]:
    """(recall, precision), float64 (points,): Fig. 4's line of one cell and direction.

    Per radius d, recall is the mean over runs and precision the mean over the runs that
    retrieved something within d: ``metrics.precision_recall_by_radius`` records precision as
    NaN (JSON null) where no pair lies within d, which is "undefined", not 0, so it must
    neither drag the mean down nor be drawn as a drop to 0. Radii with no defined precision
    in any run (or no defined recall) are left out. Empty arrays when no run has the curve.
    """
    curves = _curve_runs(cell, f"pr_{direction}", "radius")
    if not curves:
        return np.zeros(0), np.zeros(0)
    precision = np.stack([_as_float(c["precision"]) for c in curves])
    recall = np.stack([_as_float(c["recall"]) for c in curves])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: handled just below
        mean_precision = np.nanmean(precision, axis=0)
    mean_recall = recall.mean(axis=0)
    keep = np.isfinite(mean_precision) & np.isfinite(mean_recall)
    return mean_recall[keep], mean_precision[keep]


def top_r_series(cell: collect.Cell, direction: str) -> tuple[np.ndarray, np.ndarray]:
    """(R, precision@R), float64 (points,): Fig. 5's line, the mean over runs at each R."""
    curves = _curve_runs(cell, f"ptop_{direction}", "k")
    if not curves:
        return np.zeros(0), np.zeros(0)
    precision = np.stack([_as_float(c["precision"]) for c in curves]).mean(axis=0)
    k = np.asarray(curves[0]["k"], dtype=np.float64)
    keep = np.isfinite(precision)
    return k[keep], precision[keep]


def default_source(cells: dict) -> str:
    """What the title says the curves come from when no result-set name is given."""
    presets = sorted({str(r.get("preset")) for c in cells.values() for r in c.runs})
    return "preset " + ", ".join(presets) if presets else ""


def _seed_note(cells: list[collect.Cell]) -> str:
    counts = sorted({len(c.runs) for c in cells})
    runs = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    return f"mean of {runs} run{'s' if counts[-1] > 1 else ''} per line"


def _build(cells: dict, bits: int, series, what: str, source: str | None, configure):
    """Figure with datasets as columns and directions as rows, or None when nothing is recorded."""
    chosen = {k: c for k, c in cells.items() if k[2] == bits}
    lines = {}  # (dataset, direction, method) -> (x, y)
    for (method, dataset, _), cell in chosen.items():
        for direction in DIRECTIONS:
            x, y = series(cell, direction)
            if x.size:
                lines[(dataset, direction, method)] = (x, y)
    if not lines:
        return None
    datasets = style.ordered({d for d, _, _ in lines}, style.DATASET_ORDER)
    methods = style.ordered({m for _, _, m in lines}, style.METHOD_ORDER)
    used = [chosen[(m, d, bits)] for d, _, m in lines]
    source = default_source(chosen) if source is None else source

    with plotting.paper_style():
        width = plotting.figure_size(len(datasets), 2)[0]
        fig, axes = plotting.new_figure(2, len(datasets), plotting.legend_rows(len(methods), width))
        for col, dataset in enumerate(datasets):
            for row, direction in enumerate(DIRECTIONS):
                ax = axes[row][col]
                ax.set_title(f"{style.dataset_name(dataset)} — {style.DIRECTION_NAMES[direction]}")
                drawn = [m for m in methods if (dataset, direction, m) in lines]
                if not drawn:
                    plotting.empty_panel(ax, "no curves recorded")
                    continue
                for method in drawn:
                    x, y = lines[(dataset, direction, method)]
                    ax.plot(x, y, color=style.method_colour(method), marker=style.method_marker(method),
                            label=style.method_name(method))
                configure(ax)
        handles = [plotting.line_handle(style.method_colour(m), style.method_marker(m)) for m in methods]
        plotting.shared_legend(fig, handles, [style.method_name(m) for m in methods])
        fig.suptitle(f"{what}, {bits} bits\n{source} ({_seed_note(used)})")
    return fig


def _unit_ticks(axis):
    # "0, 0.2, ..., 1": the default 0.25 steps ("0.00 ... 1.00") crowd a 2-inch panel.
    axis.set_major_locator(ticker.MultipleLocator(0.2))
    axis.set_major_formatter(ticker.FormatStrFormatter("%g"))


def _configure_pr(ax):
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    _unit_ticks(ax.xaxis)
    _unit_ticks(ax.yaxis)
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    ax.grid(True)


def _configure_top_r(ax):
    ax.set_xlim(left=0)
    # Two lines: on one, the label is wider than a third of the 7-in text width.
    ax.set_xlabel("Number of top retrieved\nsamples R")
    ax.set_ylabel("Precision")
    ax.grid(True)


def build_pr_figure(cells: dict, bits: int = 32, source: str | None = None):
    """Figure 4 (a matplotlib Figure), or None when no cell at ``bits`` recorded a P–R curve."""
    return _build(cells, bits, pr_series, "Precision–recall by Hamming radius", source, _configure_pr)


def build_top_r_figure(cells: dict, bits: int = 32, source: str | None = None):
    """Figure 5 (a matplotlib Figure), or None when no cell at ``bits`` recorded precision@top-R."""
    return _build(cells, bits, top_r_series, "Precision@top-R", source, _configure_top_r)


def _save(fig, out_base: str, name: str, bits: int) -> list[str]:
    if fig is None:
        print(f"{name}: no run at {bits} bits recorded these curves; figure skipped")
        return []
    return plotting.save_figure(fig, out_base)


def draw_pr_curves(cells: dict, out_base: str, bits: int = 32, source: str | None = None) -> list[str]:
    """Figure 4 to ``out_base``.png/.pdf from ``collect.group_cells`` output; the files written
    ([] with a printed message when nothing at ``bits`` has the curves)."""
    return _save(build_pr_figure(cells, bits, source), out_base, "Figure 4", bits)


def draw_top_r_curves(cells: dict, out_base: str, bits: int = 32, source: str | None = None) -> list[str]:
    """Figure 5 to ``out_base``.png/.pdf; the files written ([] when nothing at ``bits``)."""
    return _save(build_top_r_figure(cells, bits, source), out_base, "Figure 5", bits)


def main(argv=None) -> int:
    """The CLI; bad input, a file-system error or Ctrl-C end as one line and an exit status
    (``sdch_tf.cli.run_main``)."""
    return run_main(_main, argv)


def _main(argv=None) -> int:

    p = argparse.ArgumentParser(prog="python -m sdch_tf.figures.curves", description=__doc__.split("\n\n")[0])
    p.add_argument("--results", required=True, help="a result set (holding runs/*/result.json)")
    p.add_argument("--out", default=None, help="directory for the figures (default: <results>/figures)")
    p.add_argument("--bits", type=int, default=32, help="code length (SDCH Figs. 4–5: 32)")
    p.add_argument("--preset", default=None, help="only runs of this preset")
    args = p.parse_args(argv)
    cells = collect.group_cells(collect.load_runs(args.results), preset=args.preset)
    source = os.path.normpath(args.results)

    def render(stage):
        # Figures 4 and 5 change together: both are rendered before either replaces an older one.
        written = draw_pr_curves(cells, os.path.join(stage, style.FIGURE_FILES["pr"].format(bits=args.bits)), args.bits,
                                 source)
        return written + draw_top_r_curves(cells, os.path.join(stage, style.FIGURE_FILES["top_r"].format(bits=args.bits)),
                                           args.bits, source)

    for path in staging.write_set(args.out or os.path.join(args.results, "figures"), render):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
