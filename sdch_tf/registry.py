"""The registry of hashing methods behind ``python -m sdch_tf.train --method``.

A method supplies its configuration presets and three functions; everything else — data,
split, the input pipeline, the evaluator, result files — is shared, so that every method is
scored like for like.

    preset(name) -> config        a frozen dataclass with at least the fields
                                  method, preset, bits, epochs, batch_size, top_k,
                                  eval_batch_size, weights, data (a DataConfig)
    build(config, data, split, bits, seed) -> hasher
                                  an untrained model with encode_image / encode_text
                                  returning codes in {−1, +1} (evaluation.Hasher)
    fit(hasher, config, data, split, run_dir, seed, verbose, observers) -> list of per-epoch records
                                  trains in place; checkpoints into run_dir and resumes;
                                  observers: keras callbacks to run after the method's
                                  own each epoch (the learning curve, --eval-every)
    preprocessing(config) -> ImagePreprocessing (None for a method whose inputs are "features")
    distributable                 True if its train_step gathers the global batch under
                                  tf.distribute (--distribute; sdch_tf.training.distribute)
    check(config, split)          optional: InputError for settings this split cannot train
    semi_supervised               True if the method uses unlabelled training items
                                  (split.labelled); otherwise, under --label-fraction < 1,
                                  it is given the labelled training items only

Each baseline module ``baselines.<name>`` exposes ``METHOD``; they are imported on first
use, so that ``--help`` and SDCH runs do not build the baselines.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from sdch_tf.input_errors import InputError


@dataclass(frozen=True)
class Method:
    name: str
    preset: Callable[[str], Any]
    build: Callable[..., Any]
    fit: Callable[..., list]
    preprocessing: Callable[[Any], Any]
    semi_supervised: bool = False
    # True if train_step computes its loss on the global batch under tf.distribute
    # (sdch_tf.training.distribute): only then does --distribute give the one-device gradients.
    distributable: bool = False
    # check(config, split): InputError for a configuration the method cannot train on this
    # split (e.g. RDCMH's bins per ranking list), before any run directory is made.
    check: Callable[[Any, Any], None] | None = None
    # The pretrained image-network file the paper preset needs (--weights), for messages.
    weights_file: str = "the pretrained image-network weights"
    # "images": the method trains its own image network on pixels; "features": it reads fixed
    # image CNN features (SDCH §4.2's shallow rows), given by --features FILE or extracted once by
    # the run layer (sdch_tf.run.method_data), and its preprocessing(config) is None.
    inputs: str = "images"
    # False for an unsupervised method (IMH, CorrAE, DBRC): it never reads a label, which result.json
    # records ("uses_labels"); give it semi_supervised=True so that --label-fraction leaves it every item.
    uses_labels: bool = True


# name → module that defines METHOD.
METHODS: dict[str, str] = {
    "sdch": "sdch_tf.sdch",
    "dcmh": "baselines.dcmh",
    "cmhn": "baselines.cmhn",
    "dspah": "baselines.dspah",
    "rdcmh": "baselines.rdcmh",
    "imh": "baselines.imh",
    "scm": "baselines.scm",
    "seph": "baselines.seph",
    "corrae": "baselines.corrae",
    "cmnn": "baselines.cmnn",
    "dbrc": "baselines.dbrc",
    "prdh": "baselines.prdh",
    "dvsh": "baselines.dvsh",
}


def get_method(name: str) -> Method:
    """The registered method ``name``; ``InputError`` (a ValueError) listing the valid names otherwise."""
    try:
        module = METHODS[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown method {name!r}; available: {', '.join(sorted(METHODS))}") from None
    return importlib.import_module(module).METHOD
