"""Pretrain a backbone on the ImageNet stand-in: ``python -m sdch_tf.pretrain``.

    python -m sdch_tf.pretrain --backbone alexnet --size cpu --out weights/standin

trains the image network of the chosen preset size as a 40-class classifier on the procedurally
generated stand-in (``sdch_tf.data.standin``), reports its held-out accuracy, and writes the weights
in the real file format the ``--weights`` loader reads: for AlexNet, ``bvlc_alexnet.npy`` (a pickled
dict {conv1..fc8: [W, b]}, kernels HWIO with conv2/4/5's per-group input depth, fc6 in (H, W, C)
order, BGR input minus Caffe's ImageNet mean: the same preprocessing as the real file), beside a
JSON record of the accuracy, the configuration, the seed and the command. Deterministic for a seed.

The training recipe is ours, not AlexNet's (which needs ImageNet's scale): Adam at 1e-3, batch 64,
centre crops, a fixed number of epochs; the stand-in is large enough that nothing is repeated often.
CNN-F and ResNet-34 writers are not built yet (docs/reproduction.md §1, "Pretrained stand-in").
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import numpy as np

from sdch_tf import cli
from sdch_tf.atomic import atomic_write, atomic_write_json
from sdch_tf.config_checks import check_seeds

SIZES = ("cpu", "smoke")
BACKBONES = ("alexnet",)
WEIGHTS_FILES = {"alexnet": "bvlc_alexnet.npy"}


def image_config(size: str):
    """The image-net configuration of SDCH's ``size`` preset (the shapes its ``--weights`` must have)."""
    from sdch_tf import registry

    return registry.get_method("sdch").preset(size).image_net


def pretrain_alexnet(config, images: np.ndarray, labels: np.ndarray, held_images: np.ndarray,
                     held_labels: np.ndarray, epochs: int, seed: int, num_classes: int, batch_size: int = 64,
                     verbose: int = 1):
    """Train ``build_image_net(config)`` up to fc7 plus a new fc8 (``num_classes``) on preprocessed
    images; returns (image net, fc8 layer, held-out accuracy, seconds)."""
    import keras

    from sdch_tf.nets.alexnet import build_image_net

    keras.utils.set_random_seed(seed)
    image_net = build_image_net(config)
    fc8 = keras.layers.Dense(num_classes, name="fc8")
    features = image_net.get_layer("drop7").output
    classifier = keras.Model(image_net.input, fc8(features), name="standin_classifier")
    classifier.compile(optimizer=keras.optimizers.Adam(1e-3),
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    start = time.perf_counter()
    classifier.fit(images, labels, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=verbose)
    seconds = time.perf_counter() - start
    _, accuracy = classifier.evaluate(held_images, held_labels, batch_size=256, verbose=0)
    return image_net, fc8, float(accuracy), seconds


def write_bvlc_alexnet(path: str, image_net, fc8) -> None:
    """``bvlc_alexnet.npy`` of a trained net: {conv1..fc7: [W, b] of its layers, fc8: [W, b]},
    pickled with ``np.save`` as the real file is (``alexnet.load_bvlc_alexnet`` reads it back)."""
    from sdch_tf.nets.alexnet import PRETRAINED_LAYERS

    weights = {name: [np.asarray(image_net.get_layer(name).kernel), np.asarray(image_net.get_layer(name).bias)]
               for name in PRETRAINED_LAYERS}
    weights["fc8"] = [np.asarray(fc8.kernel), np.asarray(fc8.bias)]
    atomic_write(path, lambda f: np.save(f, weights, allow_pickle=True))


def preprocess(images: np.ndarray, config) -> np.ndarray:
    """Centre crops, mean-subtracted and channel-ordered as the shared pipeline feeds the net."""
    import tensorflow as tf

    from sdch_tf.data.pipeline import ImagePreprocessing, preprocess_images

    prep = ImagePreprocessing.from_config(config)
    out = [preprocess_images(tf.constant(images[i:i + 500]), prep).numpy() for i in range(0, len(images), 500)]
    return np.concatenate(out, axis=0)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sdch_tf.pretrain", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--backbone", default="alexnet", choices=BACKBONES)
    p.add_argument("--size", default="cpu", choices=SIZES, help="the preset whose image-net shapes the file has")
    p.add_argument("--images", type=int, default=12000, help="stand-in training images (plus --held-out)")
    p.add_argument("--held-out", type=int, default=2000, help="held-out images for the accuracy")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--classes", default="non_concepts", choices=("non_concepts", "family"),
                   help="stand-in classes: every (shape, hue) pair that is no retrieval concept (40), or shape × "
                        "warm/cool (16)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="directory for the weights file and its JSON record")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--verbose", action="store_true", help=f"TensorFlow's start-up lines (also {cli.VERBOSE_ENV}=1)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    """The CLI: bad input is one ``error:`` line (``sdch_tf.cli.run_main``)."""
    return cli.run_main(_main, argv)


def _main(argv=None) -> int:
    args = parse_args(argv)
    cli.quiet_tensorflow_import(args.verbose)
    check_seeds(args.seed, 1)
    for name in ("images", "held_out", "epochs"):
        if getattr(args, name) < 1:
            from sdch_tf.input_errors import InputError

            raise InputError(f"--{name.replace('_', '-')} {getattr(args, name)}: must be at least 1")
    cli.check_out_dir(args.out)
    from sdch_tf.data.standin import StandInConfig, class_names, make_standin

    config = image_config(args.size)
    data_config = StandInConfig(num_images=args.images + args.held_out, image_size=64, seed=args.seed,
                                classes=args.classes)
    verbose = 0 if args.quiet else 1
    names = class_names(data_config)
    print(f"Generating the ImageNet stand-in: {data_config.num_images} images, {len(names)} classes")
    images, labels = make_standin(data_config)
    x = preprocess(images, config)
    train, held = slice(0, args.images), slice(args.images, None)
    image_net, fc8, accuracy, seconds = pretrain_alexnet(config, x[train], labels[train], x[held], labels[held],
                                                         args.epochs, args.seed, len(names), verbose=verbose)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, WEIGHTS_FILES[args.backbone])
    write_bvlc_alexnet(path, image_net, fc8)
    record = {"backbone": args.backbone, "size": args.size, "file": os.path.basename(path),
              "held_out_accuracy": accuracy, "chance": 1 / len(names), "epochs": args.epochs,
              "train_images": args.images, "held_out_images": args.held_out, "seed": args.seed,
              "train_seconds": seconds, "image_net": dataclasses.asdict(config),
              "standin": dataclasses.asdict(data_config), "classes": list(names),
              "command": "python -m sdch_tf.pretrain " + " ".join(argv if argv is not None else sys.argv[1:])}
    atomic_write_json(os.path.splitext(path)[0] + ".json", record)
    print(f"Held-out accuracy {accuracy:.4f} (chance {1 / len(names):.4f}) after {args.epochs} epochs, "
          f"{seconds:.0f} s\nWritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
