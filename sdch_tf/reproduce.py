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
from sdch_tf.config_checks import check_seeds
from sdch_tf.configs import PRESET_NAMES, build_config, with_top_k
from sdch_tf.input_errors import InputError
from sdch_tf.registry import METHODS
from sdch_tf.train import DATASETS
from sdch_tf.run import run_plan, sweeps

TABLE_BITS = (16, 32, 64)  # SDCH Tables 2–3
PAPER_RUNS = 5             # SDCH §4.2: "all results are averaged over five runs"


def parse_weights(pairs: list[str], methods) -> dict[str, str]:
    weights = {}
    for pair in pairs:
        method, sep, path = pair.partition("=")
        if not sep or method not in methods:
            raise InputError(f"--weights {pair!r}: expected METHOD=PATH with METHOD one of {sorted(methods)}")
        weights[method] = os.path.expanduser(path)
    return weights


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sdch_tf.reproduce", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", default="synthetic", choices=DATASETS)
    p.add_argument("--data-dir", default=None, help="directory of the dataset's .mat files (default ./data)")
    p.add_argument("--preset", default="cpu", choices=PRESET_NAMES)
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=sorted(METHODS))
    p.add_argument("--bits", type=int, nargs="+", default=list(TABLE_BITS))
    p.add_argument("--runs", type=int, default=PAPER_RUNS, help="seeds per cell: seed, seed+1, ...")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weights", action="append", default=[], metavar="METHOD=PATH",
                   help="pretrained weights per method (repeatable): sdch=bvlc_alexnet.npy, "
                        "dcmh/cmhn/rdcmh=imagenet-vgg-f.mat, dspah=resnet34.npz")
    p.add_argument("--top-k", type=cli.parse_top_k, default=None, metavar="K|all",
                   help="cut-off R of the recorded mAP@R (default 500, SDCH §4.2); 'all': the whole-database MAP "
                        "(always recorded too). Finished runs are rescored from their codes, not retrained")
    p.add_argument("--sensitivity", action="store_true",
                   help="also run Figure 6's sweeps of gamma and beta1..beta3 (SDCH, 64 bits, one seed)")
    p.add_argument("--out", default=None, help="result set directory (default results/<preset>-<dataset>)")
    p.add_argument("--paper", default=os.path.join("results", "paper"), help="the papers' numbers (results/paper)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and the estimate, then stop")
    p.add_argument("--no-draw", action="store_true", help="train only; draw later with python -m sdch_tf.figures")
    p.add_argument("--quiet", action="store_true", help="no per-epoch progress bars")
    cli.add_verbose_flag(p)
    return p.parse_args(argv)


def build_plan(args, out: str):
    weights = parse_weights(args.weights, args.methods)
    plan = []
    seeds = range(args.seed, args.seed + args.runs)
    data = {"dataset": args.dataset, "data_dir": args.data_dir}
    for method in args.methods:
        config = with_top_k(build_config(method, args.preset, data, weights=weights.get(method),
                                         bits=tuple(args.bits) if args.bits else None), args.top_k)
        plan += [run_plan.PlannedRun(config, bits, seed, out) for bits in config.bits for seed in seeds]
    if args.sensitivity:
        base = build_config("sdch", args.preset, data, weights=weights.get("sdch"))
        for param in sweeps.PARAMS:
            plan += sweeps.sweep_plan(param, sweeps.DEFAULT_VALUES[param], base, sweeps.SWEEP_BITS, [args.seed], out)
    return plan


def main(argv=None) -> int:
    """The CLI: every expected failure is one ``error:`` line and an exit status (``sdch_tf.cli``)."""
    return cli.run_main(_main, argv)


def _main(argv=None) -> int:
    args = parse_args(argv)
    cli.quiet_tensorflow_import(args.verbose)  # before anything imports TensorFlow
    check_seeds(args.seed, args.runs)
    out = args.out or os.path.join("results", f"{args.preset}-{args.dataset}")
    cli.check_out_dir(out)
    plan = build_plan(args, out)
    print(f"Reproducing SDCH Tables 2–3 and Figures 4–5 on {args.dataset} (preset {args.preset}) into {out}")
    print(run_plan.describe(plan, sweeps.recorded_runs(out)))
    if args.dry_run:
        return 0
    for run_id in sweeps.reuse_main_runs(plan, out):
        print(f"  reusing the recorded main run {run_id} for a sweep (same configuration)")
    cache = run_plan.DataCache()
    run_plan.check_inputs(plan, cache.load)
    diverged = None
    try:
        run_plan.execute(plan, cache.load, verbose=0 if args.quiet else 1)
    except run_plan.PlanDiverged as e:  # the other runs are recorded: draw them, then report
        diverged = e
    if not args.no_draw:
        from sdch_tf.figures.draw import draw_all  # matplotlib: only when drawing

        print("\nDrawing the tables and figures")
        for path in draw_all(out, paper_dir=args.paper, preset=args.preset):
            print(f"  {path}")
    if diverged is not None:
        raise diverged
    return 0


if __name__ == "__main__":
    sys.exit(main())
