"""Matplotlib at the SDCH paper's scale: figure sizes, fonts, the shared legend, atomic PNG+PDF saving.

Only what the figures (3–6) share. Figures are built on ``matplotlib.figure.Figure`` directly,
not through pyplot, so drawing needs no GUI backend and leaves no global figure state behind.
"""
from __future__ import annotations

import os

import matplotlib
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sdch_tf.atomic import atomic_write

# Elsevier's full text width is ~7 in (SDCH Figs. 4–5 span it with three panels); a single
# column is ~3.5 in, the narrowest a two-row figure with a legend stays readable at.
TEXT_WIDTH_IN = 7.0
COLUMN_WIDTH_IN = 3.5
PANEL_WIDTH_IN = TEXT_WIDTH_IN / 3
PANEL_HEIGHT_IN = 2.0
# Suptitle and the legend strip below the panels.
TITLE_HEIGHT_IN = 0.35
LEGEND_ROW_HEIGHT_IN = 0.25
DPI = 300
FONT_PT = 8

PAPER_RC = {
    "font.size": FONT_PT, "axes.titlesize": FONT_PT, "axes.labelsize": FONT_PT,
    "xtick.labelsize": FONT_PT, "ytick.labelsize": FONT_PT, "legend.fontsize": FONT_PT,
    "figure.titlesize": FONT_PT + 1, "lines.linewidth": 1.2, "lines.markersize": 3.5,
    "axes.linewidth": 0.6, "grid.linewidth": 0.4, "grid.alpha": 0.5,
    "xtick.major.width": 0.6, "ytick.major.width": 0.6,
    # TrueType in the PDF so that the text stays text (searchable, editable).
    "pdf.fonttype": 42, "savefig.dpi": DPI,
}


def paper_style():
    """Context manager for the rcParams above; wrap the whole construction of a figure in it
    (fonts are read when an artist is created)."""
    return matplotlib.rc_context(PAPER_RC)


def figure_size(ncols: int, nrows: int, legend_rows: int = 1) -> tuple[float, float]:
    """(width, height) in inches: 7 in for three panel columns, never narrower than one column."""
    width = min(max(ncols * PANEL_WIDTH_IN, COLUMN_WIDTH_IN), 1.4 * TEXT_WIDTH_IN)
    height = nrows * PANEL_HEIGHT_IN + TITLE_HEIGHT_IN + legend_rows * LEGEND_ROW_HEIGHT_IN
    return width, height


def new_figure(nrows: int, ncols: int, legend_rows: int = 1) -> tuple[Figure, list[list]]:
    """A constrained-layout figure and its axes as a nrows × ncols nested list."""
    fig = Figure(figsize=figure_size(ncols, nrows, legend_rows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, [list(row) for row in axes]


def legend_columns(n_entries: int, width_in: float) -> int:
    """Entries per legend row that fit ``width_in`` at 8 pt (about 1.15 in per entry)."""
    return max(1, min(n_entries, int(width_in / 1.15)))


def row_major(items: list, ncol: int) -> list:
    """``items`` permuted so that matplotlib's column-by-column legend filling (columns of
    ``np.array_split`` sizes) reads left to right, row by row, in the given order."""
    n = len(items)
    rows = -(-n // ncol)
    return [items[r * ncol + c] for c in range(ncol) for r in range(rows) if r * ncol + c < n]


def shared_legend(fig: Figure, handles: list, labels: list[str]):
    """One legend for the whole figure, centred below the panels so it covers no curve; entries
    read left to right in the order given (the legend order of ``style.METHOD_ORDER``)."""
    ncol = legend_columns(len(labels), fig.get_figwidth())
    return fig.legend(row_major(handles, ncol), row_major(labels, ncol), loc="outside lower center", ncol=ncol,
                      frameon=False, handlelength=2.0, columnspacing=1.2)


def legend_rows(n_entries: int, width_in: float) -> int:
    ncol = legend_columns(n_entries, width_in)
    return -(-n_entries // ncol)


def line_handle(colour: str, marker: str, linestyle: str = "-") -> Line2D:
    """A legend proxy, so a legend entry does not depend on which panel drew the line."""
    return Line2D([], [], color=colour, marker=marker, linestyle=linestyle)


def empty_panel(ax, message: str):
    """A panel with nothing recorded: the message in the middle instead of blank axes."""
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color="0.35", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def save_figure(fig: Figure, path_without_suffix: str) -> list[str]:
    """Write ``<path>.png`` (300 dpi) and ``<path>.pdf``, each atomically (temporary file beside it,
    then ``os.replace``); creates the directory. Returns the two paths."""
    written = []
    for fmt in ("png", "pdf"):
        path = f"{path_without_suffix}.{fmt}"
        atomic_write(path, lambda f, fmt=fmt: fig.savefig(f, format=fmt, dpi=DPI))
        written.append(os.fspath(path))
    return written
