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

from baselines.dcmh.callbacks import ObjectiveLog, logspace_rate
from baselines.dcmh.config import DCMHConfig
from baselines.dcmh.model import DCMH, IMAGE_STEP, TEXT_STEP
from baselines.dcmh.nets import build_image_net, build_text_net
from sdch_tf.training.callbacks import EpochLearningRate, UpdateCodes
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.pipeline import ImagePreprocessing, num_train_batches, train_batches
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


def text_pass(data: CrossModalData, split: Split, batch_size: int, image_size: int, seed: int,
              start_epoch: int, stop_epoch: int) -> tf.data.Dataset:
    """The text-net passes of epochs ``start_epoch`` .. ``stop_epoch`` − 1: in each, every training
    sample once, in the order drawn from ``np.random.default_rng([seed, epoch, 1])`` (the image
    pass's stream is [seed, epoch]).

    Elements have the keys and specs of ``pipeline.train_batches`` plus 'step' = TEXT_STEP;
    'image' is an empty (0, s, s, 3) batch: the text step does not read images, and decoding
    them for it would cost as much as the image pass's input pipeline. Stateless like
    ``train_batches(..., stop_epoch=)``: every iterator yields the same batches.
    """
    rows = np.asarray(split.train)
    # The training texts and labels are held in memory; images never are (the image pass streams them).
    texts = np.asarray(data.texts[rows], np.float32)
    labels = np.asarray(data.labels[rows], np.float32)
    n = len(rows)

    def order_of(epoch):
        return np.random.default_rng([int(seed), int(epoch), 1]).permutation(n).astype(np.int32)

    def one_epoch(epoch):
        order = tf.numpy_function(order_of, [epoch], tf.int32, name="text_order")
        order.set_shape((n,))
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    def read(index):
        text, label = tf.numpy_function(lambda i: (texts[i], labels[i]), [index], [tf.float32, tf.float32],
                                        name="read_text_batch")
        text.set_shape((None, texts.shape[1]))
        label.set_shape((None, labels.shape[1]))
        return {"image": tf.zeros((0, image_size, image_size, 3), tf.float32), "text": text, "label": label,
                "index": index, "step": tf.fill(tf.shape(index), TEXT_STEP)}

    plan = tf.data.Dataset.range(int(start_epoch), int(stop_epoch)).flat_map(one_epoch)
    return plan.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def steps_per_epoch(num_train: int, batch_size: int) -> int:
    """Steps of one outer iteration: an image pass and a text pass of the training set."""
    return 2 * num_train_batches(num_train, batch_size)


def epoch_batches(data: CrossModalData, split: Split, config: DCMHConfig, seed: int, start_epoch: int = 0,
                  stop_epoch: int | None = None) -> tf.data.Dataset:
    """Epochs ``start_epoch`` .. ``stop_epoch`` − 1 (default ``config.epochs``) in sequence, each
    one outer iteration of DCMH Algorithm 1: a pass of image-net batches over the training set,
    then a pass of text-net batches, each in a fresh random order; ``steps_per_epoch`` batches
    per epoch (give that to ``fit(steps_per_epoch=)``).

    Elements are ``pipeline.train_batches`` dicts plus 'step' (b,) int32 (IMAGE_STEP or
    TEXT_STEP). Epoch e's passes are drawn from the seed and e alone (``train_batches`` and
    ``text_pass``), and every iterator of the dataset yields the same batches — Keras under a
    ``tf.distribute`` strategy makes one to peek at a batch and discards it — so a run resumed
    after epoch e (``start_epoch=e``) continues the same sequence.
    """
    stop_epoch = config.epochs if stop_epoch is None else int(stop_epoch)
    if stop_epoch <= int(start_epoch):
        raise ValueError(f"stop_epoch must exceed start_epoch, got {start_epoch} .. {stop_epoch}")
    images = train_batches(data, split.train, config.batch_size, preprocessing(config), seed,
                           start_epoch=start_epoch, stop_epoch=stop_epoch)
    images = images.map(lambda batch: {**batch, "step": tf.fill(tf.shape(batch["index"]), IMAGE_STEP)})
    texts = text_pass(data, split, config.batch_size, config.image_net.input_size, seed, start_epoch, stop_epoch)
    # Per epoch: the image pass's batches (dataset 0), then the text pass's (dataset 1).
    per_pass = num_train_batches(len(split.train), config.batch_size)
    epochs = stop_epoch - int(start_epoch)
    choice = tf.data.Dataset.from_tensor_slices(np.repeat(np.array([0, 1], np.int64), per_pass)).repeat(epochs)
    batches = tf.data.Dataset.choose_from_datasets([images, texts], choice)
    total = steps_per_epoch(len(split.train), config.batch_size) * epochs
    return batches.apply(tf.data.experimental.assert_cardinality(total)).prefetch(tf.data.AUTOTUNE)


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
