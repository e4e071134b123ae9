"""Build and train PRDH for one code length and seed (note P8; DCMH's loop).

``build`` returns the untrained model (scored once before training by the shared experiment);
``fit`` chooses λ on held-out training pairs unless the config fixes it, then runs the outer
iterations with ``keras.Model.fit``, one Keras epoch per iteration, resuming from the run
directory's checkpoint.
"""
from __future__ import annotations

import dataclasses

import keras
import numpy as np

from baselines.prdh.config import LAMBDA_GRID, PRDHConfig
from baselines.prdh.model import PRDH
from baselines.prdh.nets import build_image_net, build_text_net
from sdch_tf.configs import pretrained_weights
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.pipeline import ImagePreprocessing, image_batches
from sdch_tf.data.split import Split
from sdch_tf.nets.scaling import initialization_batch, rescale_outputs
from sdch_tf.nets.vggf import channel_mean_preprocessing, load_vggf
from sdch_tf.training.alternating import alternating_batches, steps_per_epoch
from sdch_tf.training.callbacks import EpochLearningRate, UpdateCodes, logspace_rate
from sdch_tf.training.fit import fit_resumable
from sdch_tf.training.hashing_model import example_batch, finish_build
from sdch_tf.training.optimizers import make_optimizer
from sdch_tf.training.selection import grid_search, held_out_mask, held_out_score, recorded_choice, with_choice


def preprocessing(config: PRDHConfig) -> ImagePreprocessing:
    """CNN-F input: resize, crop, minus the weights file's channel means when one is given (the
    shared pipeline's CNN-F convention; NOTES.md, O16)."""
    return channel_mean_preprocessing(config.image_net, pretrained_weights(config))


def build(config: PRDHConfig, data: CrossModalData, split: Split, bits: int, seed: int) -> PRDH:
    """A compiled, built, untrained PRDH model; CNN-F weights loaded when ``config.weights``.
    With ``config.lam`` None it is built with λ = 0 until ``fit`` chooses it."""
    keras.utils.set_random_seed(seed)
    image_net = build_image_net(config.image_net, bits, config.init_std)
    if pretrained_weights(config):
        load_vggf(image_net, pretrained_weights(config))
    train = np.asarray(split.train)
    text_mean = np.asarray(data.texts[train], np.float64).mean(axis=0) if config.text_zero_mean else None
    text_net = build_text_net(data.text_dim, config.text_hidden, bits, config.init_std, text_mean)
    model = PRDH(image_net, text_net, bits, np.asarray(data.labels[train], np.float32), config.lam or 0.0,
                 config.gamma, normalizer=config.batch_size * len(train), intra_one_sided=config.intra_one_sided,
                 name="prdh")
    # DCMH's update (its update_net.m): plain gradient descent, weight decay applied as lr·wd·w.
    model.compile(optimizers={name: make_optimizer("sgd", config.lr_start, weight_decay=config.weight_decay)
                              for name in ("image", "text")},
                  jit_compile=config.jit_compile)

    def initialize():
        if config.output_std > 0:
            batch = initialization_batch(data, train, preprocessing(config))
            rescale_outputs(model.image_net, model.text_net, batch, config.output_std)

    return finish_build(model, example_batch(config.image_net.input_size, data.text_dim), initialize)


def _train(model: PRDH, config: PRDHConfig, data: CrossModalData, split: Split, run_dir: str | None, seed: int,
           verbose: int, observers=()) -> list[dict]:
    callbacks = [EpochLearningRate(lambda epoch: logspace_rate(epoch, config.lr_start, config.lr_end, config.epochs)),
                 UpdateCodes(), *observers]
    batches = lambda start: alternating_batches(data, split, config.batch_size, preprocessing(config),  # noqa: E731
                                                config.image_net.input_size, seed, start, config.epochs)
    per_epoch = steps_per_epoch(len(split.train), config.batch_size)
    if run_dir is None:  # a held-out trial: nothing to resume or keep
        model.fit(batches(0), epochs=config.epochs, steps_per_epoch=per_epoch, callbacks=callbacks, verbose=0,
                  shuffle=False)
        return []
    return fit_resumable(model, batches, config.epochs, callbacks, run_dir, verbose, steps_per_epoch=per_epoch)


def choose_lambda(config: PRDHConfig, data: CrossModalData, split: Split, bits: int, seed: int,
                  verbose: int) -> tuple[float, dict]:
    """λ from ``LAMBDA_GRID``: PRDH trained on a seeded (1 − held_out) of the training pairs per
    value, scored on the held-out pairs as queries against the rest (``training.selection``)."""
    train = np.asarray(split.train)
    held = held_out_mask(len(train), config.held_out, np.random.default_rng([seed, 13]))
    fitted = dataclasses.replace(split, train=train[~held], labelled=None)
    labels = np.asarray(data.labels[train], np.float32)
    texts = np.asarray(data.texts[train], np.float32)
    prep = preprocessing(config)

    def score_of(lam):
        trial_config = dataclasses.replace(config, lam=lam)
        trial = build(trial_config, data, fitted, bits, seed)
        _train(trial, trial_config, data, fitted, None, seed, 0)
        images = trial.encode_image(image_batches(data, train, config.eval_batch_size, prep))
        return held_out_score(images, trial.encode_text(texts), labels, held, config.top_k)

    if verbose:
        print(f"Choosing PRDH's λ on {config.held_out:.0%} held-out training pairs ({len(LAMBDA_GRID)} values)",
              flush=True)
    return grid_search(LAMBDA_GRID, score_of, lambda lam: f"λ = {lam:g}", verbose)


def fit(model: PRDH, config: PRDHConfig, data: CrossModalData, split: Split, run_dir: str, seed: int,
        verbose: int = 1, observers=()) -> list[dict]:
    """Choose λ (recorded in ``lam.json``; ``training.selection.recorded_choice``), then train for
    ``config.epochs`` outer iterations; one record per epoch (mean step terms of each network,
    seconds), the first also holding λ, its held-out score and the search's seconds."""
    choice = recorded_choice(run_dir, "lam", config.lam,
                             lambda: choose_lambda(config, data, split, model.bits, seed, verbose))
    model.lam = float(choice["lam"])
    return with_choice(_train(model, config, data, split, run_dir, seed, verbose, observers), choice, "lam")
