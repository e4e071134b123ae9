"""Numeric precision of training: ``--precision {fp32,bf16,fp16}`` (Keras mixed precision).

The paper trains in float32 (Caffe/MatConvNet era, SDCH §4.2); bf16 and fp16 are offered for
GPUs with tensor cores. Under a mixed policy the convolutions and dense layers compute in the
low precision while every variable — weights, B, the recorded Z — stays float32, and SDCH
computes fc4 and all its losses in float32 (``SDCH.hash_layer`` has dtype float32 and the
features are cast before the losses), because Eq. 4 sums softplus over b² pairs and Eq. 7
squares Gram matrices: sums far outside fp16's range of 65,504. fp16 also needs loss
scaling, so that small gradients do not flush to zero: each optimiser is wrapped in a
``keras.optimizers.LossScaleOptimizer`` (dynamic scale; a step whose gradients overflow is
skipped and the scale halved; see ``wrap_optimizer`` for the initial scale). bf16 has
float32's exponent range and needs none.
"""
from __future__ import annotations

import contextlib

import keras

from sdch_tf.input_errors import InputError

# --precision value → Keras dtype policy.
POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


def check(precision: str) -> str:
    if precision not in POLICIES:
        raise InputError(f"unknown precision {precision!r}; choose one of {', '.join(POLICIES)}")
    return precision


@contextlib.contextmanager
def policy(precision: str):
    """Layers built inside use ``precision``'s dtype policy; the previous global policy is restored after.

    Keras reads the global policy when a layer is constructed, so only model building needs to
    run inside; training and encoding follow the layers' own policies.
    """
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(POLICIES[check(precision)])
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def wrap_optimizer(optimizer: keras.optimizers.Optimizer | None, precision: str):
    """``optimizer`` with dynamic loss scaling under fp16; unchanged otherwise (and None stays None)."""
    if optimizer is None or check(precision) != "fp16":
        return optimizer
    # Keras starts the dynamic scale at 2^15, sized for mean losses of order 1. SDCH's losses
    # are sums over b² pairs (~10^3–10^5 per batch), so their gradients are large already and
    # the risk is overflow, not underflow: at 2^15 the first ~20 steps overflow and are skipped
    # while the scale halves down. Start at 1; the scale still doubles after 2,000 finite steps.
    return keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=1.0)
