"""The dataset a data configuration names, without TensorFlow (the figures load it for Figure 3's
pictures and words; ``run.experiment`` for a run)."""
from __future__ import annotations

from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.datasets import DATASETS, load_dataset
from sdch_tf.data.synthetic import make_synthetic
from sdch_tf.input_errors import InputError

# SDCH §4.1 uses the 22 most frequent IAPR TC-12 concepts; releases with 255 labels are cut to them.
DEFAULT_NUM_LABELS = {"iapr": 22}


def load_data(cfg) -> CrossModalData:
    """The dataset a DataConfig names; real datasets are read from local files only.

    Raises ``InputError`` (or its subclasses ``DatasetNotFoundError``, ``DatasetFormatError``)
    for an unknown name, missing or malformed files, with a message naming what is wrong.
    """
    if cfg.dataset == "synthetic":
        return make_synthetic(cfg.synthetic)
    if cfg.dataset not in DATASETS:
        raise InputError(f"unknown dataset {cfg.dataset!r}; choose one of {', '.join(['synthetic', *DATASETS])} "
                         "(synthetic is embedded and needs no files)")
    num_labels = cfg.num_labels if cfg.num_labels is not None else DEFAULT_NUM_LABELS.get(cfg.dataset)
    return load_dataset(cfg.dataset, cfg.data_dir or "data", num_labels=num_labels)
