"""Build and train DSPAH for one code length and seed (DSPAH §III, Algorithm 1, §IV.B).

``build`` returns the untrained model with F, G ~ N(0, 1) and B = sign(F + G) (Algorithm 1,
line 1); ``fit`` runs the alternating iterations with ``keras.Model.fit``, B refreshed after
every epoch, checkpointed and resumable (``sdch_tf.training.fit.fit_resumable``).
"""
from __future__ import annotations

import keras
import tensorflow as tf

from baselines.dspah.batch_norm import synchronize_batch_norm
from baselines.dspah.config import DSPAHConfig
from baselines.dspah.nets import build_image_net, build_text_net
from baselines.dspah.model import DSPAH
from sdch_tf.training.callbacks import EpochLearningRate, UpdateCodes
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.pipeline import ImagePreprocessing
from sdch_tf.data.split import Split
from sdch_tf.nets.scaling import initialization_batch
from sdch_tf.training.optimizers import make_optimizer
from sdch_tf.training.fit import fit_on_pairs
from sdch_tf.training.hashing_model import example_batch, finish_build
from sdch_tf.configs import pretrained_weights


def linear_rate(epoch: int, start: float, end: float, epochs: int) -> float:
    """lr_e = start + (end − start)·e / epochs for 0-based epoch e: the DCMH PyTorch code's
    linspace(10^-1.5, 10^-6, epochs + 1) schedule."""
    return start + (end - start) * epoch / epochs


def learning_rate(config: DSPAHConfig, bits: int) -> float:
    """The SGD rate at ``bits``: config.learning_rate, times reference/bits when the preset scales it."""
    if config.rate_scaled_from_bits is None:
        return config.learning_rate
    return config.learning_rate * config.rate_scaled_from_bits / bits


def preprocessing(config: DSPAHConfig) -> ImagePreprocessing:
    """Resize, crop, subtract torchvision's mean (0–255 scale); the std is the net's ``input_scale``."""
    return ImagePreprocessing.from_config(config.image_net)


def build(config: DSPAHConfig, data: CrossModalData, split: Split, bits: int, seed: int) -> DSPAH:
    """A compiled, built, untrained DSPAH model (ResNet-34 weights loaded when ``config.weights``).

    Call under a ``tf.distribute`` strategy's scope to train on several devices
    (``sdch_tf.training.distribute``); the BatchNorm layers then use the global batch's statistics
    (``batch_norm.synchronize_batch_norm``)."""
    keras.utils.set_random_seed(seed)
    image_net = build_image_net(config.image_net, bits, config.attention, weights=pretrained_weights(config))
    text_net = build_text_net(config.text_net, data.text_dim, bits, config.attention)
    model = DSPAH(image_net, text_net, bits, data.labels[split.train], normalize=config.normalize_loss,
                  name="dspah")
    # One SGD per network, both at the paper's single rate (§IV.B gives one rate for all layers).
    model.compile(optimizers={name: make_optimizer(config.optimizer, learning_rate(config, bits))
                              for name in ("image", "text")},
                  jit_compile=config.jit_compile)

    def initialize():
        if config.output_init_std is not None:
            batch = initialization_batch(data, split.train, preprocessing(config))
            model.initialize_output_scale(*batch, config.output_init_std)
        model.initialize_buffers(seed)
        if tf.distribute.get_strategy().num_replicas_in_sync > 1:
            synchronize_batch_norm(model)

    return finish_build(model, example_batch(config.image_net.input_size, data.text_dim), initialize)


def fit(model: DSPAH, config: DSPAHConfig, data: CrossModalData, split: Split, run_dir: str, seed: int,
        verbose: int = 1, observers=()) -> list[dict]:
    """Algorithm 1 for ``config.epochs`` epochs; one record per epoch (loss terms, seconds).
    ``observers``: callbacks after the method's own (the run layer's learning curve)."""
    callbacks = [UpdateCodes()]
    if config.final_learning_rate is not None:
        scale = learning_rate(config, model.bits) / config.learning_rate
        start, end = config.learning_rate * scale, config.final_learning_rate * scale
        callbacks.insert(0, EpochLearningRate(lambda epoch: linear_rate(epoch, start, end, config.epochs)))
    return fit_on_pairs(model, config, data, split, preprocessing(config), run_dir, seed, verbose,
                        [*callbacks, *observers])
