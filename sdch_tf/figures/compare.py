"""Compare result sets that differ in one choice (a variant study), seed by seed.

    python -m sdch_tf.figures.compare forward=results/study/forward recorded=results/study/recorded \
        [--method sdch] [--top-k all] [--epoch-log pair_hamming --at-epochs 2 4 10] [--out FILE.md]

For each code length, one row per result set: mAP I→T and T→I as mean ± population std over the seeds,
the paired difference to the first set (mean over the seeds both ran) with the two-sided p of a paired
t-test (``tables.paired_lead`` explains the choice of test), optional epoch-log values at given epochs
(mean over seeds), and the mean seconds per epoch. Nothing is trained: only result.json files are read.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from scipy import stats

from sdch_tf.atomic import atomic_write_text
from sdch_tf.cli import parse_top_k, run_main
from sdch_tf.figures import collect
from sdch_tf.input_errors import InputError


def parse_set(text: str) -> tuple[str, str]:
    """``LABEL=DIR`` (or ``DIR``, labelled by its last path component)."""
    label, sep, path = text.partition("=")
    if not sep:
        path, label = text, os.path.basename(os.path.normpath(text))
    if not label or not path:
        raise argparse.ArgumentTypeError(f"{text!r}: expected LABEL=DIR")
    return label, path


def paired(reference: dict[int, float], other: dict[int, float]) -> tuple[float, float | None, int]:
    """(mean of other − reference over the common seeds, two-sided paired t-test p, number of common
    seeds); p is None with fewer than two common seeds or no spread in the differences."""
    seeds = sorted(set(reference) & set(other))
    if not seeds:
        return float("nan"), None, 0
    a, b = np.array([reference[s] for s in seeds]), np.array([other[s] for s in seeds])
    diff = b - a
    if len(seeds) < 2 or np.all(diff == diff[0]):
        return float(diff.mean()), None, len(seeds)
    return float(diff.mean()), float(stats.ttest_rel(b, a).pvalue), len(seeds)


def epoch_value(run: dict, key: str, epoch: int) -> float | None:
    """``key`` of the 1-based ``epoch`` in the run's epoch log, or None when it is not recorded."""
    for record in run.get("epochs", []):
        if record.get("epoch") == epoch and key in record:
            return float(record[key])
    return None


def compare(sets: list[tuple[str, list[dict]]], method: str, keys: tuple[str, str], epoch_keys=(),
            at_epochs=()) -> str:
    """A Markdown report of ``sets`` (label, runs); ``keys``: the (I→T, T→I) result keys."""
    by_set = [(label, collect.group_cells(runs)) for label, runs in sets]
    bits = sorted({b for _, cells in by_set for (m, _, b) in cells if m == method})
    if not bits:
        raise InputError(f"no run of --method {method} in the result sets given")
    header = ["set", "runs", "I→T", "T→I", "ΔI→T (p)", "ΔT→I (p)"]
    header += [f"{k} @ep{e}" for k in epoch_keys for e in at_epochs] + ["s / epoch"]
    lines = []
    for b in bits:
        lines += ["", f"**{method}, {b} bits** (Δ: paired over the seeds both ran, against {by_set[0][0]})", "",
                  "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        reference = _cell(by_set[0][1], method, b)
        for label, cells in by_set:
            cell = _cell(cells, method, b)
            if cell is None:
                lines.append(f"| {label} | 0 |" + " no run |" * (len(header) - 2))
                continue
            row = [label, str(len(cell.runs))]
            for key in keys:
                values = cell.values(key)
                row.append(f"{values.mean():.4f} ± {values.std():.4f}")
            for key in keys:
                if reference is None or cell is reference:
                    row.append("—")
                    continue
                delta, p, n = paired(reference.by_seed(key), cell.by_seed(key))
                row.append(f"{delta:+.4f} ({'n/a' if p is None else f'{p:.3f}'}, n={n})")
            for key in epoch_keys:
                for e in at_epochs:
                    values = [v for v in (epoch_value(r, key, e) for r in cell.runs) if v is not None]
                    row.append(f"{np.mean(values):.2f}" if values else "—")
            seconds = [rec["seconds"] for r in cell.runs for rec in r.get("epochs", []) if "seconds" in rec]
            row.append(f"{np.mean(seconds):.2f}" if seconds else "—")
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines).lstrip("\n") + "\n"


def _cell(cells: dict, method: str, bits: int):
    found = [c for (m, _, b), c in cells.items() if m == method and b == bits]
    return found[0] if found else None


def main(argv=None) -> int:
    """The CLI; bad input ends as one ``error:`` line (``sdch_tf.cli.run_main``)."""
    return run_main(_main, argv)


def _main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sdch_tf.figures.compare", description=__doc__.split("\n\n")[0])
    p.add_argument("sets", nargs="+", type=parse_set, metavar="LABEL=DIR", help="result sets; the first is the reference")
    p.add_argument("--method", default="sdch")
    p.add_argument("--top-k", type=parse_top_k, default=None, metavar="all",
                   help="'all': the whole-database MAP (map_all_*) instead of the recorded mAP@K")
    p.add_argument("--epoch-log", nargs="*", default=[], help="epoch-log keys to show (e.g. pair_hamming)")
    p.add_argument("--at-epochs", nargs="*", type=int, default=[], help="1-based epochs for --epoch-log")
    p.add_argument("--out", default=None, help="also write the report to this Markdown file")
    args = p.parse_args(argv)
    if args.top_k not in (None, "all"):
        raise InputError("--top-k: only 'all' applies here (the runs hold mAP at the cut-off they were run with)")
    keys = ("map_all_i2t", "map_all_t2i") if args.top_k == "all" else ("map_i2t", "map_t2i")
    report = compare([(label, collect.load_runs(path)) for label, path in args.sets], args.method, keys,
                     tuple(args.epoch_log), tuple(args.at_epochs))
    print(report, end="")
    if args.out:
        atomic_write_text(args.out, report)
        print(f"Written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
