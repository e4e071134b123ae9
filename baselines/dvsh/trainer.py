"""Build and train DVSH for one code length and seed (the ``Method`` functions): one joint
step on E9 per batch of training pairs (``training.fit.fit_on_pairs``), checkpointed per epoch."""
from __future__ import annotations

import keras
import numpy as np

from baselines.dvsh.config import DVSHConfig
from baselines.dvsh.model import DVSH
from baselines.dvsh.nets import build_image_nets, build_text_nets, max_words_of
from sdch_tf.configs import pretrained_weights
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.pipeline import ImagePreprocessing
from sdch_tf.data.split import Split
from sdch_tf.nets.scaling import initialization_batch, rescale_output
from sdch_tf.training.fit import fit_on_pairs
from sdch_tf.training.hashing_model import example_batch, finish_build
from sdch_tf.training.optimizers import make_optimizer


def preprocessing(config: DVSHConfig) -> ImagePreprocessing:
    """AlexNet's input (bvlc_alexnet.npy: BGR minus Caffe's ImageNet mean), as for SDCH."""
    return ImagePreprocessing.from_config(config.image_net)


def build(config: DVSHConfig, data: CrossModalData, split: Split, bits: int, seed: int) -> DVSH:
    """A compiled, built, untrained DVSH model; AlexNet weights loaded when ``config.weights``.
    The word sequences' length T is taken from the training texts (``max_words_of``)."""
    keras.utils.set_random_seed(seed)
    image_net, image_both, pretrained = build_image_nets(config.image_net, bits, pretrained_weights(config))
    max_words = max_words_of(data.texts[np.asarray(split.train)], config.max_words_percentile)
    text_net, text_steps, fusion_text = build_text_nets(data.text_dim, max_words, config.embedding,
                                                        config.lstm_units, bits)
    model = DVSH(image_net, image_both, text_net, text_steps, fusion_text, bits, pretrained, config.cosine_margin,
                 config.bit_margin, config.lam, config.beta, name="dvsh")
    optimizers = {"new": make_optimizer(config.optimizer, config.lr_new)}
    if pretrained:
        optimizers["pretrained"] = make_optimizer(config.optimizer, config.lr_pretrained)
    model.compile(optimizers=optimizers, jit_compile=config.jit_compile)

    def initialize():
        if config.head_init_std > 0:
            images, _ = initialization_batch(data, np.asarray(split.train), preprocessing(config))
            for head in ("image_hash", "fusion_image"):
                output = model.image_both.get_layer(head).output
                rescale_output(keras.Model(model.image_both.input, output), images, config.head_init_std)

    return finish_build(model, example_batch(config.image_net.input_size, data.text_dim), initialize)


def fit(model: DVSH, config: DVSHConfig, data: CrossModalData, split: Split, run_dir: str, seed: int,
        verbose: int = 1, observers=()) -> list[dict]:
    """Train for ``config.epochs`` passes over the training pairs; one record per epoch (mean loss
    terms, seconds)."""
    return fit_on_pairs(model, config, data, split, preprocessing(config), run_dir, seed, verbose, list(observers))
