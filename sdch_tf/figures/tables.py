"""SDCH Tables 2, 3 and 4 (§4.3) rebuilt from recorded runs, with the paper's value beside each of ours.

    python -m sdch_tf.figures.tables --results results/cpu-synthetic [--paper results/paper] [--out DIR]
        [--preset cpu] [--no-paper-datasets] [--paper-rows] [--top-k K|all]

Table 2 / 3: mAP@top_k Image→Text (``map_i2t``) / Text→Image (``map_t2i``), or with ``--top-k all`` the
MAP over the whole database (``map_all_i2t`` / ``map_all_t2i``); rows are methods, columns
dataset × code length; mean ± std over the seeds, and a paired t-test over seeds for the best of each
column (``paired_lead``). Table 4: running time per (method, dataset): epochs, training seconds, hash time
per image / text in ms, device. A table is first built as data (``Table``: label columns, value columns,
``Entry`` cells holding mean/std/n/paper value/best flag), then rendered by ``table_render`` to
Markdown, LaTeX or plain text. Nothing is trained: only ``<results>/runs/*/result.json`` is read.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from sdch_tf.atomic import atomic_write_text
from sdch_tf.cli import parse_top_k, run_main
from sdch_tf.figures import collect, staging, style, table_render
from sdch_tf.figures.paper_numbers import PaperTable, load_paper_tables, paper_value
from sdch_tf.input_errors import InputError
from sdch_tf.run import results

DIGITS = 3  # mAP as printed in SDCH Tables 2–3
TIMING_DIGITS = {"train_seconds": 0, "encode_ms_per_image": 3, "encode_ms_per_text": 3}
# Our timing key → the paper's Table 4 key.
TIMING_PAPER_KEYS = {"train_seconds": "train_seconds", "encode_ms_per_image": "hash_ms_image",
                     "encode_ms_per_text": "hash_ms_text"}
SCORE_TABLES = {"table2": ("sdch-table2", "map_i2t", "i2t"), "table3": ("sdch-table3", "map_t2i", "t2i")}
# The two-sided level of the paired t-test that marks a column's best as ahead of every other method.
SIGNIFICANCE = 0.05
SIGNIFICANT_MARK = "†"


@dataclass(frozen=True)
class Entry:
    """One value cell. ``mean`` None: we have no run (printed "no run"); ``std`` None: no spread is printed
    (one run, or a value that is the same in every run); ``text`` replaces the number (e.g. a device name).
    ``paper`` is the paper's value (number or text) or None; ``paper_shown`` says whether a paper column
    exists for this cell at all (then a missing value prints "—"). ``mark_n``: print ``n`` beside the value
    because it differs from the table's usual number of runs."""
    mean: float | None = None
    std: float | None = None
    n: int = 0
    paper: float | str | None = None
    paper_shown: bool = False
    best: bool = False
    digits: int = DIGITS
    paper_digits: int = DIGITS
    text: str | None = None
    mark_n: bool = False
    significant: bool = False  # the best of its column, ahead of every other by a paired test over seeds


@dataclass(frozen=True)
class Row:
    labels: tuple[str, ...]   # one per ``Table.stub`` column
    entries: tuple[Entry, ...]  # one per ``Table.columns``


@dataclass(frozen=True)
class Table:
    """``groups``: (name, span) headers over consecutive value columns (e.g. dataset over its code lengths),
    empty for a one-level header. ``notes``: caption lines."""
    name: str                      # file stem, e.g. "table2"
    title: str
    stub: tuple[str, ...]          # headers of the label columns
    groups: tuple[tuple[str, int], ...]
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    notes: tuple[str, ...]


def _cells_info(cells: dict) -> tuple[list[dict], str]:
    """All runs behind ``cells`` and a caption line naming presets, devices and the number of runs."""
    runs = [r for cell in cells.values() for r in cell.runs]
    presets = sorted({str(r.get("preset")) for r in runs})
    devices = sorted({r.get("timing", {}).get("device", "unknown") for r in runs})
    return runs, f"preset(s): {', '.join(presets)}; device(s): {'; '.join(devices)}; {len(runs)} runs"


def _paper_datasets(paper: PaperTable | None) -> list[str]:
    return [] if paper is None else list(dict.fromkeys(c["dataset"] for c in paper.cells))


def _n_note(entries: list[Entry]) -> tuple[int | None, str]:
    """The usual number of runs per filled cell (most common; ties → the larger) and a caption line."""
    counts = Counter(e.n for e in entries if e.mean is not None)
    if not counts:
        return None, "We have no runs for this table."
    common = max(counts, key=lambda n: (counts[n], n))
    line = (f"Ours: mean ± population std over {common} runs (seeds) per cell" if common > 1
            else "Ours: one run (seed) per cell, so no ±")
    if len(counts) > 1:
        line += "; n=k marks a cell of k runs instead (mean ± population std when k > 1)"
    return common, line + "."


def score_table(cells: dict, metric: str, paper: PaperTable | None = None, *, name: str = "table2",
                title: str = "", source: str = "", paper_datasets: bool = True,
                paper_rows: bool = False) -> Table:
    """SDCH Table 2 (``metric="map_i2t"``) or Table 3 (``"map_t2i"``) from ``cells`` (collect.group_cells).

    Rows: the methods we ran, in style.METHOD_ORDER (others last), preceded (``paper_rows``) by the methods
    only the paper reports, in its order. Columns: our datasets plus (``paper_datasets``) the paper's, in
    style.DATASET_ORDER, each × the union of our and the paper's code lengths for it. Bold: the best of our
    means per column, compared as printed (3 decimals), so printed ties are all bold."""
    methods = style.ordered({m for m, _, _ in cells}, style.METHOD_ORDER)
    datasets = {d for _, d, _ in cells} | (set(_paper_datasets(paper)) if paper_datasets else set())
    datasets = style.ordered(datasets, style.DATASET_ORDER)
    paper_cells = [c for c in paper.cells if "value" in c] if paper is not None else []
    columns = [(d, b) for d in datasets
               for b in sorted({b for _, dd, b in cells if dd == d} | {c["bits"] for c in paper_cells
                                                                        if c["dataset"] == d})]
    paper_covers = {c["dataset"] for c in paper_cells}

    def paper_of(label, dataset, bits):
        return paper_value(paper, label, dataset, bits) if paper is not None else None

    grid = []  # (label, is ours, [Entry]); n marks and bold need every cell, so they come after
    if paper_rows and any(d in paper_covers for d, _ in columns):  # else such a row is all "no run"
        ours_names = {style.method_name(m) for m in methods}
        for label in dict.fromkeys(c["method"] for c in paper_cells):
            if label not in ours_names:
                grid.append((label, False, [Entry(paper=paper_of(label, d, b), paper_shown=d in paper_covers)
                                            for d, b in columns]))
    for method in methods:
        row = []
        label = style.method_name(method)
        for d, b in columns:
            mean, std, n = cells[(method, d, b)].mean_std(metric) if (method, d, b) in cells else (0, 0, 0)
            row.append(Entry(mean=mean if n else None, std=std if n > 1 else None, n=n,
                             paper=paper_of(label, d, b), paper_shown=d in paper_covers))
        grid.append((label, True, row))

    common, n_line = _n_note([e for _, _, row in grid for e in row])
    best, lead = [], []
    for j, (d, b) in enumerate(columns):
        printed = [round(row[j].mean, DIGITS) for _, is_ours, row in grid if is_ours and row[j].mean is not None]
        best.append(max(printed) if printed else None)
        ranked = sorted((cells[(m, d, b)] for m in methods if (m, d, b) in cells and cells[(m, d, b)].values(metric).size),
                        key=lambda cell: -cell.values(metric).mean())
        lead.append(len(ranked) > 1 and paired_lead(ranked[0], ranked[1:], metric))
    rows = tuple(Row((label,), tuple(
        replace(e, best=is_ours and e.mean is not None and round(e.mean, DIGITS) == best[j],
                significant=is_ours and e.mean is not None and round(e.mean, DIGITS) == best[j] and lead[j],
                mark_n=e.mean is not None and e.n != common) for j, e in enumerate(row)))
        for label, is_ours, row in grid)

    groups = tuple((style.dataset_name(d), sum(1 for dd, _ in columns if dd == d)) for d in datasets)
    runs, info = _cells_info(cells)
    notes = [n_line, f"In parentheses: the paper's value (SDCH {paper.label}); "
             f"— where the paper does not report it." if paper is not None else "No paper values loaded.",
             "Bold: best of ours per column (printed ties all bold); the paper's own best is not bolded.",
             f"{SIGNIFICANT_MARK}: the best mean is above every other method's in its column by a paired t-test over "
             f"the seeds both ran (two-sided, p < {SIGNIFICANCE}); without {SIGNIFICANT_MARK} the lead is within "
             "the seed-to-seed spread.",
             f"Results: {source}; {info}."]
    label = metric_label(metric, runs)
    if paper is not None and paper.top_k is not None and label != f"mAP@{paper.top_k}":
        notes.append(f"Caution: ours are {label}, the paper's mAP@{paper.top_k}.")
    return Table(name=name, title=title, stub=("Method",), groups=groups,
                 columns=tuple(f"{b} bits" for _, b in columns), rows=rows, notes=tuple(notes))


def paired_lead(best, others, metric: str, level: float = SIGNIFICANCE) -> bool:
    """Whether ``best`` (a ``collect.Cell``) is ahead of every cell of ``others`` on ``metric`` by a
    two-sided paired t-test over the seeds both ran (runs with one seed share the split, the query
    set and the batch order, so they pair), at ``level``. False when a pair shares fewer than two
    seeds. A t-test rather than Wilcoxon's signed-rank test: over five seeds the latter's smallest
    two-sided p is 1/16, so it could never reach 0.05."""
    ours = best.by_seed(metric)
    for other in others:
        theirs = other.by_seed(metric)
        seeds = sorted(set(ours) & set(theirs))
        if len(seeds) < 2:
            return False
        a, b = np.array([ours[s] for s in seeds]), np.array([theirs[s] for s in seeds])
        if not a.mean() > b.mean():
            return False
        diff = a - b
        if np.all(diff == diff[0]):  # no spread: the t statistic is undefined; equal gains every seed
            continue
        if stats.ttest_rel(a, b).pvalue >= level:
            return False
    return True


def metric_label(metric: str, runs) -> str:
    """"MAP" for the whole-database keys, else "mAP@K" with the runs' recorded K(s)."""
    if metric.startswith("map_all_"):
        return "MAP"
    cutoffs = {r.get("top_k", 500) for r in runs}
    return "/".join(results.metric_label(k) for k in sorted(cutoffs, key=lambda k: (k is None, k or 0)))


def metric_keys(cells: dict, top_k: str | int | None) -> tuple[tuple[str, str], str]:
    """The (I→T, T→I) result keys the score tables show, and their label.

    ``top_k`` None: what the runs recorded (``map_i2t``/``map_t2i``); "all": the whole-database MAP
    (``map_all_*``); an integer K: the recorded keys, which must be mAP@K in every run
    (``InputError`` naming a run that is not, and how to rescore it without retraining)."""
    runs = [r for cell in cells.values() for r in cell.runs]
    if top_k == "all":
        missing = [r["run_id"] for r in runs if "map_all_i2t" not in r or "map_all_t2i" not in r]
        if missing:
            raise InputError(f"{len(missing)} run(s) have no whole-database MAP (map_all_*), e.g. {missing[0]}: "
                             "they were recorded before it was; rerun them with --fresh, or leave out --top-k all")
        return ("map_all_i2t", "map_all_t2i"), "MAP"
    if top_k is not None:
        other = [r for r in runs if r.get("top_k", 500) != int(top_k)]
        if other:
            raise InputError(f"run {other[0]['run_id']} holds {metric_label('map_i2t', other[:1])}, not mAP@{top_k}: "
                             f"rerun its train command with --top-k {top_k} (it is rescored from its saved codes, "
                             "not retrained)")
    return ("map_i2t", "map_t2i"), metric_label("map_i2t", runs)


def _spread(values: list[float], digits: int) -> Entry:
    arr = np.asarray(values, dtype=np.float64)
    return Entry(mean=float(arr.mean()), std=float(arr.std()) if arr.size > 1 else None, n=int(arr.size),
                 digits=digits)


def timing_table(cells: dict, paper: PaperTable | None = None, *, name: str = "table4", title: str = "",
                 source: str = "", paper_datasets: bool = True) -> Table:
    """SDCH Table 4 (running time): one row per (method, dataset) we ran, SDCH first, plus (``paper_datasets``)
    SDCH on each dataset of the paper's table. Every number averages all runs of the row over the code
    lengths listed in its "Bits" column; epochs = length of a run's ``epochs`` log. The paper's SDCH values
    are beside ours, in parentheses."""
    timings = {c["dataset"]: c for c in paper.cells} if paper is not None else {}
    order = ("sdch",) + tuple(m for m in style.METHOD_ORDER if m != "sdch")
    pairs = {(m, d) for m, d, _ in cells} | ({("sdch", d) for d in timings} if paper_datasets else set())
    method_rank = {m: i for i, m in enumerate(style.ordered({m for m, _ in pairs}, order))}
    dataset_rank = {d: i for i, d in enumerate(style.ordered({d for _, d in pairs}, style.DATASET_ORDER))}
    pairs = sorted(pairs, key=lambda p: (method_rank[p[0]], dataset_rank[p[1]]))
    rows = []
    for method, dataset in pairs:
        keys = sorted(k for k in cells if k[:2] == (method, dataset))
        runs = [r for k in keys for r in cells[k].runs]
        ref = timings.get(dataset) if method == "sdch" else None
        entries = []
        epochs = [len(r["epochs"]) for r in runs if "epochs" in r]
        entries.append(_spread(epochs, 1) if len(set(epochs)) > 1
                       else Entry(mean=float(epochs[0]), n=len(epochs), digits=0) if epochs
                       else Entry(text="not recorded"))
        for key, digits in TIMING_DIGITS.items():
            values = [r["timing"][key] for r in runs if key in r.get("timing", {})]
            entries.append(_spread(values, digits) if values else Entry(text="not recorded"))
        devices = sorted({r.get("timing", {}).get("device", "unknown") for r in runs})
        entries.append(Entry(text="; ".join(devices)))
        if not runs:  # a paper-only row: its Runs column already says 0, a dash per cell is enough
            entries = [Entry(text="—") for _ in entries]
        paper_keys = ["epochs", *TIMING_PAPER_KEYS.values(), "device"]
        entries = [replace(e, paper=None if ref is None else ref[k], paper_shown=ref is not None, paper_digits=0)
                   for e, k in zip(entries, paper_keys)]
        bits = ", ".join(str(k[2]) for k in keys) or "—"
        rows.append(Row((style.method_name(method), style.dataset_name(dataset), bits, str(len(runs))),
                        tuple(entries)))
    devices = sorted({c["device"] for c in timings.values()})
    _, info = _cells_info(cells)
    notes = ["Ours: mean ± population std over all runs of the row (every code length in its Bits column); "
             "a single run has no ±; hash time = encoding one sample to its code, in ms.",
             f"In parentheses: the paper's SDCH values (SDCH {paper.label}, on {'; '.join(devices)}; "
             "code length not stated)." if paper is not None else "No paper values loaded.",
             f"Results: {source}; {info}."]
    return Table(name=name, title=title, stub=("Method", "Dataset", "Bits", "Runs"), groups=(),
                 columns=("Epochs", "Training time (s)", "Hash time / image (ms)", "Hash time / text (ms)",
                          "Device"), rows=tuple(rows), notes=tuple(notes))


def build_tables(results_dir: str, paper_dir: str | None = os.path.join("results", "paper"),
                 preset: str | None = None, paper_datasets: bool = True,
                 paper_rows: bool = False, top_k: str | int | None = None) -> list[Table]:
    """Tables 2, 3 and 4 of the result set ``results_dir``. Raises FileNotFoundError when it holds no run
    (of ``preset``), or when ``paper_dir`` is given but missing; ``paper_dir=None``: no paper values.
    ``top_k``: see ``metric_keys``."""
    return tables_from_cells(collect.load_cells(results_dir, preset), paper_dir, results_dir, paper_datasets,
                             paper_rows, top_k)


def tables_from_cells(cells: dict, paper_dir: str | None, source: str, paper_datasets: bool = True,
                      paper_rows: bool = False, top_k: str | int | None = None) -> list[Table]:
    """Tables 2, 3 and 4 from ``collect.load_cells`` output; ``source`` names the result set in the notes."""
    if paper_dir is not None and not os.path.isdir(paper_dir):
        raise FileNotFoundError(f"no paper numbers at {paper_dir!r}")
    paper = load_paper_tables(paper_dir) if paper_dir is not None else {}
    keys, label = metric_keys(cells, top_k)
    tables = []
    for (name, (paper_id, _, direction)), metric in zip(SCORE_TABLES.items(), keys):
        title = f"Table {name[-1]} (SDCH §4.3): {label}, {style.DIRECTION_NAMES[direction]}"
        tables.append(score_table(cells, metric, paper.get(paper_id), name=name, title=title, source=source,
                                  paper_datasets=paper_datasets, paper_rows=paper_rows))
    tables.append(timing_table(cells, paper.get("sdch-table4"), name="table4", source=source,
                               title="Table 4 (SDCH §4.3): running time", paper_datasets=paper_datasets))
    return tables


def save_tables(tables: list[Table], out_dir: str) -> list[str]:
    """``<out_dir>/<name>.md`` and ``.tex`` for each table, each written atomically; returns the paths."""
    written = []
    for table in tables:
        for ext, render in (("md", table_render.markdown), ("tex", table_render.latex)):
            path = os.path.join(out_dir, f"{table.name}.{ext}")
            atomic_write_text(path, render(table))
            written.append(path)
    return written


def write_tables(results_dir: str, paper_dir: str | None = os.path.join("results", "paper"),
                 out_dir: str | None = None, preset: str | None = None, paper_datasets: bool = True,
                 paper_rows: bool = False) -> list[str]:
    """Build Tables 2–4 and write them to ``out_dir`` (default ``<results_dir>/tables``); returns the paths."""
    tables = build_tables(results_dir, paper_dir, preset, paper_datasets, paper_rows)
    return write_table_set(tables, out_dir or os.path.join(results_dir, "tables"))


def write_table_set(tables: list[Table], out_dir: str) -> list[str]:
    """``save_tables`` as one set (``staging.write_set``): if any file fails, none in ``out_dir`` changes."""
    return staging.write_set(out_dir, lambda stage: save_tables(tables, stage))


def main(argv=None) -> int:
    """The CLI; bad input, a file-system error or Ctrl-C end as one line and an exit status
    (``sdch_tf.cli.run_main``)."""
    return run_main(_main, argv)


def _main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sdch_tf.figures.tables", description=__doc__.split("\n\n")[0])
    p.add_argument("--results", required=True, help="a result set: the --out of train/reproduce")
    p.add_argument("--paper", default=os.path.join("results", "paper"), help="the papers' numbers")
    p.add_argument("--out", default=None, help="where the .md/.tex files go (default: <results>/tables)")
    p.add_argument("--preset", default=None, help="only runs of this preset")
    p.add_argument("--no-paper-datasets", action="store_true", help="only the datasets we ran")
    p.add_argument("--paper-rows", action="store_true", help="add the methods only the paper reports")
    p.add_argument("--top-k", type=parse_top_k, default=None, metavar="K|all",
                   help="'all': MAP over the whole database (map_all_*); K: check that the runs hold mAP@K "
                        "(default: what the runs recorded, mAP@500)")
    args = p.parse_args(argv)
    tables = build_tables(args.results, args.paper, args.preset, not args.no_paper_datasets, args.paper_rows,
                          args.top_k)
    for table in tables:
        print(table_render.plain(table), end="\n\n")
    written = write_table_set(tables, args.out or os.path.join(args.results, "tables"))
    print("Written:")
    for path in written:
        print(f"  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
