"""Build and train SDCH for one code length and seed (SDCH §4.2, Algorithm 1).

``build`` returns the untrained model (the evaluator scores it once before training, so that
learning is visible); ``fit`` runs the staged schedule with ``keras.Model.fit`` and resumes
from the run directory's checkpoint when one exists.
"""
from __future__ import annotations

import os

import keras
import numpy as np

from sdch_tf import checkpoint
from sdch_tf.callbacks import Checkpoint, CodeRefresh, EpochLog, StagedSchedule, StopOnDivergence
from sdch_tf.config import SDCHConfig
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.pipeline import ImagePreprocessing, image_batches, train_batches
from sdch_tf.data.split import Split
from sdch_tf.model import SDCH
from sdch_tf.nets.alexnet import build_image_net, load_bvlc_alexnet, pretrained_variables
from sdch_tf.nets.text import build_text_net

CHECKPOINT_FILE = "checkpoint.npz"
DATA_INIT_SAMPLES = 256
EPOCH_LOG_FILE = "epochs.jsonl"


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
    the feature layers initialised on the first training samples when ``config.data_init``."""
    keras.utils.set_random_seed(seed)
    image_net = build_image_net(config.image_net)
    pretrained = []
    if config.weights:
        load_bvlc_alexnet(image_net, config.weights)
        pretrained = pretrained_variables(image_net)
    text_net = build_text_net(config.text_net, data.text_dim)
    model = SDCH(image_net, text_net, bits, len(split.train), config.gamma, config.beta1, config.beta2, config.beta3,
                 pretrained_variables=pretrained, name="sdch")
    model.compile(
        feature_optimizer=make_optimizer(config.optimizer, config.lr_feature),
        hash_optimizer=make_optimizer(config.optimizer, config.lr_hash),
        # Without pretrained weights every image layer is new and trains at the feature rate.
        pretrained_optimizer=make_optimizer(config.optimizer, config.lr_pretrained) if pretrained else None,
        jit_compile=config.jit_compile,
    )
    size = config.image_net.input_size
    model({"image": np.zeros((1, size, size, 3), np.float32), "text": np.zeros((1, data.text_dim), np.float32)})
    if config.data_init:
        first = split.train[:DATA_INIT_SAMPLES]
        images = next(iter(image_batches(data, first, len(first), preprocessing(config))))
        model.initialize_feature_scale(images, data.texts[first])
    return model


def fit(model: SDCH, config: SDCHConfig, data: CrossModalData, split: Split, run_dir: str, seed: int,
        verbose: int = 1) -> list[dict]:
    """Train with the staged schedule; returns one record per epoch (phase, loss terms, seconds).

    The checkpoint and the epoch log in ``run_dir`` are rewritten after every epoch; if a
    checkpoint is there when called, training resumes after its last finished epoch.
    """
    ckpt_path = os.path.join(run_dir, CHECKPOINT_FILE)
    log_path = os.path.join(run_dir, EPOCH_LOG_FILE)
    initial_epoch, previous = 0, []
    if os.path.exists(ckpt_path):
        initial_epoch = checkpoint.restore(ckpt_path, model)
        previous = EpochLog.read(log_path)[:initial_epoch] if os.path.exists(log_path) else []
        if verbose:
            print(f"Resuming from {ckpt_path} after epoch {initial_epoch}")
    log = EpochLog(log_path, previous)
    if initial_epoch < config.epochs:
        model.fit(
            train_batches(data, split.train, config.batch_size, preprocessing(config), seed, start_epoch=initial_epoch),
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            callbacks=[StagedSchedule(), StopOnDivergence(), CodeRefresh(config.itq_iterations, seed), log,
                       Checkpoint(ckpt_path)],
            verbose=verbose,
            shuffle=False,  # the pipeline reshuffles every epoch itself
        )
    return log.records
