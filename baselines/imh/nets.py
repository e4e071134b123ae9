"""IMH's hash functions: h(x) = (x − x̄) W − m per medium, codes sign(h(x)); m is each bit's median
over the training items (NOTES.md, "Thresholds"). The untrained start is
``training.closed_form.random_projection``."""
from __future__ import annotations

import numpy as np

from sdch_tf.training.closed_form import LinearProjection


def median_thresholded(mean: np.ndarray, weights: np.ndarray, centred_training_rows: np.ndarray) -> LinearProjection:
    """(x − x̄) W thresholded at each bit's median over the training items."""
    return LinearProjection(mean=mean, weights=weights, offset=np.median(centred_training_rows @ weights, axis=0))
