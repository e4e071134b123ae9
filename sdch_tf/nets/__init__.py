"""SDCH's two feature pipelines (SDCH §3.2, Table 1): the AlexNet image net and the text MLP."""
from sdch_tf.nets.alexnet import (
    BVLC_ALEXNET_SHAPES,
    PRETRAINED_LAYERS,
    GroupedConv2D,
    LocalResponseNorm,
    build_image_net,
    load_bvlc_alexnet,
    pretrained_variables,
)
from sdch_tf.nets.text import build_text_net

__all__ = [
    "BVLC_ALEXNET_SHAPES",
    "PRETRAINED_LAYERS",
    "GroupedConv2D",
    "LocalResponseNorm",
    "build_image_net",
    "build_text_net",
    "load_bvlc_alexnet",
    "pretrained_variables",
]
