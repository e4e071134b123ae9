"""Build and train CM-NN for one code length and seed (the ``Method`` functions).

``build`` gives the untrained networks; ``fit`` chooses the margin on held-out training pairs
(unless the config fixes it), then trains on the shared pipeline's training pairs
(``training.fit.fit_on_pairs``, feature rows in place of images) with per-epoch checkpoints.
"""
from __future__ import annotations

import dataclasses

import keras
import numpy as np

from baselines.cmnn.config import MARGIN_GRID, CMNNConfig
from baselines.cmnn.model import CMNN
from baselines.cmnn.nets import build_net
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.pipeline import num_train_batches, train_batches
from sdch_tf.data.split import Split
from sdch_tf.training.closed_form import training_arrays
from sdch_tf.training.fit import fit_on_pairs
from sdch_tf.training.hashing_model import finish_build
from sdch_tf.training.optimizers import make_optimizer
from sdch_tf.training.selection import grid_search, held_out_mask, held_out_score, recorded_choice, with_choice

def preprocessing(config: CMNNConfig):
    """None: CM-NN reads image features, not pixels (``registry.Method.inputs``)."""
    return None


def build(config: CMNNConfig, data: CrossModalData, split: Split, bits: int, seed: int) -> CMNN:
    keras.utils.set_random_seed(seed)
    images, texts, _ = training_arrays(data, split)
    image_net = build_net(images, config.hidden_units, bits, "image")
    text_net = build_net(texts, config.hidden_units, bits, "text")
    # margin None (chosen in fit): built with 1·√bits until then.
    margin = (1.0 if config.margin is None else config.margin) * np.sqrt(bits)
    model = CMNN(image_net, text_net, bits, margin, config.image_intra_weight, config.text_intra_weight, name="cmnn")
    model.compile(optimizers={"cmnn": make_optimizer(config.optimizer, config.learning_rate)})
    return finish_build(model, {"image": np.zeros((1, images.shape[1]), np.float32),
                                "text": np.zeros((1, texts.shape[1]), np.float32)})


def choose_margin(config: CMNNConfig, data: CrossModalData, split: Split, bits: int, seed: int,
                  verbose: int) -> tuple[float, dict]:
    """The margin (in units of √bits) from ``MARGIN_GRID``: CM-NN trained on a seeded
    (1 − held_out) of the training pairs per value, scored on the held-out pairs
    (``sdch_tf.training.selection``)."""
    train = np.asarray(split.train)
    held = held_out_mask(len(train), config.held_out, np.random.default_rng([seed, 13]))
    images, texts, labels = training_arrays(data, split)

    def score_of(margin):
        trial = build(dataclasses.replace(config, margin=margin), data, split, bits, seed)
        batches = train_batches(data, train[~held], config.batch_size, None, seed, stop_epoch=config.epochs)
        trial.fit(batches, epochs=config.epochs, steps_per_epoch=num_train_batches(int((~held).sum()), config.batch_size),
                  verbose=0, shuffle=False)
        return held_out_score(trial.encode_image(images), trial.encode_text(texts), labels, held, config.top_k)

    if verbose:
        print(f"Choosing CM-NN's margin on {config.held_out:.0%} held-out training pairs "
              f"({len(MARGIN_GRID)} values)", flush=True)
    return grid_search(MARGIN_GRID, score_of, lambda margin: f"margin {margin:g}·√bits", verbose)


def fit(model: CMNN, config: CMNNConfig, data: CrossModalData, split: Split, run_dir: str, seed: int,
        verbose: int = 1, observers=()) -> list[dict]:
    """Choose the margin (recorded in ``margin.json``, so an interrupted run does not choose again;
    ``training.selection.recorded_choice``), then train for ``config.epochs``; one record per epoch
    (mean loss terms, seconds), the first also holding the margin, its held-out score and the
    search's seconds (counted in its seconds)."""
    choice = recorded_choice(run_dir, "margin", config.margin,
                             lambda: choose_margin(config, data, split, model.bits, seed, verbose))
    model.margin = float(choice["margin"]) * float(np.sqrt(model.bits))
    return with_choice(fit_on_pairs(model, config, data, split, None, run_dir, seed, verbose, list(observers)),
                       choice, "margin")
