"""IMH's hash functions: h(x) = (x − x̄) W − m per medium, codes sign(h(x)); m is each bit's median
over the training items (NOTES.md, "Thresholds")."""
from __future__ import annotations

import numpy as np

from sdch_tf.training.closed_form import LinearProjection


def random_projection(mean: np.ndarray, bits: int, rng: np.random.Generator) -> LinearProjection:
    """The untrained start: Gaussian directions through the training mean."""
    return LinearProjection(mean=np.asarray(mean, np.float64), weights=rng.standard_normal((len(mean), bits)))


def median_thresholded(mean: np.ndarray, weights: np.ndarray, centred_training_rows: np.ndarray) -> LinearProjection:
    """(x − x̄) W thresholded at each bit's median over the training items."""
    return LinearProjection(mean=mean, weights=weights, offset=np.median(centred_training_rows @ weights, axis=0))
