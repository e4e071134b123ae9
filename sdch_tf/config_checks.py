"""Range checks of a method's configuration, made once where the config is built, for every CLI.

A value outside its range would otherwise be replaced silently (``--num-query 0`` meaning the
protocol size), record a meaningless result (``--epochs 0``: the untrained networks reported as
trained), train something else (a negative loss weight) or fail deep inside training with a
traceback and an orphan run directory. ``check_config`` raises ``InputError`` naming the field
and the range; it knows fields by name, so every method's config is checked the same way, and a
method adds its own checks through ``Method.check`` (e.g. RDCMH's bins per batch).
"""
from __future__ import annotations

import dataclasses
import math

from sdch_tf.input_errors import InputError

# Counts: at least 1.
POSITIVE_INTS = ("epochs", "batch_size", "eval_batch_size", "eval_every", "top_k", "itq_iterations", "num_bins",
                 "text_hidden", "rate_scaled_from_bits")
# Learning rates and scales: > 0 (None allowed where the config says "not set").
POSITIVE = ("lr_feature", "lr_hash", "lr_pretrained", "lr_start", "lr_end", "lr_new", "lr_image", "lr_text",
            "learning_rate", "final_learning_rate", "svm_c", "input_scale", "init_std")
# Loss weights, margins, decays: >= 0 (a negative weight maximises its term).
NON_NEGATIVE = ("gamma", "beta1", "beta2", "beta3", "eta", "lam", "lambda1", "alpha", "margin", "weight_decay",
                "momentum",
                "output_std", "output_init_std")  # output scales: 0 (or None) turns the rescaling off
# Fractions in [0, 1).
FRACTIONS = ("momentum",)


def _where(field: str, flag: str | None) -> str:
    return f"{field} ({flag})" if flag else field


def check_config(config, flags: dict[str, str] | None = None) -> None:
    """Raise ``InputError`` for the first out-of-range value of ``config``.

    ``flags`` maps a field to the option that set it (e.g. {"epochs": "--epochs"}), for the message.
    """
    flags = flags or {}
    fields = {f.name for f in dataclasses.fields(config)}

    def fail(field, value, expected):
        raise InputError(f"{_where(field, flags.get(field))} = {value!r}: {expected}")

    bits = getattr(config, "bits", None)
    if bits is not None:
        if len(bits) == 0:
            fail("bits", bits, "give at least one code length")
        for b in bits:
            if isinstance(b, bool) or not isinstance(b, int) or b < 1:
                fail("bits", tuple(bits), "every code length must be a positive integer")
        repeated = sorted({b for b in bits if list(bits).count(b) > 1})
        if repeated:
            fail("bits", tuple(bits), f"{', '.join(map(str, repeated))} is given more than once (each code length "
                                      "is one row of the tables; use --runs for several seeds)")
    for name in fields:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not math.isfinite(value):
            fail(name, value, "must be a finite number")
        if name in POSITIVE_INTS and value < 1:
            fail(name, value, "must be at least 1")
        if name in POSITIVE and value <= 0:
            fail(name, value, "must be positive")
        if name in NON_NEGATIVE and value < 0:
            fail(name, value, "must not be negative (a negative weight maximises its term)")
        if name in FRACTIONS and not value < 1:
            fail(name, value, "must be below 1")
    data = getattr(config, "data", None)
    if data is not None:
        for name, flag in (("num_query", "--num-query"), ("num_train", "--num-train"), ("num_labels", "--num-labels")):
            value = getattr(data, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InputError(f"{flag} {value!r}: must be a positive integer (leave it out for the protocol's "
                                 "size)" if name != "num_labels" else f"{flag} {value!r}: must be a positive integer")
        fraction = data.label_fraction
        if not (isinstance(fraction, (int, float)) and 0 < fraction <= 1):
            raise InputError(f"--label-fraction {fraction!r}: must be in (0, 1]")


def check_seeds(seed: int, runs: int) -> None:
    """``--seed`` and ``--runs``: seeds are non-negative (NumPy's generators refuse others), runs ≥ 1."""
    if seed < 0:
        raise InputError(f"--seed {seed}: must not be negative")
    if runs < 1:
        raise InputError(f"--runs {runs}: must be at least 1")


def parse_bool(text: str) -> bool:
    """'true'/'false' (also 1/0, yes/no, on/off; any case) → bool; InputError otherwise.

    ``bool("false")`` is True, which is how a boolean override was once recorded wrongly.
    """
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise InputError(f"{text!r} is not a boolean; use true or false")
