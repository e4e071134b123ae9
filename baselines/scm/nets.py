"""SCM's hash functions: one linear projection per modality on the centred features,
h(x) = (x − x̄) W, codes sign(h(x)) (demo_SCM.m: ``XTest * Wx >= 0`` after subtracting the training
mean; NOTES.md, "Centring")."""
from __future__ import annotations

import numpy as np

from sdch_tf.training.closed_form import LinearProjection


def random_projection(mean: np.ndarray, bits: int, rng: np.random.Generator) -> LinearProjection:
    """The untrained start: Gaussian directions through the training mean (random-projection
    hashing), the baseline every learned SCM run is compared with."""
    return LinearProjection(mean=np.asarray(mean, np.float64), weights=rng.standard_normal((len(mean), bits)))
