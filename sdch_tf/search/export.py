"""Export a run's two encoders as TensorFlow SavedModels that load without this package.

    OUT/image_encoder/   SavedModel, endpoint "serve": uint8 RGB images (b, H, W, 3) at the
                         dataset's stored size -> int8 codes (b, bits) in {−1, +1}; the
                         evaluator's preprocessing (resize, centre crop, mean, channel order)
                         is inside, and for a feature-based method the pretrained backbone too
    OUT/text_encoder/    SavedModel, endpoint "serve": float32 bag-of-words (b, d) -> int8 codes
    OUT/export.json      the run, bits, and each encoder's input and output

Load with TensorFlow alone, ``tf.saved_model.load("OUT/image_encoder").serve(images)``, or
with Keras alone, ``keras.layers.TFSMLayer("OUT/image_encoder", call_endpoint="serve")``.
SavedModels rather than ``.keras`` files: a ``.keras`` file stores the model's classes by
name, so loading SDCH's or a baseline's model from one needs this package's code.

What cannot be exported is said, not guessed: a hasher whose hash functions are computed in
numpy and are not linear projections (SePH's kernel projections), or a feature-based run
whose features came from a file (the network that made them is unknown; its image encoder
is then exported over feature rows). Each such part is one ``error:`` line.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile

import numpy as np

from sdch_tf import atomic
from sdch_tf.input_errors import InputError

MANIFEST = "export.json"
ENCODERS = {"image": "image_encoder", "text": "text_encoder"}


@dataclasses.dataclass
class ExportReport:
    """written: {modality: directory}; errors: {modality: why it was not exported}; notes."""

    written: dict
    errors: dict
    notes: list


def _sign(tf, z):
    """sign with sign(0) = +1, as ``training.itq.sign``: int8 in {−1, +1}."""
    return tf.cast(tf.where(z >= 0, 1, -1), tf.int8)


class _NumpyLinear:
    """A ``closed_form.LinearProjection`` as TensorFlow ops: (x − mean) W − offset, in float64 as
    the numpy version computes it."""

    def __init__(self, tf, projection):
        self.mean = tf.Variable(np.asarray(projection.mean, np.float64), trainable=False)
        self.weights = tf.Variable(np.asarray(projection.weights, np.float64), trainable=False)
        offset = projection.offset if projection.offset is not None else np.zeros(self.weights.shape[1])
        self.offset = tf.Variable(np.asarray(offset, np.float64), trainable=False)

    def __call__(self, tf, x):
        return tf.matmul(tf.cast(x, tf.float64) - self.mean, self.weights) - self.offset


def _hash_function(opened, modality: str):
    """(fn(tf, float32 network input) -> real codes, resources to track), or InputError."""
    import keras
    import tensorflow as tf

    hasher = opened.hasher()
    if isinstance(hasher, keras.Model) and hasattr(hasher, "encoding_output"):
        return (lambda tf_, x: hasher.encoding_output(modality, x)), [hasher]
    function = getattr(hasher, modality, None)
    if function is not None and {"mean", "weights", "offset"} <= set(vars(function)):
        linear = _NumpyLinear(tf, function)
        holder = tf.Module()
        holder.variables_ = [linear.mean, linear.weights, linear.offset]
        return (lambda tf_, x: linear(tf_, x)), [holder]
    raise InputError(f"the {modality} encoder of {opened.method.name} ({type(hasher).__name__}, "
                     f"{type(function).__name__ if function is not None else 'no function'}) is computed in numpy "
                     "and is not a linear projection: it cannot be exported as a TensorFlow graph")


def _image_input(opened):
    """(input spec, fn(tf, uint8 or feature input) -> network input, resources, description)."""
    import tensorflow as tf

    from sdch_tf.data.pipeline import preprocess_images

    data = opened.data
    if not data.has_features:
        h, w = data.images.shape[1:3]
        spec = tf.TensorSpec((None, h, w, 3), tf.uint8)
        return spec, (lambda x: preprocess_images(x, opened.prep)), [], f"uint8 RGB images (b, {h}, {w}, 3)"
    if getattr(opened.config, "features", None):
        d = data.image_shape[0]
        spec = tf.TensorSpec((None, d), tf.float32)
        return spec, (lambda x: x), [], f"float32 image features (b, {d}) as in {opened.config.features}"
    from sdch_tf.nets.backbones import BACKBONES, feature_model
    from sdch_tf import registry

    model, _ = feature_model(opened.config.backbone, opened.config)
    prep = registry.get_method(BACKBONES[opened.config.backbone].method).preprocessing(opened.config)
    h, w = opened.image_size()
    spec = tf.TensorSpec((None, h, w, 3), tf.uint8)
    return (spec, (lambda x: model(preprocess_images(x, prep), training=False)), [model],
            f"uint8 RGB images (b, {h}, {w}, 3) through the {opened.config.backbone} backbone")


def export_encoder(opened, modality: str, directory: str) -> dict:
    """Write ``modality``'s encoder of the opened run as a SavedModel at ``directory`` (replaced as a
    whole); returns its manifest entry. ``InputError`` when it cannot be exported."""
    import keras
    import tensorflow as tf

    hash_fn, resources = _hash_function(opened, modality)
    if modality == "image":
        spec, to_input, more, description = _image_input(opened)
        resources = resources + more
    else:
        spec = tf.TensorSpec((None, opened.data.text_dim), tf.float32)
        to_input, description = (lambda x: x), f"float32 bag-of-words (b, {opened.data.text_dim})"

    @tf.function(input_signature=[spec])
    def serve(x):
        return _sign(tf, tf.cast(hash_fn(tf, to_input(x)), tf.float32))

    archive = keras.export.ExportArchive()
    for resource in resources:
        archive.track(resource)
    archive.add_endpoint("serve", serve)
    parent = os.path.dirname(os.path.abspath(directory))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(directory)}.{atomic.TEMP_PREFIX}")
    try:
        archive.write_out(os.path.join(staging, "model"), verbose=False)
        atomic.replace_directory(os.path.join(staging, "model"), os.path.abspath(directory))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"directory": os.path.basename(directory), "endpoint": "serve", "input": description,
            "input_dtype": spec.dtype.name, "input_shape": [None if d is None else int(d) for d in spec.shape],
            "output": f"int8 codes (b, {opened.bits}) in {{-1, +1}}"}


def export_run(opened, out: str) -> ExportReport:
    """Export both encoders of ``opened`` under ``out`` (see the module docstring)."""
    os.makedirs(out, exist_ok=True)
    written, errors, entries = {}, {}, {}
    for modality, name in ENCODERS.items():
        try:
            entries[modality] = export_encoder(opened, modality, os.path.join(out, name))
            written[modality] = os.path.join(out, name)
        except InputError as e:
            errors[modality] = str(e)
    manifest = {"run_id": opened.run_id, "run_dir": opened.run_dir, "method": opened.method.name,
                "dataset": opened.data.name, "bits": opened.bits, "encoders": entries,
                "not_exported": errors,
                "load": "tf.saved_model.load(DIR).serve(x) or keras.layers.TFSMLayer(DIR, call_endpoint='serve')"}
    atomic.atomic_write_json(os.path.join(out, MANIFEST), manifest)
    return ExportReport(written, errors, [])
