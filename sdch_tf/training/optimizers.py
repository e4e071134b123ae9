"""Optimisers by name, for every method's parameter groups."""
from __future__ import annotations

import keras


def make_optimizer(name: str, learning_rate: float, momentum: float = 0.9,
                   weight_decay: float | None = None) -> keras.optimizers.Optimizer:
    """The optimiser for one parameter group: "adam", "sgd", "momentum" (SGD with ``momentum``) or
    "rmsprop".

    ``weight_decay``: Keras' decoupled decay, lr·wd·w per step for SGD (DCMH's update_net.m);
    None: none (a method that puts its decay in the loss, as CMHN, leaves it None).
    """
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, weight_decay=weight_decay)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, weight_decay=weight_decay)
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate, momentum=momentum, weight_decay=weight_decay)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; choose adam, sgd, momentum or rmsprop")
