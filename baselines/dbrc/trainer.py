"""Build and train DBRC for one code length and seed (the ``Method`` functions): ``fit`` trains on
the shared pipeline's training pairs (``training.fit.fit_on_pairs``, feature rows in place of
images) with per-epoch checkpoints. DBRC reads no label."""
from __future__ import annotations

import keras
import numpy as np

from baselines.dbrc.config import DBRCConfig
from baselines.dbrc.model import DBRC
from baselines.dbrc.nets import AdaptiveTanh, mlp
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.split import Split
from sdch_tf.nets.standardize import standardization
from sdch_tf.training.closed_form import training_arrays
from sdch_tf.training.fit import fit_on_pairs
from sdch_tf.training.hashing_model import finish_build
from sdch_tf.training.optimizers import make_optimizer


def preprocessing(config: DBRCConfig):
    """None: DBRC reads image features, not pixels (``registry.Method.inputs``)."""
    return None


def build(config: DBRCConfig, data: CrossModalData, split: Split, bits: int, seed: int) -> DBRC:
    keras.utils.set_random_seed(seed)
    images, texts, _ = training_arrays(data, split)  # the labels are not read
    image_dim, text_dim = images.shape[1], texts.shape[1]
    fusion = keras.layers.Dense(bits, name="fusion")
    fusion.build((None, 2 * config.encoder_units[-1]))
    hashing = AdaptiveTanh(config.initial_scale, name="adaptive_tanh")
    hashing.build((None, bits))
    model = DBRC(standardization(images, "image_standardise"), standardization(texts, "text_standardise"),
                 mlp(image_dim, config.encoder_units, None, "image_encoder"),
                 mlp(text_dim, config.encoder_units, None, "text_encoder"), fusion, hashing,
                 mlp(bits, config.decoder_units, image_dim, "image_decoder"),
                 mlp(bits, config.decoder_units, text_dim, "text_decoder"), bits, config.scale_penalty, name="dbrc")
    model.compile(optimizers={"dbrc": make_optimizer(config.optimizer, config.learning_rate)})
    return finish_build(model, {"image": np.zeros((1, image_dim), np.float32),
                                "text": np.zeros((1, text_dim), np.float32)})


def fit(model: DBRC, config: DBRCConfig, data: CrossModalData, split: Split, run_dir: str, seed: int,
        verbose: int = 1, observers=()) -> list[dict]:
    """Train for ``config.epochs`` epochs; one record per epoch (mean loss terms, seconds)."""
    return fit_on_pairs(model, config, data, split, None, run_dir, seed, verbose, list(observers))
