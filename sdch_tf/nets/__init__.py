"""The networks: SDCH's AlexNet image net and text MLP (SDCH §3.2, Table 1), the CNN-F / VGG-F
image net of DCMH, CMHN and RDCMH, and the ResNet-34 of DSPAH."""
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
from sdch_tf.nets.vggf import PaddedMaxPool2D, VGGFConfig, build_vggf, load_vggf, read_vggf_mean
from sdch_tf.nets.vggf import pretrained_variables as vggf_pretrained_variables

__all__ = [
    "BVLC_ALEXNET_SHAPES",
    "PRETRAINED_LAYERS",
    "GroupedConv2D",
    "LocalResponseNorm",
    "PaddedMaxPool2D",
    "VGGFConfig",
    "build_image_net",
    "build_text_net",
    "build_vggf",
    "load_bvlc_alexnet",
    "load_vggf",
    "pretrained_variables",
    "read_vggf_mean",
    "vggf_pretrained_variables",
]
