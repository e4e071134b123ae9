"""The configurations of SDCH's networks, without TensorFlow: a config can be read, compared
and digested (``run.results.config_digest``) without importing Keras."""
from __future__ import annotations

from dataclasses import dataclass

# Caffe's ILSVRC-2012 mean, in RGB order, belonging to bvlc_alexnet.npy (docs/reproduction.md §1).
CAFFE_IMAGENET_MEAN_RGB = (122.67891434, 116.66876762, 104.00698793)


@dataclass(frozen=True)
class ImageNetConfig:
    """AlexNet image pipeline: SDCH Table 1 with the corrections of docs/reproduction.md §1."""

    input_size: int = 227                 # SDCH §3.2: 227×227×3 input
    resize: int = 256                     # SDCH §4.1: images resized to 256×256, then cropped
    conv_filters: tuple[int, ...] = (96, 256, 384, 384, 256)  # SDCH Table 1, img-conv1..5
    fc_units: tuple[int, ...] = (4096, 4096)  # SDCH Table 1, img-fc1, img-fc2
    feature_dim: int = 256                # SDCH §3.2: k = 256 (img-fc3 replaces fc8)
    dropout: float = 0.5                  # docs/reproduction.md §1: as in the AlexNet being fine-tuned
    lrn: bool = True                      # SDCH §3.2: LRN after img-conv1 and img-conv2
    mean_rgb: tuple[float, float, float] = CAFFE_IMAGENET_MEAN_RGB  # docs/reproduction.md §1
    bgr: bool = True                      # bvlc_alexnet.npy expects BGR input (docs/reproduction.md §2)


@dataclass(frozen=True)
class TextNetConfig:
    """Text pipeline txt-fc1..txt-fc3 (SDCH §3.2, Table 1); ReLU on the first two."""

    fc_units: tuple[int, ...] = (4096, 4096)  # SDCH Table 1, txt-fc1, txt-fc2
    feature_dim: int = 256                # SDCH Table 1, txt-fc3 (= k)
