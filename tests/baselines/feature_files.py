"""Small features files for the feature-based methods' command-line tests: items whose image
features and texts carry their labels, written in the project's format (docs/features.md) with the
smoke preset's split sizes (40 queries, 200 database items, the first 96 of them for training)."""
from __future__ import annotations

import numpy as np

from sdch_tf.data.features import FeatureData, write_features


def multilabel_toy(rng: np.random.Generator, n: int = 240, concepts: int = 6):
    """(labels uint8 (n, concepts), features float32 (n, 20), binary texts float32 (n, 30)): every
    item has at least one label; features and texts are noisy functions of the labels."""
    labels = (rng.random((n, concepts)) < 0.25).astype(np.uint8)
    labels[labels.sum(axis=1) == 0, 0] = 1
    features = (labels @ rng.normal(size=(concepts, 20)) + 0.3 * rng.normal(size=(n, 20))).astype(np.float32)
    texts = ((labels @ rng.random((concepts, 30)) + rng.random((n, 30))) > 1.0).astype(np.float32)
    return labels, features, texts


def write_toy_features(path, rng: np.random.Generator, labels, features, texts):
    """A features file of dataset "toy" at ``path`` with a split drawn from ``rng``; returns ``path``."""
    perm = rng.permutation(len(labels))
    write_features(path, FeatureData(image_features=features, texts=texts, labels=labels, query=perm[:40],
                                     database=perm[40:], train=perm[40:136], attrs={"dataset": "toy"}))
    return path


def train_on_features(method: str, path, tmp_path, monkeypatch, *options: str) -> int:
    """``python -m sdch_tf.train --method METHOD --preset smoke --features PATH --out TMP/out --quiet
    OPTIONS``, with the extraction cache under TMP/cache; returns the exit status."""
    from sdch_tf import train

    monkeypatch.setenv("SDCH_TF_CACHE", str(tmp_path / "cache"))
    return train.main(["--method", method, "--preset", "smoke", "--features", str(path), "--out",
                       str(tmp_path / "out"), *options, "--quiet"])
