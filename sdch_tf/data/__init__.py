"""Datasets: the in-memory description, protocol splits, MAT-file readers, the tf.data pipeline.

``dataset`` and ``split`` (numpy only) are imported eagerly. The rest is imported on first
use (PEP 562): ``pipeline`` pulls in TensorFlow and ``mat``/``datasets`` h5py and scipy,
which ``sdch_tf.sdch.config`` — it imports this package for ``SyntheticConfig`` — does not need.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from sdch_tf.data.dataset import ArrayImages, CrossModalData, ImageSource
from sdch_tf.data.split import PROTOCOL_SIZES, Split, make_split

_LAZY = {
    # mat.py, mat_images.py
    "MatFileError": "mat",
    "HDF5Images": "mat_images",
    "mat_version": "mat",
    "list_variables": "mat",
    "read_array": "mat",
    "read_images": "mat_images",
    "write_mat_v5": "mat",
    "write_mat_v73": "mat",
    # datasets.py
    "DATASETS": "datasets",
    "DatasetFormatError": "datasets",
    "DatasetNotFoundError": "datasets",
    "SubsetImages": "datasets",
    "keep_top_concepts": "datasets",
    "load_dataset": "datasets",
    "top_concepts": "datasets",
    "write_mirflickr": "datasets",
    # pipeline.py
    "ImagePreprocessing": "pipeline",
    "image_batches": "pipeline",
    "preprocess_images": "pipeline",
    "text_batches": "pipeline",
    "train_batches": "pipeline",
    # synthetic.py
    "SyntheticConfig": "synthetic",
    "make_synthetic": "synthetic",
}

__all__ = ["ArrayImages", "CrossModalData", "ImageSource", "PROTOCOL_SIZES", "Split", "make_split", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"sdch_tf.data.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from sdch_tf.data.datasets import (DATASETS, DatasetFormatError, DatasetNotFoundError, SubsetImages,
                                       keep_top_concepts, load_dataset, top_concepts, write_mirflickr)
    from sdch_tf.data.mat import (MatFileError, list_variables, mat_version, read_array, write_mat_v5,
                                  write_mat_v73)
    from sdch_tf.data.mat_images import HDF5Images, read_images
    from sdch_tf.data.pipeline import (ImagePreprocessing, image_batches, preprocess_images, text_batches,
                                       train_batches)
    from sdch_tf.data.synthetic import SyntheticConfig, make_synthetic
