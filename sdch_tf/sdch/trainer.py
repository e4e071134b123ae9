"""Build and train SDCH for one code length and seed (SDCH §4.2, Algorithm 1).

``build`` returns the untrained model (the evaluator scores it once before training, so that
learning is visible); ``fit`` runs the staged schedule with ``keras.Model.fit`` and resumes
from the run directory's checkpoint when one exists.
"""
from __future__ import annotations

import keras

from sdch_tf.training import precision
from sdch_tf.sdch.schedule import CodeRefresh, StagedSchedule
from sdch_tf.sdch.config import SDCHConfig
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.pipeline import ImagePreprocessing, image_batches, text_batches
from sdch_tf.data.split import Split
from sdch_tf.sdch.model import SDCH
from sdch_tf.nets.scaling import initialization_batch
from sdch_tf.sdch.nets import build_nets
from sdch_tf.training.hashing_model import example_batch, finish_build
from sdch_tf.training.fit import fit_on_pairs
from sdch_tf.training.optimizers import make_optimizer


def preprocessing(config: SDCHConfig) -> ImagePreprocessing:
    return ImagePreprocessing.from_config(config.image_net)


def build(config: SDCHConfig, data: CrossModalData, split: Split, bits: int, seed: int) -> SDCH:
    """A compiled, built, untrained SDCH model; AlexNet weights loaded when ``config.weights``;
    the feature layers initialised on the first training samples when ``config.data_init``.

    The layers take ``config.precision``'s dtype policy (``sdch_tf.training.precision``). Call under a
    ``tf.distribute`` strategy's scope to train on several devices (``sdch_tf.training.distribute``).
    """
    keras.utils.set_random_seed(seed)
    with precision.policy(config.precision):
        image_net, text_net, pretrained = build_nets(config, data.text_dim)
        model = SDCH(image_net, text_net, bits, len(split.train), config.gamma, config.beta1, config.beta2,
                     config.beta3, pretrained_variables=pretrained, fc4_init=config.fc4_init, name="sdch")

    def optimizer(rate):
        return precision.wrap_optimizer(make_optimizer(config.optimizer, rate), config.precision)

    model.compile(
        feature_optimizer=optimizer(config.lr_feature),
        hash_optimizer=optimizer(config.lr_hash),
        # Without pretrained weights every image layer is new and trains at the feature rate.
        pretrained_optimizer=optimizer(config.lr_pretrained) if pretrained else None,
        jit_compile=config.jit_compile,
    )

    def initialize():
        if config.data_init:
            model.initialize_feature_scale(*initialization_batch(data, split.train, preprocessing(config)))

    return finish_build(model, example_batch(config.image_net.input_size, data.text_dim), initialize)


def fit(model: SDCH, config: SDCHConfig, data: CrossModalData, split: Split, run_dir: str, seed: int,
        verbose: int = 1, observers=()) -> list[dict]:
    """Train with the staged schedule; returns one record per epoch (phase, loss terms, seconds).

    Checkpointed after every epoch into ``run_dir`` and resumed from there (``training.fit_resumable``).
    ``observers``: callbacks after the method's own (the run layer's learning curve).
    """
    prep = preprocessing(config)

    def training_inputs():
        # Centre crops in training-set order: the rows of B (SDCH §3.3's forward pass).
        return (image_batches(data, split.train, config.eval_batch_size, prep),
                text_batches(data, split.train, config.eval_batch_size))

    refresh = CodeRefresh(config.itq_iterations, seed, source=config.code_refresh, training_inputs=training_inputs,
                          itq_centering=config.itq_centering)
    return fit_on_pairs(model, config, data, split, prep, run_dir, seed, verbose,
                        [StagedSchedule(), refresh, *observers])
