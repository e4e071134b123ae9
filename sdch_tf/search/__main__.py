"""Search with a trained model: ``python -m sdch_tf.search {index,query,export}``.

    python -m sdch_tf.search index  --run RUN_DIR [--out INDEX_DIR] [--encode] [--shards N [--shard I]]
    python -m sdch_tf.search query  --run RUN_DIR (--image FILE | --text "words ..." | --item N
                                    [--modality image|text] | --queries FILE) [--target image|text]
                                    [--k 10] [--json]
    python -m sdch_tf.search export --run RUN_DIR --out DIR

RUN_DIR is a finished run (OUT/runs/<run-id>, with result.json). docs/search.md has the file
formats, the ranking order and how to load an export.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from sdch_tf import cli
from sdch_tf.input_errors import InputError
from sdch_tf.search.rundir import check_run_dir

# The scans of sdch_tf.search.scan.SCANNERS, named here so that --help imports no numpy scan code.
SCAN_NAMES = ("numpy", "faiss-flat", "faiss-ivf", "faiss-multihash")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sdch_tf.search", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    sub = p.add_subparsers(dest="command", required=True, metavar="{index,query,export}")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help_text, description=help_text)
        parser.add_argument("--run", required=True, metavar="RUN_DIR", help="a finished run directory (OUT/runs/<run-id>)")
        parser.add_argument("--data-dir", default=None,
                            help="the dataset's directory (default: the one the run recorded, else ./data); its "
                                 "vocabulary.txt, concepts.txt and images.txt name words, concepts and source images")
        parser.add_argument("--quiet", action="store_true", help="no notes on stderr")
        cli.add_verbose_flag(parser)
        return parser

    index = command("index", "encode the split's database once into a packed-code index on disk")
    index.add_argument("--out", default=None, metavar="INDEX_DIR", help="default: RUN_DIR/index")
    index.add_argument("--encode", action="store_true",
                       help="encode the database with the restored networks instead of reusing the run's codes.npz")
    index.add_argument("--shards", type=int, default=None, metavar="N",
                       help="split the database into N contiguous parts, each encoded and written on its own "
                            "(resumable part by part) and merged into one index when the last is written")
    index.add_argument("--shard", type=int, default=None, metavar="I",
                       help="with --shards: encode part I only (0-based), e.g. one process or machine per part; "
                            "without it every missing part is encoded, one after the other")

    query = command("query", "the top k of a query, ranked by Hamming distance (ties in database order)")
    what = query.add_mutually_exclusive_group(required=True)
    what.add_argument("--image", metavar="FILE", help="an image file (any size; resized to the dataset's)")
    what.add_argument("--text", metavar="WORDS", help="words of the vocabulary, or text columns written #N")
    what.add_argument("--item", type=int, metavar="N", help="row N of the dataset (its image, or --modality text)")
    what.add_argument("--queries", metavar="FILE",
                      help="a batch: one query a line, image:PATH, text:WORDS or item:N[:image|text]")
    query.add_argument("--modality", choices=("image", "text"), default="image",
                       help="which side of an --item is the query (default: image)")
    query.add_argument("--target", choices=("image", "text"), default=None,
                       help="the database searched (default: the other modality, i.e. cross-modal)")
    query.add_argument("--k", type=int, default=10, help="results per query (default: 10)")
    query.add_argument("--index", default=None, metavar="INDEX_DIR",
                       help="the index to search (default: RUN_DIR/index if written, else the run's codes.npz)")
    query.add_argument("--json", action="store_true", help="one JSON object per query, one a line")
    query.add_argument("--scan", choices=SCAN_NAMES, default="numpy",
                       help="numpy: exact, the evaluator's order (default); faiss-flat: exact, the same answers; "
                            "faiss-ivf, faiss-multihash: approximate, for very large databases (docs/search.md, "
                            'Search at scale); FAISS needs pip install ".[faiss]"')
    query.add_argument("--nprobe", type=int, default=None, metavar="N",
                       help="faiss-ivf: inverted lists visited per query (default 16)")

    export = command("export", "export the image and text encoders as SavedModels (TensorFlow alone loads them)")
    export.add_argument("--out", required=True, metavar="DIR")
    return p.parse_args(argv)


def main(argv=None) -> int:
    """The CLI: every expected failure is one ``error:`` line and exit status 2 (``sdch_tf.cli``)."""
    return cli.run_main(_main, argv)


def _main(argv=None) -> int:
    args = parse_args(argv)
    if args.command == "query" and args.k < 1:
        raise InputError(f"--k {args.k}: give at least 1")
    if args.command == "query" and args.nprobe is not None and (args.scan != "faiss-ivf" or args.nprobe < 1):
        raise InputError(f"--nprobe {args.nprobe} applies to --scan faiss-ivf only, and must be at least 1")
    if args.command == "index" and args.shard is not None and (args.shards is None or not 0 <= args.shard < args.shards):
        raise InputError(f"--shard {args.shard} needs --shards N with 0 <= I < N")
    check_run_dir(args.run)  # before TensorFlow's import: a mistyped --run fails at once
    cli.quiet_tensorflow_import(args.verbose)
    from sdch_tf.search import runs
    opened = runs.OpenedRun(args.run, args.data_dir)
    if not args.quiet:
        opened.print_notes()
    return {"index": _index, "query": _query, "export": _export}[args.command](args, opened)


def _index(args, opened) -> int:
    from sdch_tf.search import index

    out = args.out or os.path.join(opened.run_dir, index.INDEX_DIR)
    cli.check_out_dir(out)
    run = {"run_id": opened.run_id, "run_dir": opened.run_dir, "method": opened.method.name,
           "dataset": opened.data.name, "source": "encoded" if args.encode else "codes.npz"}
    if args.shards is None:
        databases = [opened.database(modality, encode=args.encode) for modality in index.MODALITIES]
        index.write_index(out, databases, run)
        print(f"Wrote {out}: {index.describe(index.read_manifest(out))}")
        return 0
    return _index_shards(args, opened, out, run)


def _index_shards(args, opened, out: str, run: dict) -> int:
    from sdch_tf.search import index

    if os.path.isfile(os.path.join(out, index.MANIFEST)) and not os.path.isdir(index.parts_dir(out)):
        manifest = index.read_manifest(out)
        shards = {len(entry["shards"]) for entry in manifest["modalities"].values()}
        if manifest.get("run_id") == run["run_id"] and manifest.get("source") == run["source"] and shards == {args.shards}:
            print(f"{out} is complete: {index.describe(manifest)} (delete it to encode again)")
            return 0
    parts = index.start_parts(out, args.shards, run, opened.bits)
    bounds = index.part_bounds(len(opened.split.database), args.shards)
    todo = [args.shard] if args.shard is not None else list(range(args.shards))
    for shard in todo:
        if index.part_written(parts, shard):
            print(f"Part {shard} of {args.shards} is already written ({parts})")
            continue
        databases = [opened.database(modality, encode=args.encode, part=bounds[shard]) for modality in index.MODALITIES]
        index.write_part(parts, shard, databases)
        print(f"Wrote part {shard} of {args.shards}: database items {bounds[shard].start}–{bounds[shard].stop - 1}")
    if index.merge_parts(out) is None:
        missing = [i for i in range(args.shards) if not index.part_written(parts, i)]
        print(f"{args.shards - len(missing)} of {args.shards} parts written; the index is merged when the last is "
              f"(missing: {', '.join(map(str, missing))})")
    else:
        print(f"Merged {args.shards} parts into {out}: {index.describe(index.read_manifest(out))}")
    return 0


def _query(args, opened) -> int:
    from sdch_tf.search import engine, query

    if args.queries:
        queries = query.read_queries(args.queries, args.modality)
    elif args.image is not None:
        queries = [query.Query("image", args.image, "image", "--image")]
    elif args.text is not None:
        queries = [query.Query("text", args.text, "text", "--text")]
    else:
        queries = [query.Query("item", query.parse_item(args.item, "--item"), args.modality, "--item")]
    options = {"nprobe": args.nprobe} if args.scan == "faiss-ivf" and args.nprobe is not None else None
    searcher = engine.Searcher(opened, args.index, scan=args.scan, scan_options=options)
    records, notes = searcher.search(queries, args.k, args.target)
    if not args.quiet:
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    for i, record in enumerate(records):
        if args.json:
            print(json.dumps(record, ensure_ascii=False))
        else:
            print(("\n" if i else "") + query.format_answer(record))
    return 0


def _export(args, opened) -> int:
    from sdch_tf.search import export

    cli.check_out_dir(args.out)
    report = export.export_run(opened, args.out)
    for modality, directory in report.written.items():
        print(f"Exported the {modality} encoder: {directory}")
    for modality, reason in report.errors.items():
        print(f"error: {reason}", file=sys.stderr)
    return cli.EXIT_INPUT if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
