"""SDCH's two feature pipelines (SDCH §3.2, Table 1): the AlexNet image net and the text MLP,
both ending in k-d features; the shared hash layer fc4 is part of the model (``model.SDCH``)."""
from __future__ import annotations

import keras

from sdch_tf.nets.alexnet import build_image_net, load_bvlc_alexnet, pretrained_variables
from sdch_tf.nets.text import build_text_net
from sdch_tf.configs import pretrained_weights


def build_nets(config, text_dim: int) -> tuple[keras.Model, keras.Model, list]:
    """(image net, text net, the pretrained image variables): AlexNet with ``config.weights``
    (bvlc_alexnet.npy) loaded when given, else randomly initialised (then no variable is
    pretrained and every image layer trains at the feature rate)."""
    image_net = build_image_net(config.image_net)
    pretrained = []
    if pretrained_weights(config):
        load_bvlc_alexnet(image_net, pretrained_weights(config))
        pretrained = pretrained_variables(image_net)
    text_net = build_text_net(config.text_net, text_dim)
    return image_net, text_net, pretrained
