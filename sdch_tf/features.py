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
from sdch_tf.pretrain import BACKBONES

PRESETS = ("paper", "cpu", "smoke")
# The layer each backbone's features come from, recorded in the file.
FEATURE_LAYERS = {"alexnet": "fc7", "vggf": "fc7", "resnet34": "layer4_avgpool"}


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
    p.add_argument("--dataset", required=True, help="synthetic (embedded), mirflickr, iapr, nuswide, nuswide-tc10")
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
                         f"{BACKBONES[args.backbone].weights_file} file){_standin_hint(args.preset)}")
    if args.preset == "paper" and args.weights is None:
        raise InputError(f"--preset paper extracts features with the real {BACKBONES[args.backbone].weights_file}, "
                         "but no --weights was given: pass --weights PATH (where to get it: README, Pretrained "
                         "weights), or use --preset cpu")
    cli.quiet_tensorflow_import(args.verbose)
    command = "python -m sdch_tf.features " + shlex.join(argv if argv is not None else sys.argv[1:])
    extract(args, method, command)
    return 0


def _standin_hint(preset: str) -> str:
    if preset == "paper":
        return ""
    return f", e.g. one written by python -m sdch_tf.pretrain --size {preset}"


def feature_model(backbone: str, config):
    """(Keras model: preprocessed images (b, s, s, 3) → float32 (b, d) features, the image-net
    config it was built from), with the pretrained file of ``config`` loaded by the backbone's loader."""
    from sdch_tf.configs import pretrained_weights
    from sdch_tf.pretrain import build_features, load_weights

    path = pretrained_weights(config)
    if path is None:
        raise InputError(f"the {config.preset} preset of {config.method} names no pretrained weights in this install "
                         f"and none was given: pass --weights PATH (a {BACKBONES[backbone].weights_file} file)"
                         f"{_standin_hint(config.preset)}")
    image_config = config.image_net
    if backbone == "vggf":
        # The file's weights expect the mean-subtracted 0–255 pixels (the presets rescale for training from scratch).
        image_config = dataclasses.replace(image_config, input_scale=1.0)
    model = build_features(backbone, image_config)
    load_weights(backbone, model, path)
    return model, image_config


def extract(args, method: str, command: str) -> str:
    """Load the data and the net, stream every image through it, write the file; returns its path."""
    import keras
    import numpy as np
    import tensorflow as tf

    from sdch_tf import configs, registry
    from sdch_tf.data.features import FORMAT_VERSION, write_feature_blocks
    from sdch_tf.data.loading import load_data
    from sdch_tf.data.pipeline import image_batches
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
    crop = prep.crop

    # One trace for every batch size, the last partial batch included.
    @tf.function(input_signature=[tf.TensorSpec((None, crop, crop, 3), tf.float32)])
    def forward(images):
        return model(images, training=False)

    if not args.quiet:
        print(f"Extracting {args.backbone} {FEATURE_LAYERS[args.backbone]} features (d = {feature_dim}) of {n} "
              f"{data.name} images, {crop}×{crop} centre crops")
    bar = keras.utils.Progbar(n, unit_name="image", verbose=0 if args.quiet else 1)

    def blocks():
        done = 0
        # image_batches reads and preprocesses a few batches ahead, never the whole set.
        for images in image_batches(data, np.arange(n), args.batch_size, prep):
            block = forward(images).numpy()
            done += len(block)
            bar.update(done)
            yield block

    preprocessing = {"resize": prep.resize, "crop": prep.crop, "mean_rgb": list(prep.mean_rgb), "bgr": prep.bgr,
                     "mean_image": None if prep.mean_image is None else list(np.shape(prep.mean_image))}
    attrs = {"backbone": args.backbone, "feature_layer": FEATURE_LAYERS[args.backbone], "method": method,
             "weights": config.weights, "dataset": config.data.dataset, "preset": config.preset, "seed": args.seed,
             "command": command, "config": json.dumps(config_dict(config), sort_keys=True),
             "image_net": json.dumps(dataclasses.asdict(image_config), sort_keys=True),
             "preprocessing": json.dumps(preprocessing, sort_keys=True)}
    write_feature_blocks(args.out, blocks(), feature_dim, texts=data.texts, labels=data.labels, query=split.query,
                         database=split.database, train=split.train, attrs=attrs)
    print(f"Written: {args.out} (features file version {FORMAT_VERSION})\n"
          f"  image_features ({n}, {feature_dim}) float32, texts ({n}, {data.text_dim}) float32, "
          f"labels ({n}, {data.num_labels}) uint8\n"
          f"  query {len(split.query)}, database {len(split.database)}, train {len(split.train)} (seed {args.seed})")
    return args.out


if __name__ == "__main__":
    sys.exit(main())
