"""Build and train SDCH for one code length and seed (SDCH §4.2, Algorithm 1).

``build`` returns the untrained model (the evaluator scores it once before training, so that
learning is visible); ``fit`` runs the staged schedule with ``keras.Model.fit`` and resumes
from the run directory's checkpoint when one exists.
"""
from __future__ import annotations

import keras
import numpy as np

from sdch_tf import precision
from sdch_tf.callbacks import CodeRefresh, StagedSchedule
from sdch_tf.config import SDCHConfig, preset
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.pipeline import ImagePreprocessing, num_train_batches, train_batches
from sdch_tf.data.split import Split
from sdch_tf.methods import Method
from sdch_tf.model import SDCH
from sdch_tf.nets.alexnet import build_image_net, load_bvlc_alexnet, pretrained_variables
from sdch_tf.nets.scaling import initialization_batch
from sdch_tf.nets.text import build_text_net
from sdch_tf.training import fit_resumable


def make_optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    """The optimiser for one parameter group (the paper names none: REPRODUCTION.md §1)."""
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate)
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    raise ValueError(f"unknown optimizer {name!r}; choose adam, sgd or momentum")


def preprocessing(config: SDCHConfig) -> ImagePreprocessing:
    return ImagePreprocessing.from_config(config.image_net)


def build(config: SDCHConfig, data: CrossModalData, split: Split, bits: int, seed: int) -> SDCH:
    """A compiled, built, untrained SDCH model; AlexNet weights loaded when ``config.weights``;
    the feature layers initialised on the first training samples when ``config.data_init``.

    The layers take ``config.precision``'s dtype policy (``sdch_tf.precision``). Call under a
    ``tf.distribute`` strategy's scope to train on several devices (``sdch_tf.distribute``).
    """
    keras.utils.set_random_seed(seed)
    with precision.policy(config.precision):
        image_net = build_image_net(config.image_net)
        pretrained = []
        if config.weights:
            load_bvlc_alexnet(image_net, config.weights)
            pretrained = pretrained_variables(image_net)
        text_net = build_text_net(config.text_net, data.text_dim)
        model = SDCH(image_net, text_net, bits, len(split.train), config.gamma, config.beta1, config.beta2,
                     config.beta3, pretrained_variables=pretrained, name="sdch")

    def optimizer(rate):
        return precision.wrap_optimizer(make_optimizer(config.optimizer, rate), config.precision)

    model.compile(
        feature_optimizer=optimizer(config.lr_feature),
        hash_optimizer=optimizer(config.lr_hash),
        # Without pretrained weights every image layer is new and trains at the feature rate.
        pretrained_optimizer=optimizer(config.lr_pretrained) if pretrained else None,
        jit_compile=config.jit_compile,
    )
    size = config.image_net.input_size
    model({"image": np.zeros((1, size, size, 3), np.float32), "text": np.zeros((1, data.text_dim), np.float32)})
    if config.data_init:
        model.initialize_feature_scale(*initialization_batch(data, split.train, preprocessing(config)))
    # Optimiser slots are made now, under the caller's distribution scope: created lazily inside
    # the first distributed step they would be per-replica, not mirrored.
    model.build_optimizers()
    return model


def fit(model: SDCH, config: SDCHConfig, data: CrossModalData, split: Split, run_dir: str, seed: int,
        verbose: int = 1) -> list[dict]:
    """Train with the staged schedule; returns one record per epoch (phase, loss terms, seconds).

    Checkpointed after every epoch into ``run_dir`` and resumed from there (``training.fit_resumable``).
    """
    return fit_resumable(
        model,
        lambda start: train_batches(data, split.train, config.batch_size, preprocessing(config), seed,
                                    start_epoch=start, stop_epoch=config.epochs),
        config.epochs,
        [StagedSchedule(), CodeRefresh(config.itq_iterations, seed)],
        run_dir,
        verbose,
        steps_per_epoch=num_train_batches(len(split.train), config.batch_size),
    )



METHOD = Method("sdch", preset, build, fit, preprocessing, distributable=True)
