"""Build and train DCMH for one code length and seed (DCMH Algorithm 1; code process_DCMH.m).

``build`` returns the untrained model (scored once before training by the shared
experiment); ``fit`` runs the outer iterations with ``keras.Model.fit``, one Keras epoch per
iteration, and resumes from the run directory's checkpoint.
"""
from __future__ import annotations

import functools
import itertools

import keras
import numpy as np
import tensorflow as tf

from baselines.dcmh.callbacks import LogspaceLearningRate, ObjectiveLog
from baselines.dcmh.config import DCMHConfig
from baselines.dcmh.model import DCMH, IMAGE_STEP, TEXT_STEP
from baselines.dcmh.nets import build_image_net, build_text_net
from sdch_tf.callbacks import UpdateCodes
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.pipeline import ImagePreprocessing, train_batches
from sdch_tf.data.split import Split
from sdch_tf.nets.scaling import initialization_batch, rescale_outputs
from sdch_tf.nets.vggf import load_vggf, read_vggf_mean
from sdch_tf.training import fit_resumable

# Training samples the data-dependent output scale is measured on (config.output_std > 0).


@functools.lru_cache(maxsize=4)
def _file_mean(path: str) -> tuple[float, float, float]:
    return read_vggf_mean(path)["mean_rgb"]


def preprocessing(config: DCMHConfig) -> ImagePreprocessing:
    """Resize/crop of the image config; the mean is the weights file's when one is given
    (its average image reduced to channel means), else the config's."""
    mean = _file_mean(config.weights) if config.weights else config.image_net.mean_rgb
    return ImagePreprocessing(resize=config.image_net.resize, crop=config.image_net.input_size,
                              mean_rgb=tuple(mean), bgr=config.image_net.bgr)


def make_optimizer(config: DCMHConfig, learning_rate: float) -> keras.optimizers.Optimizer:
    """One network's optimiser; the code's update is plain gradient descent with weight decay
    5e-4 applied as lr·wd·w (update_net.m), which Keras' ``weight_decay`` does for SGD."""
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate, weight_decay=config.weight_decay)
    if config.optimizer == "momentum":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, weight_decay=config.weight_decay)
    return keras.optimizers.Adam(learning_rate, weight_decay=config.weight_decay)


def build(config: DCMHConfig, data: CrossModalData, split: Split, bits: int, seed: int) -> DCMH:
    """A compiled, built, untrained DCMH model; CNN-F weights loaded when ``config.weights``."""
    keras.utils.set_random_seed(seed)
    image_net = build_image_net(config.image_net, bits, config.init_std)
    if config.weights:
        load_vggf(image_net, config.weights)
    train = np.asarray(split.train)
    text_mean = np.asarray(data.texts[train], np.float64).mean(axis=0) if config.text_zero_mean else None
    text_net = build_text_net(data.text_dim, config.text_hidden, bits, config.init_std, text_mean)
    model = DCMH(image_net, text_net, bits, np.asarray(data.labels[train], np.float32), config.gamma, config.eta,
                 normalizer=config.batch_size * len(train), name="dcmh")
    model.compile(optimizers={"image": make_optimizer(config, config.lr_start),
                              "text": make_optimizer(config, config.lr_start)},
                  jit_compile=config.jit_compile)
    size = config.image_net.input_size
    model({"image": np.zeros((1, size, size, 3), np.float32), "text": np.zeros((1, data.text_dim), np.float32)})
    # Optimiser slots must exist before the first step: the steps run inside tf.cond branches.
    model.build_optimizers()
    if config.output_std > 0:
        batch = initialization_batch(data, train, preprocessing(config))
        rescale_outputs(model.image_net, model.text_net, batch, config.output_std)
    return model


def text_pass(data: CrossModalData, split: Split, batch_size: int, image_size: int, seed: int,
              start_epoch: int = 0) -> tf.data.Dataset:
    """The text-net pass of each epoch: every training sample once, in the order drawn from
    ``np.random.default_rng([seed, epoch, 1])`` (the image pass's stream is [seed, epoch]).

    Elements have the keys and specs of ``pipeline.train_batches`` plus 'step' = TEXT_STEP;
    'image' is an empty (0, s, s, 3) batch: the text step does not read images, and decoding
    them for it would cost as much as the image pass's input pipeline.
    """
    rows = np.asarray(split.train)
    texts = np.asarray(data.texts[rows], np.float32)
    labels = np.asarray(data.labels[rows], np.float32)
    epochs = itertools.count(int(start_epoch))
    empty = np.zeros((0, image_size, image_size, 3), np.float32)

    def batches():
        order = np.random.default_rng([int(seed), next(epochs), 1]).permutation(len(rows)).astype(np.int32)
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            yield {"image": empty, "text": texts[index], "label": labels[index], "index": index,
                   "step": np.full(len(index), TEXT_STEP, np.int32)}

    spec = {"image": tf.TensorSpec((None, image_size, image_size, 3), tf.float32),
            "text": tf.TensorSpec((None, texts.shape[1]), tf.float32),
            "label": tf.TensorSpec((None, labels.shape[1]), tf.float32),
            "index": tf.TensorSpec((None,), tf.int32), "step": tf.TensorSpec((None,), tf.int32)}
    dataset = tf.data.Dataset.from_generator(batches, output_signature=spec)
    return dataset.apply(tf.data.experimental.assert_cardinality(-(-len(rows) // batch_size)))


def epoch_batches(data: CrossModalData, split: Split, config: DCMHConfig, seed: int,
                  start_epoch: int = 0) -> tf.data.Dataset:
    """One iteration = one outer iteration of DCMH Algorithm 1: a pass of image-net batches
    over the training set, then a pass of text-net batches, each in a fresh random order.

    Elements are ``pipeline.train_batches`` dicts plus 'step' (b,) int32 (IMAGE_STEP or
    TEXT_STEP). Epoch e's passes are drawn from the seed and e alone (``train_batches`` and
    ``text_pass``), so a run resumed after epoch e continues the same sequence.
    """
    images = train_batches(data, split.train, config.batch_size, preprocessing(config), seed,
                           start_epoch=start_epoch)
    images = images.map(lambda batch: {**batch, "step": tf.fill(tf.shape(batch["index"]), IMAGE_STEP)})
    texts = text_pass(data, split, config.batch_size, config.image_net.input_size, seed, start_epoch)
    return images.concatenate(texts).prefetch(tf.data.AUTOTUNE)


def fit(model: DCMH, config: DCMHConfig, data: CrossModalData, split: Split, run_dir: str, seed: int,
        verbose: int = 1) -> list[dict]:
    """Train for ``config.epochs`` outer iterations; returns one record per epoch (mean step
    losses of each network, J of Eq. 2, seconds). Checkpointed after every epoch in ``run_dir``."""
    return fit_resumable(
        model,
        lambda start: epoch_batches(data, split, config, seed, start),
        config.epochs,
        [LogspaceLearningRate(config.lr_start, config.lr_end, config.epochs),
         ObjectiveLog(np.asarray(data.labels[np.asarray(split.train)], np.float32)),
         UpdateCodes()],
        run_dir,
        verbose,
    )
