"""SDCH Figure 6 from recorded sweeps: mAP@500 at 64 bits against γ and against β1, β2, β3.

    python -m sdch_tf.figures.sensitivity --results results/cpu-synthetic [--out DIR] [--bits 64]

SDCH §4.4: (a) γ ∈ [0.001, 2] with β = (1, 1, 0.1), on every dataset; (b) each β_i ∈ (0.01, 20)
with the others fixed, on MIR-FLICKR. ``python -m sdch_tf.sweep`` records the runs of one swept
parameter in ``<results>/sweeps/<param>/runs/*/result.json``; the swept value of a run is
``result["config"][param]``. Layout: Image→Text on the top row, Text→Image on the bottom row
(as Figs. 4–5); column (a) has one line per dataset, then one (b) column per dataset with a
line per β_i. Each point is the mean over seeds, with the (population) std as error bar when
there are several seeds; a dotted vertical line marks the paper's value (§4.2).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import warnings

import numpy as np

from sdch_tf.cli import run_main
from sdch_tf.figures import collect, plotting, staging, style
from sdch_tf.run import results
from sdch_tf.run.sweeps import PAPER_VALUES, PARAMS, SWEEP_BITS, sweep_dir

DIRECTIONS = ("i2t", "t2i")
BETAS = ("beta1", "beta2", "beta3")
PARAM_LABELS = {"gamma": r"$\gamma$", "beta1": r"$\beta_1$", "beta2": r"$\beta_2$", "beta3": r"$\beta_3$"}
# Figure 6 only: datasets in (a), β_i in (b). Okabe–Ito like style.py, chosen per figure part.
DATASET_COLOURS = {"nuswide": "#0072B2", "mirflickr": "#D55E00", "iapr": "#009E73", "nuswide-tc10": "#CC79A7",
                   "coco": "#F0E442", "synthetic": "#000000"}
DATASET_MARKERS = {"nuswide": "s", "mirflickr": "o", "iapr": "^", "nuswide-tc10": "D", "coco": "P", "synthetic": "o"}
# β_i get colours and markers no dataset uses, since both share the one legend.
BETA_COLOURS = {"beta1": "#E69F00", "beta2": "#56B4E9", "beta3": "#882255"}
BETA_MARKERS = {"beta1": "v", "beta2": "D", "beta3": "X"}
NO_SWEEP = "no sweep recorded"


def default_value(param: str) -> float:
    """The paper's value of ``param`` (SDCH §4.2)."""
    return float(PAPER_VALUES[param])


@dataclasses.dataclass(frozen=True)
class SweepSeries:
    """One swept parameter on one dataset: values ascending, mAP mean/std over seeds per value."""

    param: str
    dataset: str
    values: np.ndarray          # float64 (V,), ascending
    runs: np.ndarray            # int (V,): seeds averaged at each value
    mean: dict                  # direction -> float64 (V,)
    std: dict                   # direction -> float64 (V,), population std (0 for one seed)
    top_k: int | None = 500     # R of the recorded mAP@R (SDCH §4.2: 500); None: the whole database


def _base_config(run: dict, param: str) -> str:
    """The configuration minus the swept parameter (and the code-length list), as a key."""
    config = {k: v for k, v in run["config"].items() if k not in (param, "bits")}
    return json.dumps(config, sort_keys=True)


def sweep_series(runs: list[dict], param: str, bits: int = SWEEP_BITS) -> dict[str, SweepSeries]:
    """{dataset: SweepSeries} from the runs of one sweep folder.

    Keeps SDCH runs at ``bits`` whose config holds ``param``. If a dataset's runs come from
    several base configurations (the config minus ``param`` differs, e.g. a rerun with other
    epochs in the same folder), the base with the most runs is used and the others are named
    in a warning, so a line never mixes experiments.
    """
    usable = [r for r in runs if r.get("method") == "sdch" and int(r.get("bits", -1)) == bits
              and param in r.get("config", {})]
    if len(usable) < len(runs):
        missing = sum(1 for r in runs if param not in r.get("config", {}))
        if missing:
            warnings.warn(f"sweep of {param}: {missing} runs have no config[{param!r}]; left out", stacklevel=2)
    by_dataset: dict[str, dict[str, list[dict]]] = {}
    for run in usable:
        by_dataset.setdefault(run["dataset"], {}).setdefault(_base_config(run, param), []).append(run)
    series = {}
    for dataset, by_base in sorted(by_dataset.items()):
        base = max(by_base, key=lambda b: (len(by_base[b]), b))
        if len(by_base) > 1:
            others = sum(len(r) for b, r in by_base.items() if b != base)
            warnings.warn(f"sweep of {param} on {dataset}, {bits} bits: runs of {len(by_base)} base configurations; "
                          f"using the one with {len(by_base[base])} runs, ignoring {others} other run(s)", stacklevel=2)
        by_value: dict[float, list[dict]] = {}
        for run in by_base[base]:
            by_value.setdefault(float(run["config"][param]), []).append(run)
        values = np.array(sorted(by_value), dtype=np.float64)
        maps = {d: [np.array([float(r[f"map_{d}"]) for r in by_value[v]]) for v in values] for d in DIRECTIONS}
        series[dataset] = SweepSeries(
            param, dataset, values, np.array([len(by_value[v]) for v in values]),
            mean={d: np.array([m.mean() for m in maps[d]]) for d in DIRECTIONS},
            std={d: np.array([m.std() for m in maps[d]]) for d in DIRECTIONS},
            top_k=by_base[base][0].get("top_k", 500))
    return series


def load_sweeps(results_dir: str, bits: int = SWEEP_BITS) -> dict[str, dict[str, SweepSeries]]:
    """{param: {dataset: SweepSeries}} for every parameter with a sweep folder holding usable runs.
    A corrupt run file raises InputError naming it (``collect.read_runs``)."""
    found = {}
    for param in PARAMS:
        series = sweep_series(collect.read_runs(sweep_dir(results_dir, param)), param, bits)
        if series:
            found[param] = series
    return found


def _map_label(sweeps: dict) -> str:
    top_k = {s.top_k for by_dataset in sweeps.values() for s in by_dataset.values()}
    return results.metric_label(top_k.pop()) if len(top_k) == 1 else "mAP@R"


def _log_x(ax, values):
    positive = values[values > 0]
    if positive.size == values.size:
        ax.set_xscale("log")
    else:  # a swept 0 (e.g. β3 = 0) has no place on a log axis
        ax.set_xscale("symlog", linthresh=float(positive.min()) if positive.size else 1e-3)


def _plot(ax, s: SweepSeries, direction: str, colour: str, marker: str):
    if (s.runs > 1).any():
        ax.errorbar(s.values, s.mean[direction], yerr=np.where(s.runs > 1, s.std[direction], 0.0),
                    color=colour, marker=marker, capsize=2, elinewidth=0.8)
    else:
        ax.plot(s.values, s.mean[direction], color=colour, marker=marker)


def _mark_defaults(ax, params):
    """Dotted vertical line at each distinct default value of ``params`` (the legend gives them)."""
    for x in sorted({default_value(p) for p in params}):
        ax.axvline(x, color="0.4", linestyle=":", linewidth=1.0, zorder=0)


def _defaults_text() -> str:
    betas = ", ".join(f"{default_value(p):g}" for p in BETAS)
    return f"$\\gamma$ = {default_value('gamma'):g}, $\\beta$ = ({betas})"


def build_sensitivity_figure(sweeps: dict, bits: int = SWEEP_BITS, source: str = ""):
    """Figure 6 from ``load_sweeps`` output, or None when no parameter has a recorded sweep."""
    if not sweeps:
        return None
    gamma = sweeps.get("gamma", {})
    beta_datasets = style.ordered({d for p in BETAS for d in sweeps.get(p, {})}, style.DATASET_ORDER)
    columns = [("gamma", None)] + [("beta", d) for d in beta_datasets or [None]]
    gamma_datasets = style.ordered(gamma, style.DATASET_ORDER)
    betas = [p for p in BETAS if p in sweeps]
    entries = [(style.dataset_name(d), DATASET_COLOURS.get(d, style.method_colour(d)), DATASET_MARKERS.get(d, "x"))
               for d in gamma_datasets]
    entries += [(PARAM_LABELS[p], BETA_COLOURS[p], BETA_MARKERS[p]) for p in betas]
    entries.append(("default (§4.2)", "0.4", ""))

    with plotting.paper_style():
        width = plotting.figure_size(len(columns), 2)[0]
        fig, axes = plotting.new_figure(2, len(columns), plotting.legend_rows(len(entries), width))
        for col, (kind, dataset) in enumerate(columns):
            for row, direction in enumerate(DIRECTIONS):
                ax = axes[row][col]
                arrow = style.DIRECTION_NAMES[direction]
                if kind == "gamma":
                    ax.set_title(f"(a) {PARAM_LABELS['gamma']} — {arrow}")
                    drawn = [gamma[d] for d in gamma_datasets]
                    for s in drawn:
                        _plot(ax, s, direction, DATASET_COLOURS.get(s.dataset, style.method_colour(s.dataset)),
                              DATASET_MARKERS.get(s.dataset, "x"))
                    params, xlabel = ["gamma"], PARAM_LABELS["gamma"]
                else:
                    name = f", {style.dataset_name(dataset)}" if dataset else ""
                    ax.set_title(f"(b) $\\beta_i${name} — {arrow}")
                    drawn = [sweeps[p][dataset] for p in betas if dataset in sweeps[p]]
                    for s in drawn:
                        _plot(ax, s, direction, BETA_COLOURS[s.param], BETA_MARKERS[s.param])
                    params, xlabel = [s.param for s in drawn], r"$\beta_i$"
                if not drawn:
                    plotting.empty_panel(ax, f"{NO_SWEEP}\n({bits} bits)")
                    continue
                _log_x(ax, np.concatenate([s.values for s in drawn]))
                _mark_defaults(ax, params)
                ax.set_xlabel(xlabel)
                ax.set_ylabel(_map_label(sweeps))
                ax.grid(True)
        handles = [plotting.line_handle(c, m, ":" if not m else "-") for _, c, m in entries]
        plotting.shared_legend(fig, handles, [label for label, _, _ in entries])
        where = f"{source}: " if source else ""
        fig.suptitle(f"SDCH parameter sensitivity, {_map_label(sweeps)} at {bits} bits\n{where}"
                     f"mean over seeds, bars: std\ndotted: defaults {_defaults_text()}")
    return fig


def draw_sensitivity(results_dir: str, out_base: str, bits: int = SWEEP_BITS, source: str | None = None) -> list[str]:
    """Figure 6 from ``<results_dir>/sweeps/*`` to ``out_base``.png/.pdf; the files written, or []
    with a printed message when no sweep at ``bits`` is recorded."""
    sweeps = load_sweeps(results_dir, bits)
    source = os.path.normpath(results_dir) if source is None else source
    fig = build_sensitivity_figure(sweeps, bits, source)
    if fig is None:
        print(f"Figure 6: no parameter sweep at {bits} bits under {os.path.join(results_dir, 'sweeps')} "
              f"(record one with python -m sdch_tf.sweep); figure skipped")
        return []
    return plotting.save_figure(fig, out_base)


def main(argv=None) -> int:
    """The CLI; bad input, a file-system error or Ctrl-C end as one line and an exit status
    (``sdch_tf.cli.run_main``)."""
    return run_main(_main, argv)


def _main(argv=None) -> int:

    p = argparse.ArgumentParser(prog="python -m sdch_tf.figures.sensitivity",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--results", required=True, help="a result set (holding sweeps/<param>/runs/*/result.json)")
    p.add_argument("--out", default=None, help="directory for the figure (default: <results>/figures)")
    p.add_argument("--bits", type=int, default=SWEEP_BITS, help="code length (SDCH Fig. 6: 64)")
    args = p.parse_args(argv)
    out = args.out or os.path.join(args.results, "figures")
    name = style.FIGURE_FILES["sensitivity"].format(bits=args.bits)
    # The PNG and the PDF change together (staging.write_set).
    for path in staging.write_set(out, lambda stage: draw_sensitivity(args.results, os.path.join(stage, name),
                                                                      args.bits)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
