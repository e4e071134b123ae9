"""Data-dependent initialisation of a network's last Dense layer.

The papers draw new layers "from a normal distribution" without a scale. With a randomly
initialised (not pretrained) image net that scale decides whether training starts at all:
its outputs can be orders of magnitude larger than the text net's, saturating the
sigmoids and tanh of the losses or collapsing one modality's codes (measured for SDCH on
the synthetic set, see ``SDCH.initialize_feature_scale``). Rescaling the last layer on a
batch of training samples puts both modalities at a chosen scale.
"""
from __future__ import annotations

import keras
import numpy as np

from sdch_tf.data.pipeline import image_batches


def rescale_output(net: keras.Model, inputs, target_std: float, centre: bool = True) -> None:
    """Scale (and with ``centre`` shift) ``net``'s last layer, a Dense, so that on ``inputs``
    the mean over output dimensions of the per-dimension std is ``target_std`` (and every
    output dimension has mean 0).

    Args:
        net: a model whose last layer is a Dense (kernel, bias), possibly followed by nothing else.
        inputs: a batch of the net's inputs, (b, ...), b ≥ 2.
    """
    layer = net.layers[-1]
    if not isinstance(layer, keras.layers.Dense):
        raise TypeError(f"{net.name}: the last layer must be a Dense to be rescaled, got {type(layer).__name__}")
    activation = layer.activation
    layer.activation = keras.activations.linear  # scale the pre-activation
    try:
        outputs = np.asarray(net(inputs, training=False), np.float64)
    finally:
        layer.activation = activation
    scale = target_std / max(float(outputs.std(axis=0).mean()), 1e-12)
    layer.kernel.assign(np.asarray(layer.kernel) * scale)
    bias = np.asarray(layer.bias) - outputs.mean(axis=0) if centre else np.asarray(layer.bias)
    layer.bias.assign(bias * scale)


# Training pairs the rescaling is measured on (the first of the training set, in split order).
INIT_SAMPLES = 256


def initialization_batch(data, train_indices, prep) -> tuple[np.ndarray, np.ndarray]:
    """The first ``INIT_SAMPLES`` training pairs: preprocessed images (b, s, s, 3) and texts (b, d)
    float32, the batch every method's data-dependent initialisation is measured on."""
    first = np.asarray(train_indices)[:INIT_SAMPLES]
    images = next(iter(image_batches(data, first, len(first), prep)))
    return images, np.asarray(data.texts[first], np.float32)


def rescale_outputs(image_net: keras.Model, text_net: keras.Model, batch, target_std: float) -> None:
    """``rescale_output`` of both networks on an ``initialization_batch`` (images, texts)."""
    images, texts = batch
    rescale_output(image_net, images, target_std)
    rescale_output(text_net, texts, target_std)
