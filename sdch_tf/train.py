"""Train and evaluate a cross-modal hashing method: ``python -m sdch_tf.train``.

With no arguments: SDCH on the embedded synthetic dataset with the ``cpu`` preset, all three
code lengths of the ``cpu`` preset, one seed; prints a per-epoch progress bar with the loss
terms and ends with a table of mAP@500 and the paths of the result files.

    python -m sdch_tf.train --dataset mirflickr --data-dir ~/data/mirflickr --preset paper \\
        --weights ~/weights/bvlc_alexnet.npy --bits 16 32 64 --runs 5
"""
from __future__ import annotations

import argparse
import sys

from sdch_tf import cli, configs, registry
from sdch_tf.config_checks import check_seeds
from sdch_tf.input_errors import InputError

DATASETS = ("synthetic", "mirflickr", "iapr", "nuswide", "nuswide-tc10", "coco")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m sdch_tf.train", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--method", default="sdch", choices=sorted(registry.METHODS), help="hashing method")
    p.add_argument("--dataset", default="synthetic", choices=DATASETS)
    p.add_argument("--data-dir", default=None, help="directory holding the dataset's .mat files (default ./data)")
    p.add_argument("--preset", default="cpu", choices=configs.PRESET_NAMES,
                   help="paper: the paper's configuration; cpu: scaled down for a CPU; smoke: seconds")
    p.add_argument("--bits", type=int, nargs="+", default=None, help="code lengths (default: the preset's)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: the preset's)")
    p.add_argument("--batch-size", type=int, default=None, help="default: the preset's (64, SDCH §4.2)")
    p.add_argument("--seed", type=int, default=0, help="first seed; it sets the split, initialisation and order")
    p.add_argument("--runs", type=int, default=1, help="number of seeds (seed, seed+1, ...); mean and std reported")
    p.add_argument("--num-query", type=int, default=None, help="query set size (default: the protocol's)")
    p.add_argument("--num-train", type=int, default=None, help="training set size (default: the protocol's)")
    p.add_argument("--num-labels", type=int, default=None,
                   help="keep the most frequent C concepts (default: 22 for IAPR TC-12, SDCH §4.1; else all)")
    p.add_argument("--label-fraction", type=float, default=None,
                   help="keep labels on this seeded fraction of the training items (RDCMH Table 2: 0.3); "
                        "supervised methods then train on the labelled items only")
    p.add_argument("--weights", default=None,
                   help="pretrained image-net weights: bvlc_alexnet.npy (SDCH), imagenet-vgg-f.mat (DCMH, CMHN, "
                        "RDCMH), ResNet-34 .npz (DSPAH); default: the ImageNet stand-in's for cpu and smoke, required "
                        "for paper; 'none': random initialisation")
    p.add_argument("--features", default=None, metavar="FILE",
                   help="the feature-based methods (SCM, ...): image features, texts, labels and split from this "
                        "features file (python -m sdch_tf.features, or a .mat layout of docs/features.md); default: "
                        "extracted from the dataset with the preset's pretrained AlexNet and cached")
    p.add_argument("--optimizer", default=None, choices=("adam", "sgd", "momentum"))
    p.add_argument("--top-k", default=None, type=cli.parse_top_k, metavar="K|all",
                   help="cut-off R of the reported mAP@R (500, SDCH §4.2); 'all': MAP over the whole database "
                        "(always recorded too, as map_all_*). A finished run is rescored from its codes, not retrained")
    p.add_argument("--code-refresh", default=None, choices=("forward", "recorded"),
                   help="SDCH: B = sign(Z) after each epoch from a forward pass over the training set (SDCH §3.3, "
                        "the default) or from the Z recorded during the epoch (for comparison)")
    p.add_argument("--itq-centering", default=None, choices=("joint", "per_modality"),
                   help="SDCH: centre all m+n z_i together before ITQ (SDCH §4.2, the default) or each modality "
                        "on its own mean")
    p.add_argument("--eval-every", type=int, default=None, metavar="N",
                   help="score mAP every N epochs (and after the last) into the epoch log epochs.jsonl as curve_map_*: "
                        "the learning curve. Training is unchanged; the run gets a directory of its own")
    p.add_argument("--dropout", type=float, default=None, metavar="RATE",
                   help="dropout rate of the networks' dropout layers (default: the preset's); 0 turns them off, "
                        "e.g. to compare a distributed run with one device (a replica's mask is not a slice of "
                        "the one-device mask)")
    p.add_argument("--jit", action="store_true", help="XLA-compile the train step")
    p.add_argument("--precision", default=None, choices=("fp32", "bf16", "fp16"),
                   help="fp32 (the paper's); bf16 / fp16: Keras mixed precision, fp16 with loss scaling "
                        "(default: the preset's, fp32)")
    p.add_argument("--distribute", default="none", choices=("none", "mirrored", "multiworker"),
                   help="mirrored: MirroredStrategy over every visible GPU; multiworker: "
                        "MultiWorkerMirroredStrategy from TF_CONFIG. Same gradients as one device")
    p.add_argument("--deterministic", action="store_true",
                   help="enable TensorFlow op determinism: reruns give bit-identical codes (slower on GPU)")
    p.add_argument("--out", default="results", help="output directory; runs go to OUT/runs/<run-id>/")
    p.add_argument("--fresh", action="store_true", help="discard a finished or interrupted run with the same config")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    cli.add_verbose_flag(p)
    return p.parse_args(argv)


def build_config(args):
    """The preset's config with the command line's overrides, range-checked (``InputError``)."""
    config = configs.build_config(
        args.method, args.preset,
        {"dataset": args.dataset, "data_dir": args.data_dir, "num_query": args.num_query, "num_train": args.num_train,
         "num_labels": args.num_labels, "label_fraction": args.label_fraction},
        bits=tuple(args.bits) if args.bits else None, epochs=args.epochs, batch_size=args.batch_size,
        weights=args.weights, optimizer=args.optimizer, jit_compile=True if args.jit else None,
        precision=args.precision, code_refresh=args.code_refresh, itq_centering=args.itq_centering,
        eval_every=args.eval_every, features=args.features, dropout=args.dropout,
    )
    return configs.with_top_k(config, args.top_k)


def runtime_setup(args, batch_size: int):
    """Determinism and the distribution strategy; returns (strategy, output directory of this worker).

    Under ``--distribute multiworker`` only the chief writes into ``--out``; the other workers
    write their (identical) checkpoints and results under ``--out/.worker-<id>``, so that no two
    processes race on one file.
    """
    # TensorFlow and the run layer: imported when needed, so that --help stays fast.
    import tensorflow as tf

    from sdch_tf.training import distribute
    if args.deterministic:
        tf.config.experimental.enable_op_determinism()
    strategy = distribute.make_strategy(args.distribute)
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        # Keras builds the model from the first batch's per-replica slices, which must be equal.
        raise InputError(f"--batch-size {batch_size} does not split evenly over {replicas} replicas; "
                         f"use a multiple of {replicas} (the batch size is global, as in the paper's 64)")
    out = distribute.worker_out_dir(args.out, strategy)
    if replicas > 1:
        print(f"Training on {replicas} replicas ({type(strategy).__name__}), global batch {batch_size}")
    return strategy, out


def main(argv=None) -> int:
    """The CLI: every expected failure is one ``error:`` line and an exit status (``sdch_tf.cli``)."""
    return cli.run_main(_main, argv)


def _main(argv=None) -> int:
    args = parse_args(argv)
    cli.quiet_tensorflow_import(args.verbose)  # before anything imports TensorFlow

    from sdch_tf.run import experiment, method_data, results  # TensorFlow: only once the arguments are parsed

    check_seeds(args.seed, args.runs)
    cli.check_out_dir(args.out)
    config = build_config(args)
    method = registry.get_method(config.method)
    preset_epochs = method.preset(config.preset).epochs
    verbose = 0 if args.quiet else 1
    if args.distribute != "none" and not method.distributable:
        raise InputError(f"--distribute {args.distribute} does not apply to --method {args.method} yet: its train "
                         "step does not gather the global batch across replicas (sdch_tf.training.distribute), so it would "
                         "train a different objective. Train it on one device.")
    data = method_data.load_method_data(method, config, verbose=bool(verbose))
    report = data.report
    dropped = (f" ({report.num_file_samples} in the files, {report.num_file_samples - data.num_samples} dropped: "
               "see the lines above)" if report is not None and report.num_file_samples != data.num_samples else "")
    images = f"image features {data.image_shape[0]}-d" if data.has_features else f"images {data.image_shape}"
    print(f"{data.name}: {data.num_samples} samples{dropped}, {images}, text {data.text_dim}-d, "
          f"{data.num_labels} labels", flush=True)
    # The split sizes are checked now, so that a split that does not fit fails before any training.
    experiment.split_for(config.data, data, args.seed)

    strategy, out = runtime_setup(args, config.batch_size)
    runs, paths = [], []
    for bits in config.bits:
        for seed in range(args.seed, args.seed + args.runs):
            with strategy.scope():
                result, path = experiment.run(method, config, data, bits, seed, out, args.fresh, verbose)
            runs.append(result)
            paths.append(path)

    # The epochs too: a run shorter than its preset's (the README's main job) must say so.
    shorter = f", {config.epochs} epochs (the preset has {preset_epochs})" if config.epochs != preset_epochs else ""
    print(f"\n{config.method.upper()} on {data.name} (preset {config.preset}{shorter}), "
          f"{results.metric_label(config.top_k)}, {args.runs} run(s) per code length")
    print(results.format_summary(results.summarize(runs), config.top_k))
    print("\nResult files:")
    for path in paths:
        print(f"  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
