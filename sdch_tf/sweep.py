"""Parameter sensitivity (SDCH §4.4, Fig. 6): ``python -m sdch_tf.sweep``.

Trains SDCH once per value of one hyper-parameter, all else fixed, and records each run in
``<out>/sweeps/<param>/runs/<run-id>/`` (Figure 6 reads them from there):

    python -m sdch_tf.sweep --param gamma --values 0.001 0.01 0.1 1 2 --dataset mirflickr --bits 64
    python -m sdch_tf.sweep --param beta1 --values 0.01 0.1 1 10 20 --dataset mirflickr --bits 64

SDCH §4.4 varies γ in [0.001, 2] with β = (1, 1, 0.1), and each β_i in (0.01, 20) "while
fixing the others to 1 with γ set to 0.01"; the others stay at the preset's values
(β3 = 0.1, §4.2) unless set, e.g. ``--set beta3=1`` for the reading where all others are 1.
Like ``reproduce``, it skips recorded runs and resumes interrupted ones.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys

from sdch_tf import cli
from sdch_tf.config_checks import check_config, check_seeds, parse_bool
from sdch_tf.configs import PRESET_NAMES, build_config
from sdch_tf.input_errors import InputError
from sdch_tf.train import DATASETS
from sdch_tf.run import run_plan
from sdch_tf.run.sweeps import (DEFAULT_VALUES, PARAMS, SWEEP_BITS, recorded_runs, reuse_main_runs, sweep_dir,
                                 sweep_plan)

def parse_overrides(pairs: list[str], config) -> dict:
    """``["beta3=1", "data_init=false", ...]`` → {field: value} of the config's field types.

    Booleans take true/false (``config_checks.parse_bool``); ranges are checked where the
    configs are built (``sweep_plan``).
    """
    fields = {f.name: f for f in dataclasses.fields(config)}
    settable = sorted(n for n in fields if isinstance(getattr(config, n), (bool, int, float)))
    overrides = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or name not in fields or name not in settable:
            raise InputError(f"--set {pair!r}: expected FIELD=VALUE with FIELD one of {settable}")
        current = getattr(config, name)
        try:
            if isinstance(current, bool):
                overrides[name] = parse_bool(text)
            else:
                overrides[name] = type(current)(text)
        except (ValueError, InputError):
            raise InputError(f"--set {pair!r}: {text!r} is not a valid {type(current).__name__}") from None
    return overrides


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sdch_tf.sweep", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--param", required=True, choices=PARAMS)
    p.add_argument("--values", type=float, nargs="+", default=None,
                   help="values to try (default: SDCH Fig. 6's range, gamma 0.001..2 or beta 0.01..20)")
    p.add_argument("--dataset", default="synthetic", choices=DATASETS)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--preset", default="cpu", choices=PRESET_NAMES)
    p.add_argument("--bits", type=int, default=SWEEP_BITS)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", type=int, default=1, help="seeds per value")
    p.add_argument("--weights", default=None, help="bvlc_alexnet.npy (the paper preset fine-tunes AlexNet)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                   help="fix another hyper-parameter, e.g. beta3=1 (repeatable)")
    p.add_argument("--out", default=None, help="result set (default results/<preset>-<dataset>)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    p.add_argument("--quiet", action="store_true")
    cli.add_verbose_flag(p)
    return p.parse_args(argv)


def main(argv=None) -> int:
    """The CLI: every expected failure is one ``error:`` line and an exit status (``sdch_tf.cli``)."""
    return cli.run_main(_main, argv)


def _main(argv=None) -> int:
    args = parse_args(argv)
    cli.quiet_tensorflow_import(args.verbose)  # before anything imports TensorFlow
    check_seeds(args.seed, args.runs)
    out = args.out or os.path.join("results", f"{args.preset}-{args.dataset}")
    cli.check_out_dir(out)
    base = build_config("sdch", args.preset, {"dataset": args.dataset, "data_dir": args.data_dir}, weights=args.weights)
    base = dataclasses.replace(base, **parse_overrides(args.overrides, base))
    check_config(base, {name.partition("=")[0]: f"--set {name.partition('=')[0]}" for name in args.overrides})
    values = args.values or DEFAULT_VALUES[args.param]
    plan = sweep_plan(args.param, values, base, args.bits, range(args.seed, args.seed + args.runs), out)
    evidence = recorded_runs(out)
    print(f"Sweep of {args.param} over {list(values)} (SDCH, {args.dataset}, {args.bits} bits, preset {args.preset}) "
          f"into {sweep_dir(out, args.param)}")
    print(run_plan.describe(plan, evidence))
    if args.dry_run:
        return 0
    for run_id in reuse_main_runs(plan, out):
        print(f"  reusing the recorded main run {run_id} (same configuration)")
    cache = run_plan.DataCache()
    run_plan.check_inputs(plan, cache.load)
    diverged = None
    try:
        done = run_plan.execute(plan, cache.load, verbose=0 if args.quiet else 1)
    except run_plan.PlanDiverged as e:  # report the values that trained, then the diverged ones
        done, diverged = e.done, e
    print(f"\n{args.param:>8}  seed  I→T mAP@500  T→I mAP@500")
    for run in done:
        print(f"{run['config'][args.param]:>8g}  {run['seed']:>4}  {run['map_i2t']:>11.4f}  {run['map_t2i']:>11.4f}")
    if diverged is not None:
        raise diverged
    return 0


if __name__ == "__main__":
    sys.exit(main())
