"""Build and train DCMH for one code length and seed (DCMH Algorithm 1; code process_DCMH.m).

``build`` returns the untrained model (scored once before training by the shared
experiment); ``fit`` runs the outer iterations with ``keras.Model.fit``, one Keras epoch per
iteration, and resumes from the run directory's checkpoint.
"""
from __future__ import annotations

import functools

import keras
import numpy as np
import tensorflow as tf

from baselines.dcmh.callbacks import ObjectiveLog
from baselines.dcmh.config import DCMHConfig
from baselines.dcmh.model import DCMH
from baselines.dcmh.nets import build_image_net, build_text_net
from sdch_tf.training.callbacks import EpochLearningRate, UpdateCodes, logspace_rate
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.pipeline import ImagePreprocessing
from sdch_tf.training.alternating import alternating_batches, steps_per_epoch
from sdch_tf.data.split import Split
from sdch_tf.nets.scaling import initialization_batch, rescale_outputs
from sdch_tf.nets.vggf import load_vggf, read_vggf_mean
from sdch_tf.training.optimizers import make_optimizer
from sdch_tf.training.hashing_model import example_batch, finish_build
from sdch_tf.training.fit import fit_resumable
from sdch_tf.configs import pretrained_weights


@functools.lru_cache(maxsize=4)
def _file_mean(path: str) -> dict:
    return read_vggf_mean(path)


def preprocessing(config: DCMHConfig) -> ImagePreprocessing:
    """Resize/crop of the image config; the mean is the weights file's when one is given — its
    full average image with ``config.average_image`` (code DCMH_demo.m subtracts it), else its
    channel means — and the config's channel means otherwise."""
    weights = pretrained_weights(config)
    mean = _file_mean(weights) if weights else {"mean_rgb": config.image_net.mean_rgb, "average_image": None}
    average = mean["average_image"] if config.average_image else None
    return ImagePreprocessing(resize=config.image_net.resize, crop=config.image_net.input_size,
                              mean_rgb=tuple(mean["mean_rgb"]), bgr=config.image_net.bgr, mean_image=average)


def build(config: DCMHConfig, data: CrossModalData, split: Split, bits: int, seed: int) -> DCMH:
    """A compiled, built, untrained DCMH model; CNN-F weights loaded when ``config.weights``.

    Call under a ``tf.distribute`` strategy's scope to train on several devices
    (``sdch_tf.training.distribute``; ``DCMH.train_step`` gathers the global batch).
    """
    keras.utils.set_random_seed(seed)
    image_net = build_image_net(config.image_net, bits, config.init_std)
    if pretrained_weights(config):
        load_vggf(image_net, pretrained_weights(config))
    train = np.asarray(split.train)
    text_mean = np.asarray(data.texts[train], np.float64).mean(axis=0) if config.text_zero_mean else None
    text_net = build_text_net(data.text_dim, config.text_hidden, bits, config.init_std, text_mean)
    model = DCMH(image_net, text_net, bits, np.asarray(data.labels[train], np.float32), config.gamma, config.eta,
                 normalizer=config.batch_size * len(train), name="dcmh")
    # The code's update is plain gradient descent with weight decay 5e-4 applied as lr·wd·w
    # (update_net.m), which Keras' weight_decay does for SGD.
    model.compile(optimizers={name: make_optimizer(config.optimizer, config.lr_start, weight_decay=config.weight_decay)
                              for name in ("image", "text")},
                  jit_compile=config.jit_compile)

    def initialize():
        if config.output_std > 0:
            batch = initialization_batch(data, train, preprocessing(config))
            rescale_outputs(model.image_net, model.text_net, batch, config.output_std)

    # The slots must exist before the first step also because the steps run inside tf.cond branches.
    return finish_build(model, example_batch(config.image_net.input_size, data.text_dim), initialize)


def epoch_batches(data: CrossModalData, split: Split, config: DCMHConfig, seed: int, start_epoch: int = 0,
                  stop_epoch: int | None = None) -> tf.data.Dataset:
    """Epochs ``start_epoch`` .. ``stop_epoch`` − 1 (default ``config.epochs``), each one outer
    iteration of DCMH Algorithm 1: an image pass, then a text pass (``alternating.alternating_batches``)."""
    stop_epoch = config.epochs if stop_epoch is None else int(stop_epoch)
    return alternating_batches(data, split, config.batch_size, preprocessing(config), config.image_net.input_size,
                               seed, start_epoch, stop_epoch)


def fit(model: DCMH, config: DCMHConfig, data: CrossModalData, split: Split, run_dir: str, seed: int,
        verbose: int = 1, observers=()) -> list[dict]:
    """Train for ``config.epochs`` outer iterations; returns one record per epoch (mean step
    losses of each network, J of Eq. 2, seconds). Checkpointed after every epoch in ``run_dir``.
    ``observers``: callbacks after the method's own (the run layer's learning curve)."""
    return fit_resumable(
        model,
        lambda start: epoch_batches(data, split, config, seed, start, config.epochs),
        config.epochs,
        [EpochLearningRate(lambda epoch: logspace_rate(epoch, config.lr_start, config.lr_end, config.epochs)),
         ObjectiveLog(np.asarray(data.labels[np.asarray(split.train)], np.float32)),
         UpdateCodes(), *observers],
        run_dir,
        verbose,
        steps_per_epoch=steps_per_epoch(len(split.train), config.batch_size),
    )
