"""The registry of hashing methods behind ``python -m sdch_tf.train --method``.

A method supplies its configuration presets and two functions; everything else — data,
split, the input pipeline, the evaluator, result files — is shared, so that every method is
scored like for like.

    preset(name) -> config        a frozen dataclass with at least the fields
                                  method, preset, bits, epochs, batch_size, top_k,
                                  eval_batch_size, weights, data (a DataConfig)
    build(config, data, split, bits, seed) -> hasher
                                  an untrained model with encode_image / encode_text
                                  returning codes in {−1, +1} (evaluation.Hasher)
    fit(hasher, config, data, split, run_dir, seed, verbose) -> list of per-epoch records
                                  trains in place; checkpoints into run_dir and resumes
    preprocessing(config) -> ImagePreprocessing
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sdch_tf import config as sdch_config
from sdch_tf import trainer as sdch_trainer


@dataclass(frozen=True)
class Method:
    name: str
    preset: Callable[[str], Any]
    build: Callable[..., Any]
    fit: Callable[..., list]
    preprocessing: Callable[[Any], Any]


METHODS: dict[str, Method] = {
    "sdch": Method("sdch", sdch_config.preset, sdch_trainer.build, sdch_trainer.fit, sdch_trainer.preprocessing),
}


def get_method(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; available: {', '.join(sorted(METHODS))}") from None
