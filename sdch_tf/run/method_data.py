"""The data one method trains and is scored on: images, or for the feature-based methods image CNN
features in their place (docs/features.md, "Feature-based methods").

A feature-based method (``registry.Method.inputs == "features"``) reads what SDCH §4.2 gives the
shallow rows of its tables: "CNN feature with 4096 dimensions extracted from the trained Alexnet"
for images, the bag-of-words for texts. Either

- ``config.features`` names a features file (``python -m sdch_tf.features``, or a foreign .mat
  layout): its features, texts, labels and split are used as they are, the split for every seed; or
- the features are extracted from the dataset with the preset's pretrained backbone
  (``config.backbone``, ``config.image_net``, ``config.weights``) and cached on disk
  (``feature_cache_dir``), keyed by the data, the net and its weights, so that every seed, code
  length and method reads the same features and the split is the protocol's, as for the deep
  methods.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os

import numpy as np

from sdch_tf import atomic
from sdch_tf.cache import cache_dir
from sdch_tf.data.dataset import CrossModalData, FeatureRows
from sdch_tf.data.loading import load_data
from sdch_tf.data.split import Split
from sdch_tf.input_errors import InputError
from sdch_tf.registry import Method


def feature_cache_dir() -> str:
    """Where extracted features are kept between runs (``sdch_tf.cache``)."""
    return cache_dir("features")


def load_method_data(method: Method, config, verbose: bool = True) -> CrossModalData:
    """The ``CrossModalData`` that ``method`` runs on under ``config`` (see the module docstring)."""
    features_file = getattr(config, "features", None)
    if method.inputs != "features":
        return load_data(config.data)
    if features_file:
        return data_from_features_file(features_file, config.data.dataset)
    return with_extracted_features(load_data(config.data), config, verbose)


def data_from_features_file(path: str, dataset: str) -> CrossModalData:
    """A features file as data: image features in place of images, with the file's split. The
    dataset name is the file's own record of it, else ``dataset`` (the command's)."""
    from sdch_tf.data.features import load_features

    feats = load_features(path)
    name = str(feats.attrs.get("dataset", dataset))
    split = Split(query=feats.query, database=feats.database, train=feats.train, seed=-1)
    return CrossModalData(name=name, images=FeatureRows(feats.image_features), texts=feats.texts,
                          labels=feats.labels, split=split)


def with_extracted_features(data: CrossModalData, config, verbose: bool = True) -> CrossModalData:
    """``data`` with its images replaced by their features from the config's pretrained backbone,
    read from the cache when a previous run extracted them, else extracted and cached."""
    path = cached_features_path(data, config)
    if os.path.exists(path):
        features = np.load(path)
        if features.shape[0] != data.num_samples:
            raise InputError(f"the cached features {path} hold {features.shape[0]} rows for {data.num_samples} "
                             f"{data.name} samples; delete the file to extract them again")
        if verbose:
            print(f"Reading the {config.backbone} features of {data.name} from the cache ({path})")
    else:
        features = extract_features(data, config, verbose)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic.atomic_write(path, lambda f: np.save(f, features))
        if verbose:
            print(f"Cached the features in {path}")
    return dataclasses.replace(data, images=FeatureRows(features))


def extract_features(data: CrossModalData, config, verbose: bool = True) -> np.ndarray:
    """float32 (N, d): every image of ``data`` through the backbone, preprocessed as the method
    that owns the backbone preprocesses it (``python -m sdch_tf.features`` does the same)."""
    from sdch_tf import registry
    from sdch_tf.nets.backbones import BACKBONES, FEATURE_LAYERS, feature_blocks, feature_model

    model, _ = feature_model(config.backbone, config)
    prep = registry.get_method(BACKBONES[config.backbone].method).preprocessing(config)
    if verbose:
        print(f"Extracting {config.backbone} {FEATURE_LAYERS[config.backbone]} features (d = "
              f"{int(model.output.shape[-1])}) of {data.num_samples} {data.name} images, {prep.crop}×{prep.crop} "
              "centre crops")
    return np.concatenate(list(feature_blocks(model, data, prep, config.eval_batch_size, verbose)), axis=0)


def cached_features_path(data: CrossModalData, config) -> str:
    """The cache file of ``data``'s features under ``config``'s backbone: named by a digest of the
    data (shapes, texts, labels, a sample of images), the image-net config and the weights file's bytes."""
    from sdch_tf.configs import pretrained_weights

    weights = pretrained_weights(config)
    digest = hashlib.sha1()
    digest.update(json.dumps({"backbone": config.backbone, "image_net": dataclasses.asdict(config.image_net),
                              "num_samples": data.num_samples, "image_shape": list(data.image_shape)},
                             sort_keys=True).encode())
    digest.update(np.ascontiguousarray(data.texts).tobytes())
    digest.update(np.ascontiguousarray(data.labels).tobytes())
    sample = np.linspace(0, data.num_samples - 1, num=min(64, data.num_samples)).astype(np.int64)
    digest.update(np.ascontiguousarray(data.images.read(sample)).tobytes())
    if weights is not None:
        with open(weights, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    name = f"{data.name}-{config.backbone}-{config.preset}-{digest.hexdigest()[:12]}.npy"
    return os.path.join(feature_cache_dir(), name)
