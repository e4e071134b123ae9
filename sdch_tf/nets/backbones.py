"""The pretrained image backbones of the comparison and their feature models: which method's
presets give each its shapes, the file its ``--weights`` loader reads, the layer features are taken
from (SDCH §4.2's "CNN feature ... extracted from the trained Alexnet"), and feature extraction in
batches. Used by ``python -m sdch_tf.pretrain``, ``python -m sdch_tf.features`` and the run layer's
feature input (``sdch_tf.run.method_data``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sdch_tf.input_errors import InputError


@dataclass(frozen=True)
class Backbone:
    """One pretrainable image network: whose preset gives its shapes, and the file it is written to."""

    name: str
    method: str        # the registry method whose cpu/smoke preset's image_net is pretrained
    weights_file: str  # the real file name its --weights loader reads


BACKBONES = {
    "alexnet": Backbone("alexnet", "sdch", "bvlc_alexnet.npy"),
    "vggf": Backbone("vggf", "dcmh", "imagenet-vgg-f.mat"),        # also CMHN's and RDCMH's shapes
    "resnet34": Backbone("resnet34", "dspah", "resnet34.npz"),
}
# The layer each backbone's features come from, recorded in features files.
FEATURE_LAYERS = {"alexnet": "fc7", "vggf": "fc7", "resnet34": "layer4_avgpool"}


def build_features(backbone: str, config):
    """The features model of ``backbone`` built from its image-net ``config``: preprocessed images →
    what a classifier reads, fc7 after its ReLU and dropout (AlexNet, CNN-F; dropout is the identity
    in inference) or the pooled last stage (ResNet-34, torchvision's avgpool). It holds every layer
    the weights file stores and no other (SDCH's img-fc3 is left out), so ``load_weights`` fills it."""
    import keras

    if backbone == "alexnet":
        from sdch_tf.nets.alexnet import build_image_net

        net = build_image_net(config)
        features = net.get_layer("drop7").output
    elif backbone == "vggf":
        from sdch_tf.nets.vggf import build_vggf

        net = build_vggf(config)
        features = net.output
    else:
        from sdch_tf.nets.resnet import build_resnet34

        net = build_resnet34(config)
        features = keras.layers.GlobalAveragePooling2D(name="avgpool")(net.outputs[-1])
    return keras.Model(net.input, features, name=f"{backbone}_features")


def load_weights(backbone: str, model, path: str):
    """Load the weights file at ``path`` into ``model`` with ``backbone``'s real ``--weights`` loader."""
    if backbone == "alexnet":
        from sdch_tf.nets.alexnet import load_bvlc_alexnet as load
    elif backbone == "vggf":
        from sdch_tf.nets.vggf import load_vggf as load
    else:
        from sdch_tf.nets.resnet import load_torchvision_resnet as load
    return load(model, path)


def feature_model(backbone: str, config):
    """(Keras model: preprocessed images (b, s, s, 3) → float32 (b, d) features, the image-net
    config it was built from), with the pretrained file of ``config`` loaded by the backbone's loader."""
    from sdch_tf.configs import pretrained_weights

    path = pretrained_weights(config)
    if path is None:
        raise InputError(f"the {config.preset} preset of {config.method} names no pretrained weights in this install "
                         f"and none was given: pass --weights PATH (a {BACKBONES[backbone].weights_file} file)"
                         f"{standin_hint(config.preset)}")
    image_config = config.image_net
    if backbone == "vggf":
        # The file's weights expect the mean-subtracted 0–255 pixels (the presets rescale for training from scratch).
        image_config = dataclasses.replace(image_config, input_scale=1.0)
    model = build_features(backbone, image_config)
    load_weights(backbone, model, path)
    return model, image_config


def feature_blocks(model, data, prep, batch_size: int, verbose: bool = True):
    """float32 (b, d) feature blocks of every image of ``data`` in order, ``batch_size`` at a time,
    with a progress bar; a few batches are read and preprocessed ahead, never the whole set."""
    import keras
    import numpy as np
    import tensorflow as tf

    from sdch_tf.data.pipeline import image_batches

    # One trace for every batch size, the last partial batch included.
    @tf.function(input_signature=[tf.TensorSpec((None, prep.crop, prep.crop, 3), tf.float32)])
    def forward(images):
        return model(images, training=False)

    n = data.num_samples
    bar = keras.utils.Progbar(n, unit_name="image", verbose=1 if verbose else 0)
    done = 0
    for images in image_batches(data, np.arange(n), batch_size, prep):
        block = forward(images).numpy()
        done += len(block)
        bar.update(done)
        yield block




def standin_hint(preset: str) -> str:
    """How to get stand-in weights for a cpu or smoke preset (for error messages)."""
    if preset == "paper":
        return ""
    return f", e.g. one written by python -m sdch_tf.pretrain --size {preset}"
