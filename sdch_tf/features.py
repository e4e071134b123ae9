"""Image CNN features of a dataset in one features file: ``python -m sdch_tf.features``.

    python -m sdch_tf.features --backbone alexnet --preset paper --weights bvlc_alexnet.npy \\
        --dataset mirflickr --data-dir data --out features/mirflickr-alexnet.h5

runs every image of the dataset through a pretrained backbone, centre-cropped and preprocessed as
the method that uses the backbone preprocesses it, and writes the features with the texts, labels
and the protocol split of ``--seed`` (docs/reproduction.md §2.2) to one HDF5 file: what the
shallow baselines read with ``--features FILE`` (SDCH §4.2: "CNN feature with 4096 dimensions
extracted from the trained Alexnet"). The file format and the foreign layouts also accepted:
docs/features.md.

    backbone   shapes of the preset of   feature (d at the paper size)   weights file
    alexnet    sdch                      fc7 after its ReLU (4096)       bvlc_alexnet.npy
    vggf       dcmh                      fc7 after its ReLU (4096)       imagenet-vgg-f.mat
    resnet34   dspah                     layer4, global average (512)    resnet34.npz

Dropout is off and batch normalisation uses its running statistics (inference mode). A
pretrained net is required: ``--weights none`` is refused.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys

from sdch_tf import cli
from sdch_tf.config_checks import check_seeds
from sdch_tf.configs import NO_WEIGHTS
from sdch_tf.input_errors import InputError
from sdch_tf.nets.backbones import BACKBONES, FEATURE_LAYERS, feature_blocks, feature_model, standin_hint

PRESETS = ("paper", "cpu", "smoke")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sdch_tf.features", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--backbone", required=True, choices=tuple(BACKBONES),
                   help="alexnet (SDCH's), vggf (CNN-F: DCMH, CMHN, RDCMH), resnet34 (DSPAH)")
    p.add_argument("--preset", default="cpu", choices=PRESETS,
                   help="whose image-net shapes: paper (the real weights files), cpu or smoke (the stand-in's)")
    p.add_argument("--weights", default=None,
                   help="the pretrained file: bvlc_alexnet.npy, imagenet-vgg-f.mat or resnet34.npz (default: the "
                        "preset's; required with --preset paper)")
    p.add_argument("--dataset", required=True, help="synthetic (embedded), mirflickr, iapr, nuswide, nuswide-tc10, coco")
    p.add_argument("--data-dir", default=None, help="directory holding the dataset's .mat files (default ./data)")
    p.add_argument("--seed", type=int, default=0, help="seed of the protocol split recorded in the file")
    p.add_argument("--batch-size", type=int, default=256, help="images per forward pass (no effect on the features)")
    p.add_argument("--out", required=True, help="the features file to write (HDF5), e.g. features/mirflickr.h5")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    cli.add_verbose_flag(p)
    return p.parse_args(argv)


def main(argv=None) -> int:
    """The CLI: bad input is one ``error:`` line (``sdch_tf.cli.run_main``)."""
    return cli.run_main(_main, argv)


def _main(argv=None) -> int:
    args = parse_args(argv)
    check_seeds(args.seed, 1)
    if args.batch_size < 1:
        raise InputError(f"--batch-size {args.batch_size}: must be at least 1")
    cli.check_out_file(args.out)
    method = BACKBONES[args.backbone].method
    if args.weights is not None and args.weights.strip().lower() == NO_WEIGHTS:
        raise InputError(f"--weights {args.weights}: features come from a pretrained net; pass --weights PATH (a "
                         f"{BACKBONES[args.backbone].weights_file} file){standin_hint(args.preset)}")
    if args.preset == "paper" and args.weights is None:
        raise InputError(f"--preset paper extracts features with the real {BACKBONES[args.backbone].weights_file}, "
                         "but no --weights was given: pass --weights PATH (where to get it: README, Pretrained "
                         "weights), or use --preset cpu")
    cli.quiet_tensorflow_import(args.verbose)
    command = "python -m sdch_tf.features " + shlex.join(argv if argv is not None else sys.argv[1:])
    extract(args, method, command)
    return 0


def extract(args, method: str, command: str) -> str:
    """Load the data and the net, stream every image through it, write the file; returns its path."""
    import numpy as np

    from sdch_tf import configs, registry
    from sdch_tf.data.features import FORMAT_VERSION, write_feature_blocks
    from sdch_tf.data.loading import load_data
    from sdch_tf.run.experiment import split_for
    from sdch_tf.run.results import config_dict

    config = configs.build_config(method, args.preset, {"dataset": args.dataset, "data_dir": args.data_dir},
                                  weights=args.weights)
    model, image_config = feature_model(args.backbone, config)
    prep = registry.get_method(method).preprocessing(config)
    data = load_data(config.data)
    split = split_for(config.data, data, args.seed)
    n = data.num_samples
    feature_dim = int(model.output.shape[-1])
    if not args.quiet:
        print(f"Extracting {args.backbone} {FEATURE_LAYERS[args.backbone]} features (d = {feature_dim}) of {n} "
              f"{data.name} images, {prep.crop}×{prep.crop} centre crops")
    blocks = feature_blocks(model, data, prep, args.batch_size, verbose=not args.quiet)
    preprocessing = {"resize": prep.resize, "crop": prep.crop, "mean_rgb": list(prep.mean_rgb), "bgr": prep.bgr,
                     "mean_image": None if prep.mean_image is None else list(np.shape(prep.mean_image))}
    attrs = {"backbone": args.backbone, "feature_layer": FEATURE_LAYERS[args.backbone], "method": method,
             "weights": config.weights, "dataset": config.data.dataset, "preset": config.preset, "seed": args.seed,
             "command": command, "config": json.dumps(config_dict(config), sort_keys=True),
             "image_net": json.dumps(dataclasses.asdict(image_config), sort_keys=True),
             "preprocessing": json.dumps(preprocessing, sort_keys=True)}
    write_feature_blocks(args.out, blocks, feature_dim, texts=data.texts, labels=data.labels, query=split.query,
                         database=split.database, train=split.train, attrs=attrs)
    print(f"Written: {args.out} (features file version {FORMAT_VERSION})\n"
          f"  image_features ({n}, {feature_dim}) float32, texts ({n}, {data.text_dim}) float32, "
          f"labels ({n}, {data.num_labels}) uint8\n"
          f"  query {len(split.query)}, database {len(split.database)}, train {len(split.train)} (seed {args.seed})")
    return args.out


if __name__ == "__main__":
    sys.exit(main())
