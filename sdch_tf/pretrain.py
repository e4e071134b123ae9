"""Pretrain the backbones on the ImageNet stand-in: ``python -m sdch_tf.pretrain``.

    python -m sdch_tf.pretrain --backbone all --size all --out sdch_tf/weights/standin

trains each image network the ``cpu`` and ``smoke`` presets use (AlexNet for SDCH, CNN-F for
DCMH, CMHN and RDCMH, ResNet-34 for DSPAH, at that preset's widths and input size) as a 40-class
classifier on the procedurally generated stand-in (``sdch_tf.data.standin``), reports its
held-out accuracy, and writes the weights in the real file format its ``--weights`` loader reads
(docs/reproduction.md §2.3):

- ``bvlc_alexnet.npy``: a pickled dict {conv1..fc8: [W, b]}, BGR input minus Caffe's ImageNet
  mean, the real file's preprocessing;
- ``imagenet-vgg-f.mat``: MatConvNet simplenn layout with ``meta.normalization.averageImage``,
  the average of the stand-in's training crops, which the network was trained to have subtracted
  (as CNN-F's average image is ImageNet's);
- ``resnet34.npz``: the torchvision state dict, torchvision's ImageNet normalisation.

beside a JSON record of the accuracy, the configuration, the seed and the command. The files are
written to ``OUT/<size>/``; the committed ones under ``sdch_tf/weights/standin`` are what the
``cpu`` and ``smoke`` presets load (``configs.STANDIN``). Deterministic for a seed on one machine.

The training recipe is ours, not the backbones' (which need ImageNet's scale): Adam at 1e-3,
batch 64, centre crops, no dropout (with dropout 0.5 the smoke-size AlexNet stayed at chance for
10 epochs; without it, 0.17 held-out accuracy against chance 0.025), a fixed number of epochs.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import numpy as np

from sdch_tf import cli
from sdch_tf.atomic import atomic_write_json
from sdch_tf.config_checks import check_seeds
from sdch_tf.input_errors import InputError
# The backbones and their feature models live in the framework (the run layer extracts features too).
from sdch_tf.nets.backbones import BACKBONES, Backbone, build_features, load_weights  # noqa: F401

SIZES = ("cpu", "smoke")


# Default stand-in size per preset size: the cpu files were measured with these (docs/reproduction.md §2.3).
DEFAULT_IMAGES = {"cpu": 12000, "smoke": 4000}
DEFAULT_EPOCHS = {"cpu": 10, "smoke": 10}


def image_config(backbone: str, size: str):
    """The image-net configuration of the ``size`` preset of ``backbone``'s method, as pretrained:
    the preset's shapes, no dropout, and for CNN-F the unscaled MatConvNet input (``input_scale`` 1,
    which the file's weights expect)."""
    from sdch_tf import registry

    config = registry.get_method(BACKBONES[backbone].method).preset(size).image_net
    if backbone == "alexnet":
        return dataclasses.replace(config, dropout=0.0)
    if backbone == "vggf":
        from sdch_tf.nets.alexnet import PIXEL_STD

        return dataclasses.replace(config, dropout=0.0, input_scale=1.0, pixel_std=PIXEL_STD)
    return config


def build_classifier(backbone: str, config, num_classes: int):
    """(features model (``build_features``), classifier layer, features + classifier as one model)."""
    import keras

    feature_model = build_features(backbone, config)
    head = keras.layers.Dense(num_classes, name="fc" if backbone == "resnet34" else "fc8")
    return feature_model, head, keras.Model(feature_model.input, head(feature_model.output),
                                            name=f"standin_{backbone}")


def preprocessing(backbone: str, config, images: np.ndarray):
    """The input preprocessing the written file implies; for CNN-F its average image is that of
    ``images`` (the stand-in's training set), resized and centre-cropped as the net sees them."""
    from sdch_tf.data.pipeline import ImagePreprocessing

    prep = ImagePreprocessing.from_config(config)
    if backbone != "vggf":
        return prep
    crops = _crops(images, dataclasses.replace(prep, mean_rgb=(0.0, 0.0, 0.0)))
    average = crops.mean(axis=0, dtype=np.float64).astype(np.float32)
    return dataclasses.replace(prep, mean_rgb=tuple(float(m) for m in average.mean(axis=(0, 1))),
                               mean_image=average)


def _crops(images: np.ndarray, prep) -> np.ndarray:
    """``preprocess_images`` in chunks of 500 (centre crops): the whole set as one float32 array."""
    import tensorflow as tf

    from sdch_tf.data.pipeline import preprocess_images

    out = [preprocess_images(tf.constant(images[i:i + 500]), prep).numpy() for i in range(0, len(images), 500)]
    return np.concatenate(out, axis=0)


def pretrain(backbone: str, config, images: np.ndarray, labels: np.ndarray, held_images: np.ndarray,
             held_labels: np.ndarray, epochs: int, seed: int, num_classes: int, batch_size: int = 64,
             verbose: int = 1) -> dict:
    """Train ``backbone`` (built from ``config``) plus a new classifier on uint8 stand-in images.

    Returns {"net", "head", "prep", "accuracy" (held-out), "seconds"}."""
    import keras

    prep = preprocessing(backbone, config, images)
    x, held_x = _crops(images, prep), _crops(held_images, prep)
    keras.utils.set_random_seed(seed)
    net, head, classifier = build_classifier(backbone, config, num_classes)
    classifier.compile(optimizer=keras.optimizers.Adam(1e-3),
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    start = time.perf_counter()
    classifier.fit(x, labels, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=verbose)
    seconds = time.perf_counter() - start
    _, accuracy = classifier.evaluate(held_x, held_labels, batch_size=256, verbose=0)
    return {"net": net, "head": head, "prep": prep, "accuracy": float(accuracy), "seconds": seconds}


def write_weights(backbone: str, path: str, trained: dict, class_names=()) -> None:
    """The trained backbone (and its classifier) in the real file format of ``backbone``."""
    if backbone == "alexnet":
        from sdch_tf.nets.alexnet import write_bvlc_alexnet

        write_bvlc_alexnet(path, trained["net"], trained["head"])
    elif backbone == "vggf":
        from sdch_tf.nets.vggf import write_vggf_mat

        write_vggf_mat(path, trained["net"], trained["prep"].mean_image, trained["head"], class_names)
    else:
        from sdch_tf.nets.resnet import write_torchvision_resnet

        write_torchvision_resnet(path, trained["net"], trained["head"])


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sdch_tf.pretrain", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--backbone", default="all", choices=tuple(BACKBONES) + ("all",))
    p.add_argument("--size", default="all", choices=SIZES + ("all",),
                   help="the preset whose image-net shapes the file has")
    p.add_argument("--images", type=int, default=None,
                   help=f"stand-in training images (plus --held-out); default {DEFAULT_IMAGES} by size")
    p.add_argument("--held-out", type=int, default=2000, help="held-out images for the accuracy")
    p.add_argument("--epochs", type=int, default=None, help=f"default {DEFAULT_EPOCHS} by size")
    p.add_argument("--classes", default="non_concepts", choices=("non_concepts", "family"),
                   help="stand-in classes: every (shape, hue) pair that is no retrieval concept (40), or shape × "
                        "warm/cool (16)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="directory: the files go to OUT/<size>/")
    p.add_argument("--quiet", action="store_true")
    cli.add_verbose_flag(p)
    return p.parse_args(argv)


def main(argv=None) -> int:
    """The CLI: bad input is one ``error:`` line (``sdch_tf.cli.run_main``)."""
    return cli.run_main(_main, argv)


def _main(argv=None) -> int:
    args = parse_args(argv)
    cli.quiet_tensorflow_import(args.verbose)
    check_seeds(args.seed, 1)
    for name in ("images", "held_out", "epochs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')} {value}: must be at least 1")
    cli.check_out_dir(args.out)
    command = "python -m sdch_tf.pretrain " + " ".join(argv if argv is not None else sys.argv[1:])
    sizes = SIZES if args.size == "all" else (args.size,)
    backbones = tuple(BACKBONES) if args.backbone == "all" else (args.backbone,)
    for size in sizes:
        for backbone in backbones:
            pretrain_one(args, backbone, size, command)
    return 0


def pretrain_one(args, backbone: str, size: str, command: str) -> str:
    """Generate the stand-in, pretrain ``backbone`` at ``size``, write its file and record; returns the path."""
    from sdch_tf.data.standin import StandInConfig, class_names, make_standin

    config = image_config(backbone, size)
    num_images = args.images or DEFAULT_IMAGES[size]
    epochs = args.epochs or DEFAULT_EPOCHS[size]
    data_config = StandInConfig(num_images=num_images + args.held_out, image_size=64, seed=args.seed,
                                classes=args.classes)
    names = class_names(data_config)
    print(f"[{backbone}, {size}] generating the ImageNet stand-in: {data_config.num_images} images, "
          f"{len(names)} classes")
    images, labels = make_standin(data_config)
    train, held = slice(0, num_images), slice(num_images, None)
    trained = pretrain(backbone, config, images[train], labels[train], images[held], labels[held], epochs,
                       args.seed, len(names), verbose=0 if args.quiet else 1)
    path = os.path.join(args.out, size, BACKBONES[backbone].weights_file)
    write_weights(backbone, path, trained, names)
    record = {"backbone": backbone, "size": size, "file": os.path.basename(path),
              "held_out_accuracy": trained["accuracy"], "chance": 1 / len(names), "epochs": epochs,
              "train_images": num_images, "held_out_images": args.held_out, "seed": args.seed,
              "train_seconds": trained["seconds"], "image_net": dataclasses.asdict(config),
              "standin": dataclasses.asdict(data_config), "classes": list(names), "command": command}
    atomic_write_json(os.path.splitext(path)[0] + ".json", record)
    print(f"[{backbone}, {size}] held-out accuracy {trained['accuracy']:.4f} (chance {1 / len(names):.4f}) after "
          f"{epochs} epochs, {trained['seconds']:.0f} s\nWritten: {path}")
    return path


if __name__ == "__main__":
    sys.exit(main())
