"""``python -m sdch_tf.prepare {mirflickr,nuswide,iapr,coco}``: the files ``--dataset`` reads,
built from the official releases (docs/data-preparation.md)."""
from __future__ import annotations

import argparse
import importlib
import sys

from sdch_tf.cli import run_main

# dataset → module with add_arguments(parser) and plan(args) → writer.Plan
PREPARATIONS = {
    "mirflickr": ("sdch_tf.prepare.mirflickr", "MIRFlickr-25K from mirflickr25k.zip and mirflickr25k_annotations_v080.zip"),
    "nuswide": ("sdch_tf.prepare.nuswide", "NUS-WIDE from the image folders, ImageList, Groundtruth and NUS_WID_Tags"),
    "iapr": ("sdch_tf.prepare.iapr", "IAPR TC-12 from iaprtc12.tgz, labels from the SAIAPR TC-12 segment annotations"),
    "coco": ("sdch_tf.prepare.coco", "MS-COCO 2014 from train2014/, val2014/ and annotations/*2014.json"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sdch_tf.prepare",
        description="Build the DCMH-style .mat files that --dataset reads (plus vocabulary.txt, concepts.txt, "
                    "images.txt and prepare.json) from a dataset's official release. Each input may be the "
                    "archive as downloaded or the folder it extracts to. Interrupted runs resume.")
    sub = parser.add_subparsers(dest="dataset", required=True, metavar="{" + ",".join(PREPARATIONS) + "}")
    for name, (module, description) in PREPARATIONS.items():
        p = sub.add_parser(name, help=description, description=description)
        importlib.import_module(module).add_arguments(p)
        p.add_argument("--out", required=True, help="directory to write the files into (the later --data-dir)")
        p.add_argument("--workers", type=int, default=None, help="image decoding threads (default: CPU cores, at most 8)")
        p.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from sdch_tf.prepare.writer import write_prepared  # after parsing: --help stays instant

    module = importlib.import_module(PREPARATIONS[args.dataset][0])
    plan = module.plan(args)
    write_prepared(plan, args.out, workers=args.workers, verbose=not args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
