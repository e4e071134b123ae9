"""DVSH's networks (docs/baselines-research/dvsh.md §3; DEFAULT choices in NOTES.md).

- Image: AlexNet conv1–fc7 (``sdch_tf.nets.alexnet``), one trunk with two new heads: the image
  hashing network's ``image_hash`` (fc7 → K, tanh: u, E5) and the fusion network's ``fusion_image``
  (fc7 → K: h^x, E1).
- Text: a bag of words becomes a word sequence (``BagToSequence``); the text hashing network is an
  embedding, an LSTM and a per-step ``text_hash`` (→ K, tanh: v_t, E6), its code the masked mean of
  the v_t; the fusion network's text branch is an embedding and two LSTM layers (the second is the
  fusion layer) with a per-step ``fusion_text`` (→ K: h^y_t, E2–E3).
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from baselines.dvsh.losses import masked_mean
from sdch_tf.nets.alexnet import build_image_net as build_alexnet
from sdch_tf.nets.alexnet import load_bvlc_alexnet, pretrained_variables
from sdch_tf.nets.configs import ImageNetConfig


@keras.saving.register_keras_serializable(package="sdch_tf.dvsh")
class BagToSequence(keras.layers.Layer):
    """Bag of words (b, d) → word ids (b, T) int32: the present words (count > 0) in ascending
    vocabulary order, word w as w + 1, padded with 0 after the last word and cut after T words; an
    empty bag becomes the one reserved id d + 1 (so that every sequence has a step).
    (NOTES.md, "Words from a bag": DVSH reads sentences; the datasets here are bags.)"""

    def __init__(self, max_words: int, **kwargs):
        super().__init__(**kwargs)
        if max_words < 1:
            raise ValueError(f"max_words must be positive, got {max_words}")
        self.max_words = int(max_words)

    def call(self, bags):
        d = tf.shape(bags)[1]
        # The first present words in vocabulary order are the largest of d − index.
        score = tf.where(bags > 0, tf.cast(d - tf.range(d), tf.int32)[None, :], 0)
        top = tf.math.top_k(score, k=tf.minimum(self.max_words, d))
        ids = tf.where(top.values > 0, top.indices + 1, 0)
        empty = tf.reduce_all(tf.equal(ids, 0), axis=1, keepdims=True)
        first = tf.where(empty, d + 1, ids[:, :1])
        ids = tf.concat([first, ids[:, 1:]], axis=1)
        # Fixed width T, also for a vocabulary smaller than T.
        return tf.pad(ids, [[0, 0], [0, self.max_words - tf.shape(ids)[1]]])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.max_words)

    def get_config(self):
        return {**super().get_config(), "max_words": self.max_words}


@keras.saving.register_keras_serializable(package="sdch_tf.dvsh")
class StepMean(keras.layers.Layer):
    """The masked mean over the word steps (E4): (b, T, K) and ids (b, T) → (b, K)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, steps, ids, mask=None):
        return masked_mean(steps, sequence_mask(ids))

    def compute_mask(self, inputs, mask=None):
        return None


def sequence_mask(ids: tf.Tensor) -> tf.Tensor:
    """π (b, T) float32: 1 at the steps holding a word."""
    return tf.cast(ids > 0, tf.float32)


def max_words_of(bags: np.ndarray, percentile: float) -> int:
    """T: the ``percentile`` of the number of present words per bag (at least 1)."""
    counts = (np.asarray(bags) > 0).sum(axis=1)
    return max(1, int(np.ceil(np.percentile(counts, percentile)))) if len(counts) else 1


def build_image_nets(config: ImageNetConfig, bits: int, weights: str | None):
    """(image_net, image_both, pretrained variables): image_net maps float32 (b, S, S, 3) images to
    u ∈ (−1, 1)^K; image_both to [u, h^x] from one trunk pass. bvlc_alexnet.npy loaded when given."""
    alexnet = build_alexnet(config)
    pretrained = []
    if weights:
        load_bvlc_alexnet(alexnet, weights)
        pretrained = pretrained_variables(alexnet)
    trunk = alexnet.get_layer("drop7").output  # fc7 after its ReLU (and dropout in training)
    u = keras.layers.Dense(bits, activation="tanh", dtype="float32", name="image_hash")(trunk)
    hx = keras.layers.Dense(bits, dtype="float32", name="fusion_image")(trunk)
    image_net = keras.Model(alexnet.input, u, name="image_net")
    image_both = keras.Model(alexnet.input, [u, hx], name="image_both")
    return image_net, image_both, pretrained


def build_text_nets(text_dim: int, max_words: int, embedding: int, units: int, bits: int):
    """(text_net, text_steps, fusion_text), each on float32 bags (b, text_dim):
    text_net → v (b, K), the masked mean of v_t; text_steps → [v_t (b, T, K), ids (b, T)];
    fusion_text → h^y_t (b, T, K)."""
    bags = keras.Input(shape=(text_dim,), dtype="float32", name="text")
    ids = BagToSequence(max_words, name="words")(bags)
    vocabulary = text_dim + 2   # 0 = padding, d + 1 = the empty bag

    x = keras.layers.Embedding(vocabulary, embedding, mask_zero=True, name="text_embedding")(ids)
    x = keras.layers.LSTM(units, return_sequences=True, name="text_lstm")(x)
    v_steps = keras.layers.Dense(bits, activation="tanh", dtype="float32", name="text_hash")(x)
    text_steps = keras.Model(bags, [v_steps, ids], name="text_steps")
    v = StepMean(name="text_code")(v_steps, ids)
    text_net = keras.Model(bags, v, name="text_net")

    y = keras.layers.Embedding(vocabulary, embedding, mask_zero=True, name="fusion_embedding")(ids)
    y = keras.layers.LSTM(units, return_sequences=True, name="fusion_lstm1")(y)
    y = keras.layers.LSTM(units, return_sequences=True, name="fusion_lstm2")(y)
    hy_steps = keras.layers.Dense(bits, dtype="float32", name="fusion_text")(y)
    fusion_text = keras.Model(bags, hy_steps, name="fusion_text")
    return text_net, text_steps, fusion_text
