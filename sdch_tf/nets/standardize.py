"""Inputs standardised by their training statistics: the first layer of the networks that read
fixed features or bag-of-words rows (CorrAE's Gaussian RBM, CM-NN, DBRC)."""
from __future__ import annotations

import keras
import numpy as np


def column_statistics(rows) -> tuple[np.ndarray, np.ndarray]:
    """float32 (mean, std) per column of the training rows (n, d), computed in float64; a constant
    column gets std 1, so that it maps to 0 rather than NaN."""
    rows = np.asarray(rows, np.float64)
    std = rows.std(axis=0)
    return rows.mean(axis=0).astype(np.float32), np.where(std > 0, std, 1.0).astype(np.float32)


def standardization(rows, name: str) -> keras.layers.Normalization:
    """A fixed layer x ↦ (x − mean) / std with the statistics of the training rows (n, d)."""
    mean, std = column_statistics(rows)
    return keras.layers.Normalization(mean=mean, variance=np.square(std), name=name)
