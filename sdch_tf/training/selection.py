"""SDCH §4.2's "determine the parameters of each method under comparison by cross-validation", as
the methods that choose a parameter per run do it: fit on a seeded share of the training pairs,
score the held-out pairs as queries against the fitted ones, keep the best setting. Labels are read
for this score only (an unsupervised method stays unsupervised in what it fits)."""
from __future__ import annotations

import numpy as np


def held_out_mask(n: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """bool (n,): a seeded ``fraction`` of n training pairs (at least one) held out for scoring."""
    held = np.zeros(n, bool)
    held[rng.choice(n, max(1, int(round(fraction * n))), replace=False)] = True
    return held


def held_out_score(image_codes: np.ndarray, text_codes: np.ndarray, labels: np.ndarray, held: np.ndarray,
                   top_k: int | None = 500) -> float:
    """The mean of mAP@top_k I→T and T→I with the held-out pairs as queries and the fitted pairs
    as the database; codes (n, bits) in {−1, +1} of all n training pairs, labels (n, C)."""
    from sdch_tf.retrieval.metrics import mean_average_precision

    i2t = mean_average_precision(image_codes[held], text_codes[~held], labels[held], labels[~held], top_k=top_k)
    t2i = mean_average_precision(text_codes[held], image_codes[~held], labels[held], labels[~held], top_k=top_k)
    return 0.5 * (i2t + t2i)
