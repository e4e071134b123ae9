"""Optimisers by name, for every method's parameter groups."""
from __future__ import annotations

import keras


def make_optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    """The optimiser for one parameter group (the paper names none: docs/reproduction.md §1)."""
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate)
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    raise ValueError(f"unknown optimizer {name!r}; choose adam, sgd or momentum")
