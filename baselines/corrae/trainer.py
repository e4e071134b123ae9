"""Build and train CorrAE for one code length and seed (the ``Method`` functions).

``build`` gives the untrained model: RBM stacks at deepnet's initialisation, code layers and
decoders likewise (the untrained score). ``fit`` trains the two RBM stacks by CD on the training
features and texts (rbm.py; written to ``rbm_stacks.npz`` in the run directory, so that an
interrupted run does not train them again), freezes them, and trains the Corr-AE on their top
representations with ``keras.Model.fit``, ``config.steps_per_epoch`` steps per recorded epoch.
CorrAE reads no label.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from baselines.corrae.config import ALPHA_GRID, CorrAEConfig
from baselines.corrae.model import CorrAE
from baselines.corrae.nets import build_decoder, build_encoder
from baselines.corrae.optimizer import deepnet_sgd
from baselines.corrae.rbm import RBM, batch_order, initial_rbm, train_stack
from sdch_tf.atomic import atomic_write
from sdch_tf.cache import cache_dir
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.split import Split
from sdch_tf.input_errors import CorruptRunFile
from sdch_tf.nets.standardize import column_statistics
from sdch_tf.training.closed_form import signs, training_arrays
from sdch_tf.training.fit import fit_resumable
from sdch_tf.training.hashing_model import finish_build
from sdch_tf.training.selection import grid_search, held_out_mask, held_out_score, recorded_choice, with_choice

STACKS_FILE = "rbm_stacks.npz"


def preprocessing(config: CorrAEConfig):
    """None: CorrAE reads image features, not pixels (``registry.Method.inputs``)."""
    return None


def build(config: CorrAEConfig, data: CrossModalData, split: Split, bits: int, seed: int) -> CorrAE:
    keras.utils.set_random_seed(seed)
    image_dim, text_dim = int(data.image_shape[-1]), int(data.text_dim)
    image_net, image_stack = build_encoder(image_dim, config.image_rbms, bits, "image")
    text_net, text_stack = build_encoder(text_dim, config.text_rbms, bits, "text")
    # α None (chosen in fit): the model is built with the script's 0.8 until then.
    alpha = 0.8 if config.alpha is None else config.alpha
    model = CorrAE(image_net, text_net, build_decoder(bits, config.image_rbms[-1].hidden_units, "image"),
                   build_decoder(bits, config.text_rbms[-1].hidden_units, "text"), bits, alpha, name="corrae")
    images, _, _ = training_arrays(data, split)
    rng = np.random.default_rng([seed, 3])
    image_stack.set_stack(initial_stack(config.image_rbms, image_dim, rng), *column_statistics(images))
    text_stack.set_stack(initial_stack(config.text_rbms, text_dim, rng))
    model.compile(optimizers={"corrae": deepnet_sgd(config.learning_rate, config.rate_half_life,
                                                    config.initial_momentum, config.final_momentum,
                                                    config.momentum_change_steps, config.weight_decay)},
                  steps_per_execution=config.steps_per_execution)
    return finish_build(model, {"image": np.zeros((1, image_dim), np.float32),
                                "text": np.zeros((1, text_dim), np.float32)})


def initial_stack(configs, visible_units: int, rng: np.random.Generator) -> list[RBM]:
    """RBMs at deepnet's initialisation (``rbm.initial_rbm``), bottom first."""
    stack = []
    for config in configs:
        stack.append(initial_rbm(config, visible_units, rng))
        visible_units = config.hidden_units
    return stack


def save_stacks(path: str, image_rbms: list[RBM], text_rbms: list[RBM], mean, std, seconds: float) -> None:
    arrays = {"image_mean": mean, "image_std": std, "seconds": np.asarray(seconds)}
    for name, stack in (("image", image_rbms), ("text", text_rbms)):
        for level, rbm in enumerate(stack, start=1):
            arrays.update({f"{name}{level}_weights": rbm.weights, f"{name}{level}_visible_bias": rbm.visible_bias,
                           f"{name}{level}_hidden_bias": rbm.hidden_bias})
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_stacks(path: str, config: CorrAEConfig):
    """(image RBMs, text RBMs, mean, std, seconds) from ``save_stacks``' file."""
    try:
        with np.load(path) as f:
            stacks = []
            for name, configs in (("image", config.image_rbms), ("text", config.text_rbms)):
                stacks.append([RBM(c.visible, f[f"{name}{level}_weights"], f[f"{name}{level}_visible_bias"],
                                   f[f"{name}{level}_hidden_bias"], float(c.up_factor))
                               for level, c in enumerate(configs, start=1)])
            return stacks[0], stacks[1], f["image_mean"], f["image_std"], float(f["seconds"])
    except (OSError, ValueError, KeyError) as e:
        raise CorruptRunFile(f"{path} cannot be read ({e}); delete it to train the RBMs again") from None


def stacks_cache_path(config: CorrAEConfig, images: np.ndarray, texts: np.ndarray, seed: int) -> str:
    """The shared cache file of the RBM stacks trained on these training arrays with this seed and
    these RBM settings: they do not depend on the code length, so the runs of 16, 32 and 64 bits
    of one seed train them once (named by a digest of all of it; ``sdch_tf.cache``)."""
    digest = hashlib.sha1(json.dumps({"image_rbms": [dataclasses.asdict(c) for c in config.image_rbms],
                                      "text_rbms": [dataclasses.asdict(c) for c in config.text_rbms],
                                      "seed": int(seed)}, sort_keys=True).encode())
    for array in (images, texts):
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array, np.float32).tobytes())
    return os.path.join(cache_dir("stages"), f"corrae-rbm-stacks-{digest.hexdigest()[:16]}.npz")


def pretrain_stacks(model: CorrAE, config: CorrAEConfig, images: np.ndarray, texts: np.ndarray, run_dir: str,
                    seed: int, verbose: int) -> float:
    """Train (or read back: from the run directory, else from the shared cache) both RBM stacks
    and load them into the model; returns the seconds their training took."""
    path = os.path.join(run_dir, STACKS_FILE)
    cached = stacks_cache_path(config, images, texts, seed)
    if os.path.exists(path) or os.path.exists(cached):
        source = path if os.path.exists(path) else cached
        image_rbms, text_rbms, mean, std, seconds = load_stacks(source, config)
        if source == cached:
            save_stacks(path, image_rbms, text_rbms, mean, std, seconds)
        if verbose:
            print(f"The RBM stacks are read from {source}, not trained again (they took {seconds:.0f} s)")
    else:
        start = time.perf_counter()
        # deepnet's compute_data_stats.py for the Gaussian RBM's ``normalize: true``.
        mean, std = column_statistics(images)
        image_rbms = train_stack(config.image_rbms, (images - mean) / std, np.random.default_rng([seed, 5]),
                                 "image", verbose)
        text_rbms = train_stack(config.text_rbms, texts, np.random.default_rng([seed, 6]), "text", verbose)
        seconds = time.perf_counter() - start
        save_stacks(path, image_rbms, text_rbms, mean, std, seconds)
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        save_stacks(cached, image_rbms, text_rbms, mean, std, seconds)
    model.image_stack.set_stack(image_rbms, mean, std)
    model.text_stack.set_stack(text_rbms)
    return seconds


def epoch_batches(image_top: np.ndarray, text_top: np.ndarray, config: CorrAEConfig, seed: int,
                  start_epoch: int) -> tf.data.Dataset:
    """Epochs ``start_epoch`` .. ``config.epochs`` − 1, ``config.steps_per_epoch`` batches each of
    paired top representations {'image', 'text'}; epoch e's rows come from
    ``np.random.default_rng([seed, e])`` alone (passes in random order, ``rbm.batch_order``), so a
    resumed run continues the same sequence."""
    steps, batch_size = config.steps_per_epoch, config.batch_size
    n = len(image_top)

    def rows_of(epoch):
        rng = np.random.default_rng([int(seed), int(epoch)])
        return np.concatenate(list(batch_order(n, batch_size, steps, rng))).astype(np.int32)

    def one_epoch(epoch):
        rows = tf.numpy_function(rows_of, [epoch], tf.int32, name="corrae_rows")
        rows.set_shape((steps * batch_size,))
        return tf.data.Dataset.from_tensor_slices(rows).batch(batch_size)

    images, texts = tf.constant(image_top, tf.float32), tf.constant(text_top, tf.float32)
    plan = tf.data.Dataset.range(int(start_epoch), int(config.epochs)).flat_map(one_epoch)
    batches = plan.map(lambda rows: {"image": tf.gather(images, rows), "text": tf.gather(texts, rows)})
    total = steps * (int(config.epochs) - int(start_epoch))
    return batches.apply(tf.data.experimental.assert_cardinality(total)).prefetch(tf.data.AUTOTUNE)


def train_autoencoder(model: CorrAE, config: CorrAEConfig, image_top, text_top, seed: int, run_dir: str | None,
                      verbose: int, observers=()) -> list[dict]:
    """``config.epochs`` × ``config.steps_per_epoch`` steps of ``model`` on paired top
    representations; checkpointed in ``run_dir`` (resumable) when given."""
    def batches(start):
        return epoch_batches(image_top, text_top, config, seed, start)

    if run_dir is not None:
        return fit_resumable(model, batches, config.epochs, list(observers), run_dir, verbose,
                             steps_per_epoch=config.steps_per_epoch)
    history = model.fit(batches(0), epochs=config.epochs, steps_per_epoch=config.steps_per_epoch, verbose=0,
                        shuffle=False)
    return [{"loss": history.history["loss"][-1]}]


def choose_alpha(config: CorrAEConfig, data: CrossModalData, split: Split, bits: int, seed: int,
                 image_top: np.ndarray, text_top: np.ndarray, labels: np.ndarray, verbose: int) -> tuple[float, dict]:
    """α from ``ALPHA_GRID``: a Corr-AE trained on a seeded (1 − held_out) of the training pairs
    per value, scored on the held-out pairs (``sdch_tf.training.selection``); labels are read for
    this score only. Under --label-fraction only the labelled pairs take part."""
    rows = np.arange(len(image_top)) if split.labelled is None else np.flatnonzero(split.labelled)
    held = held_out_mask(len(rows), config.held_out, np.random.default_rng([seed, 13]))
    fit_rows = rows[~held]

    def score_of(alpha):
        trial = build(dataclasses.replace(config, alpha=alpha), data, split, bits, seed)
        train_autoencoder(trial, config, image_top[fit_rows], text_top[fit_rows], seed, None, 0)
        # sign of the pre-activation = the logistic code thresholded at ½.
        image_codes = signs(trial.image_code(image_top[rows]))
        text_codes = signs(trial.text_code(text_top[rows]))
        return held_out_score(image_codes, text_codes, labels[rows], held, config.top_k)

    if verbose:
        print(f"Choosing CorrAE's α on {config.held_out:.0%} held-out training pairs ({len(ALPHA_GRID)} values)",
              flush=True)
    return grid_search(ALPHA_GRID, score_of, lambda alpha: f"α {alpha:g}", verbose)


def fit(model: CorrAE, config: CorrAEConfig, data: CrossModalData, split: Split, run_dir: str, seed: int,
        verbose: int = 1, observers=()) -> list[dict]:
    """Train the RBM stacks, then the Corr-AE; one record per ``config.steps_per_epoch`` steps (mean
    loss and terms, seconds). The first record's seconds include the RBM stage's, also given
    alone as ``rbm_seconds`` (the time of their training, also when they were read from the cache)."""
    # The labels choose α only (choose_alpha); the RBMs and the Corr-AE never read them.
    images, texts, labels = training_arrays(data, split)
    images, texts = images.astype(np.float32), texts.astype(np.float32)
    rbm_seconds = pretrain_stacks(model, config, images, texts, run_dir, seed, verbose)
    image_top = np.asarray(model.image_stack(images))
    text_top = np.asarray(model.text_stack(texts))
    # Recorded in alpha.json: an interrupted run does not choose again (training.selection).
    choice = recorded_choice(run_dir, "alpha", config.alpha,
                             lambda: choose_alpha(config, data, split, model.bits, seed, image_top, text_top, labels,
                                                  verbose))
    model.alpha = float(choice["alpha"])
    if verbose:
        print(f"Training the Corr-AE (α {model.alpha:g}, {config.steps} steps of {config.batch_size} pairs)",
              flush=True)
    records = train_autoencoder(model, config, image_top, text_top, seed, run_dir, verbose, observers)
    return with_choice(records, choice, "alpha", rbm_seconds, rbm_seconds=rbm_seconds)
