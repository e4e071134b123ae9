"""Hash functions on fixed features, learned by a solver rather than by ``keras.Model.fit``.

The feature-based methods of SDCH Tables 2–3 (SCM, SePH, IMH, …) learn their hash functions in
closed form or by their own iterations on image CNN features and bag-of-words texts
(docs/features.md). What they share lives here:

- ``LinearProjection``: h(x) = (x − mean) W, the hash function of most of them (codes = sign h);
- ``FeatureHasher``: the evaluator's ``Hasher`` over per-modality functions of feature rows;
- ``fit_solved``: the run directory's files for a solver — one recorded "epoch" (the solve, its
  statistics and duration, in ``epochs.jsonl``) and the solution in ``checkpoint.npz``, so that a
  run interrupted after the solve (during the evaluation) does not solve again.

No TensorFlow: the solvers work in numpy (float64), the evaluator hands over batches it reads.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from sdch_tf.atomic import atomic_write, atomic_write_text
from sdch_tf.input_errors import CorruptRunFile

CHECKPOINT_FILE = "checkpoint.npz"
EPOCH_LOG_FILE = "epochs.jsonl"


def signs(values: np.ndarray) -> np.ndarray:
    """int8 codes in {−1, +1} of real values (n, bits): the sign, with 0 → +1 (docs/reproduction.md §3)."""
    return np.where(np.asarray(values) >= 0, 1, -1).astype(np.int8)


@dataclass
class LinearProjection:
    """h(x) = (x − mean) W − offset.

    Attributes:
        mean: float64 (d,) subtracted first (the training mean; zeros for none).
        weights: float64 (d, bits).
        offset: float64 (bits,) per-bit threshold (e.g. the training median); None: 0.
    """

    mean: np.ndarray
    weights: np.ndarray
    offset: np.ndarray | None = None

    def __call__(self, rows) -> np.ndarray:
        """float64 (n, bits) of float rows (n, d)."""
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != self.mean.shape[0]:
            raise ValueError(f"expected rows of shape (n, {self.mean.shape[0]}), got {rows.shape}")
        projected = (rows - self.mean) @ self.weights
        return projected if self.offset is None else projected - self.offset


def random_projection(mean: np.ndarray, bits: int, rng: np.random.Generator) -> LinearProjection:
    """Gaussian directions through ``mean`` (random-projection hashing): the untrained start of
    the linear methods, the baseline their learned runs are compared with."""
    return LinearProjection(mean=np.asarray(mean, np.float64), weights=rng.standard_normal((len(mean), bits)))


def random_projections(data, split, bits: int, seed: int) -> tuple[LinearProjection, LinearProjection]:
    """(image, text) random projections through the training items' means, drawn from ``seed``."""
    images, texts, _ = training_arrays(data, split)
    rng = np.random.default_rng(seed)
    return random_projection(images.mean(axis=0), bits, rng), random_projection(texts.mean(axis=0), bits, rng)


class FeatureHasher:
    """Codes of feature rows: sign(image(x)) and sign(text(y)), each function mapping float (n, d)
    to float (n, bits); ``state`` / ``load_state`` name the arrays a checkpoint keeps."""

    def __init__(self, bits: int, image: Callable | None = None, text: Callable | None = None):
        self.bits = int(bits)
        self.image = image
        self.text = text

    def encode_image(self, rows, batch_size: int = 256) -> np.ndarray:
        return self._encode(self.image, rows, "image")

    def encode_text(self, rows, batch_size: int = 256) -> np.ndarray:
        return self._encode(self.text, rows, "text")

    def _encode(self, function, rows, modality: str) -> np.ndarray:
        if function is None:
            raise RuntimeError(f"the {modality} hash function is not learned yet")
        values = function(np.asarray(rows))
        if values.shape[-1] != self.bits:
            raise ValueError(f"the {modality} hash function gave {values.shape[-1]} bits, expected {self.bits}")
        return signs(values)

    def state(self) -> dict[str, np.ndarray]:
        """The learned arrays by name (override: every method knows its own)."""
        raise NotImplementedError

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError


class LinearHasher(FeatureHasher):
    """codes = sign((x − x̄) W − offset) per modality (``LinearProjection``); the checkpoint keeps
    each modality's mean, weights and offset (zeros for none)."""

    VIEWS = ("image", "text")

    def __init__(self, bits: int, image: LinearProjection, text: LinearProjection):
        super().__init__(bits, image, text)

    def state(self) -> dict[str, np.ndarray]:
        out = {}
        for view in self.VIEWS:
            f = getattr(self, view)
            offset = np.zeros(self.bits) if f.offset is None else f.offset
            out.update({f"{view}_mean": f.mean, f"{view}_weights": f.weights, f"{view}_offset": offset})
        return out

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        for view in self.VIEWS:
            setattr(self, view, LinearProjection(arrays[f"{view}_mean"], arrays[f"{view}_weights"],
                                                 arrays[f"{view}_offset"]))


def fit_solved(hasher: FeatureHasher, solve: Callable[[], dict], run_dir: str, verbose: int = 1) -> list[dict]:
    """Run ``solve()`` (it sets the hasher's functions and returns its statistics as floats) unless
    ``run_dir`` holds its solution; returns the one epoch record {epoch, phase, seconds, …}."""
    checkpoint_path = os.path.join(run_dir, CHECKPOINT_FILE)
    log_path = os.path.join(run_dir, EPOCH_LOG_FILE)
    if os.path.exists(checkpoint_path) and os.path.exists(log_path):
        try:
            with np.load(checkpoint_path) as f:
                hasher.load_state({k: f[k] for k in f.files})
            with open(log_path, encoding="utf-8") as f:
                records = [json.loads(line) for line in f if line.strip()]
        except (OSError, ValueError, KeyError) as e:
            raise CorruptRunFile(f"run file in {run_dir} cannot be read ({e}); delete the run directory to "
                                 "solve again") from None
        if verbose:
            print(f"Resuming: the solution in {checkpoint_path} is read, not solved again")
        return records
    start = time.perf_counter()
    stats = solve()
    record = {"epoch": 1, "phase": "solve", "seconds": time.perf_counter() - start,
              **{k: float(v) for k, v in stats.items()}}
    state = hasher.state()
    atomic_write(checkpoint_path, lambda f: np.savez(f, **state))
    atomic_write_text(log_path, json.dumps(record) + "\n")
    if verbose:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in record.items() if k not in ("epoch", "phase"))
        print(f"Solved: {shown}")
    return [record]


def training_arrays(data, split) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float64 image features, texts and labels of the training items (rows of ``split.train``)."""
    if not data.has_features:
        raise ValueError(f"{data.name}: a feature-based method needs image features, got images of shape "
                         f"{data.image_shape} (sdch_tf.run.method_data gives them)")
    rows = np.asarray(split.train)
    return (np.asarray(data.images.read(rows), np.float64), np.asarray(data.texts[rows], np.float64),
            np.asarray(data.labels[rows], np.float64))
