"""Rerun the experiments behind SDCH Tables 2–3 and Figures 4–5, then redraw every table and figure:
``python -m sdch_tf.reproduce``.

    python -m sdch_tf.reproduce --dataset synthetic --preset cpu --runs 3
    python -m sdch_tf.reproduce --dataset mirflickr --data-dir ~/data/mirflickr --preset paper \\
        --weights sdch=~/weights/bvlc_alexnet.npy --weights dcmh=~/weights/imagenet-vgg-f.mat ...

Every method × code length (16, 32, 64: Tables 2–3) × run (seeds 0..runs−1; SDCH §4.2
averages five runs) goes to one result set, ``results/<preset>-<dataset>/`` by default. It
prints the plan and a time estimate first; runs already recorded with the same
configuration are skipped and an interrupted run resumes from its last epoch, so the command
can be stopped and restarted at will. ``--sensitivity`` adds Figure 6's sweeps (SDCH, 64 bits).
Drawing (``sdch_tf.figures``) only reads the result set.
"""
from __future__ import annotations

import argparse
import os
import sys

from sdch_tf import cli

TABLE_BITS = (16, 32, 64)  # SDCH Tables 2–3
PAPER_RUNS = 5             # SDCH §4.2: "all results are averaged over five runs"


def method_config(method: str, dataset: str, preset: str, data_dir: str | None = None,
                  weights: str | None = None, bits=None):
    """The config ``python -m sdch_tf.train`` would build for these flags (one code path for both)."""
    from sdch_tf.train import build_config, parse_args

    argv = ["--method", method, "--dataset", dataset, "--preset", preset]
    if data_dir:
        argv += ["--data-dir", data_dir]
    if weights:
        argv += ["--weights", weights]
    if bits:
        argv += ["--bits", *map(str, bits)]
    return build_config(parse_args(argv))


class DataCache:
    """Loads each distinct dataset configuration once (all methods share the split's data)."""

    def __init__(self):
        self._data = {}

    def load(self, config):
        from sdch_tf import experiment

        key = repr(config.data)
        if key not in self._data:
            self._data[key] = experiment.load_data(config.data)
        return self._data[key]


def check_inputs(plan, load) -> None:
    """Loads the data of every planned run and checks its split sizes, so that bad data or sizes
    stop the command (``InputError``) before anything is trained or any run directory is made."""
    from sdch_tf import experiment

    for run in plan:
        experiment.split_for(run.config.data, load(run.config), run.seed)


def parse_weights(pairs: list[str], methods) -> dict[str, str]:
    weights = {}
    for pair in pairs:
        method, sep, path = pair.partition("=")
        if not sep or method not in methods:
            from sdch_tf.input_errors import InputError

            raise InputError(f"--weights {pair!r}: expected METHOD=PATH with METHOD one of {sorted(methods)}")
        weights[method] = os.path.expanduser(path)
    return weights


def parse_args(argv=None) -> argparse.Namespace:
    from sdch_tf.config import PRESETS
    from sdch_tf.methods import METHODS
    from sdch_tf.train import DATASETS

    p = argparse.ArgumentParser(prog="python -m sdch_tf.reproduce", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", default="synthetic", choices=DATASETS)
    p.add_argument("--data-dir", default=None, help="directory of the dataset's .mat files (default ./data)")
    p.add_argument("--preset", default="cpu", choices=sorted(PRESETS))
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=sorted(METHODS))
    p.add_argument("--bits", type=int, nargs="+", default=list(TABLE_BITS))
    p.add_argument("--runs", type=int, default=PAPER_RUNS, help="seeds per cell: seed, seed+1, ...")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weights", action="append", default=[], metavar="METHOD=PATH",
                   help="pretrained weights per method (repeatable): sdch=bvlc_alexnet.npy, "
                        "dcmh/cmhn/rdcmh=imagenet-vgg-f.mat, dspah=resnet34.npz")
    p.add_argument("--sensitivity", action="store_true",
                   help="also run Figure 6's sweeps of gamma and beta1..beta3 (SDCH, 64 bits, one seed)")
    p.add_argument("--out", default=None, help="result set directory (default results/<preset>-<dataset>)")
    p.add_argument("--paper", default=os.path.join("results", "paper"), help="the papers' numbers (results/paper)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and the estimate, then stop")
    p.add_argument("--no-draw", action="store_true", help="train only; draw later with python -m sdch_tf.figures")
    p.add_argument("--quiet", action="store_true", help="no per-epoch progress bars")
    p.add_argument("--verbose", action="store_true",
                   help=f"show TensorFlow's start-up and C++ log lines (also {cli.VERBOSE_ENV}=1)")
    return p.parse_args(argv)


def build_plan(args, out: str):
    from sdch_tf import run_plan, sweep

    weights = parse_weights(args.weights, args.methods)
    plan = []
    seeds = range(args.seed, args.seed + args.runs)
    for method in args.methods:
        config = method_config(method, args.dataset, args.preset, args.data_dir, weights.get(method), args.bits)
        plan += [run_plan.PlannedRun(config, bits, seed, out) for bits in config.bits for seed in seeds]
    if args.sensitivity:
        base = method_config("sdch", args.dataset, args.preset, args.data_dir, weights.get("sdch"))
        for param in sweep.PARAMS:
            plan += sweep.sweep_plan(param, sweep.DEFAULT_VALUES[param], base, sweep.SWEEP_BITS, [args.seed], out)
    return plan


def main(argv=None) -> int:
    """The CLI: every expected failure is one ``error:`` line and an exit status (``sdch_tf.cli``)."""
    return cli.run_main(_main, argv)


def _main(argv=None) -> int:
    args = parse_args(argv)
    from sdch_tf import run_plan, sweep
    from sdch_tf.config_checks import check_seeds

    check_seeds(args.seed, args.runs)
    out = args.out or os.path.join("results", f"{args.preset}-{args.dataset}")
    cli.check_out_dir(out)
    plan = build_plan(args, out)
    print(f"Reproducing SDCH Tables 2–3 and Figures 4–5 on {args.dataset} (preset {args.preset}) into {out}")
    print(run_plan.describe(plan, sweep.recorded_runs(out)))
    if args.dry_run:
        return 0
    for run_id in sweep.reuse_main_runs(plan, out):
        print(f"  reusing the recorded main run {run_id} for a sweep (same configuration)")
    cache = DataCache()
    check_inputs(plan, cache.load)
    diverged = None
    try:
        run_plan.execute(plan, cache.load, verbose=0 if args.quiet else 1)
    except run_plan.PlanDiverged as e:  # the other runs are recorded: draw them, then report
        diverged = e
    if not args.no_draw:
        from sdch_tf.figures.draw import draw_all

        print("\nDrawing the tables and figures")
        for path in draw_all(out, paper_dir=args.paper, preset=args.preset):
            print(f"  {path}")
    if diverged is not None:
        raise diverged
    return 0


if __name__ == "__main__":
    sys.exit(main())
