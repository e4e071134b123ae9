"""Training checkpoints.

A checkpoint is one ``.npz`` holding every model variable (weights, B, recorded Z, and the
state of the dropout layers' seed generators, so that a resumed run draws the same masks), every
optimiser variable (Adam moments and step counts), the number of finished epochs, and the
*identity* of the run it belongs to: JSON data naming everything the training sequence depends
on besides the epoch — the method, code length, seed, configuration and split (see
``training.fit_resumable``). The data order and crops of epoch e are a pure function of the seed,
the split and e (``pipeline.train_batches``, the baselines' batch plans), and the schedule phase
a pure function of e (``sdch.schedule.StagedSchedule``), so weights + optimiser state + epoch +
identity are the complete training state. A checkpoint is only restored into the run it names.

It is written to a temporary file and renamed into place, so an interruption at any moment
leaves either the previous checkpoint or the new one, never a torn file.
"""
from __future__ import annotations

import json
import zipfile

import numpy as np

from sdch_tf.atomic import atomic_write
from sdch_tf.input_errors import CorruptRunFile, InputError

IDENTITY_KEY = "identity"


class CheckpointMismatch(InputError):
    """A checkpoint that does not belong to the run or model it is restored into; the message
    names the file, what differs, and what it holds vs what the run expects."""


def optimizers_of(model) -> dict:
    """{group name: optimiser} of a model (``hashing_model.TwoNetworkModel.optimizers_by_name``)."""
    return dict(getattr(model, "optimizers_by_name", None) or {})


# SDCH's optimiser groups as checkpoints written before its model shared the two-network base
# named them; such checkpoints still resume.
_LEGACY_GROUPS = {"feature_optimizer": "feature", "hash_optimizer": "hash", "pretrained_optimizer": "pretrained"}


def _group_of(key: str) -> str:
    group = key.split("/")[0]
    return _LEGACY_GROUPS.get(group, group)


def normalized(identity) -> dict:
    """``identity`` as plain JSON data (tuples become lists), the form it is recorded in."""
    return json.loads(json.dumps(identity or {}, sort_keys=True))


def save(path, model, epoch: int, identity: dict | None = None):
    """Checkpoint ``model``: an ``SDCH`` (its three optimiser attributes) or a model with an
    ``optimizers_by_name`` dict (``sdch_tf.training.hashing_model.CrossModalHashingModel``), after
    ``epoch`` finished epochs of the run ``identity`` (JSON data)."""
    arrays = {"epoch": np.asarray(epoch), IDENTITY_KEY: np.asarray(json.dumps(normalized(identity), sort_keys=True))}
    for i, v in enumerate(model.variables):
        arrays[f"model/{i}"] = np.asarray(v)
    for name, opt in optimizers_of(model).items():
        for i, v in enumerate(opt.variables):
            arrays[f"{name}/{i}"] = np.asarray(v)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def corrupt(path, error: Exception) -> CorruptRunFile:
    """The error for an unreadable run file ``path``: names it, the reason, and the way out."""
    reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return CorruptRunFile(
        f"{path} cannot be read ({reason}); it may be truncated or corrupt. Delete it, or pass --fresh to "
        "train the run again from scratch (the recorded result, if any, is kept until the new one is finished)"
    )


# What np.load and zipfile raise for a truncated, corrupt or foreign .npz.
_NPZ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, json.JSONDecodeError)


def _load(path):
    try:
        return np.load(path)
    except _NPZ_ERRORS as e:
        raise corrupt(path, e) from None


def read_identity(path) -> dict:
    """The run identity recorded in a checkpoint ({} for a checkpoint written without one)."""
    with _load(path) as ckpt:
        try:
            return json.loads(str(ckpt[IDENTITY_KEY])) if IDENTITY_KEY in ckpt.files else {}
        except _NPZ_ERRORS as e:
            raise corrupt(path, e) from None


def read_epoch(path) -> int:
    """The number of finished epochs a checkpoint holds."""
    with _load(path) as ckpt:
        try:
            return int(ckpt["epoch"])
        except _NPZ_ERRORS as e:
            raise corrupt(path, e) from None


def differences(recorded, expected, prefix: str = "") -> list[str]:
    """'key: recorded X, expected Y' for every (dotted) key where two JSON dicts differ."""
    lines = []
    for key in sorted(set(recorded) | set(expected), key=str):
        name = f"{prefix}{key}"
        a, b = recorded.get(key, "<absent>"), expected.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            lines += differences(a, b, name + ".")
        elif a != b:
            lines.append(f"{name}: recorded {_short(a)}, this run {_short(b)}")
    return lines


def _short(value, limit: int = 60) -> str:
    text = value if value == "<absent>" else json.dumps(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def check_identity(path, expected: dict | None):
    """Raise ``CheckpointMismatch`` unless the checkpoint at ``path`` was written by the run ``expected``."""
    recorded, expected = read_identity(path), normalized(expected)
    if not recorded and expected:
        raise CheckpointMismatch(
            f"checkpoint {path} records no run identity (written by an older version), so it cannot be "
            "checked against this run; pass --fresh to discard it and train from scratch"
        )
    diff = differences(recorded, expected)
    if diff:
        shown = "; ".join(diff[:8]) + (f"; and {len(diff) - 8} more" if len(diff) > 8 else "")
        raise CheckpointMismatch(
            f"checkpoint {path} was written by another run, it cannot be resumed by this one ({shown}). "
            "Rerun the command that wrote it, or pass --fresh to discard it and train from scratch"
        )


def restore(path, model, identity: dict | None = None) -> int:
    """Load a checkpoint written by ``save`` into a built, compiled model; returns the epoch.

    Refuses (``CheckpointMismatch``) a checkpoint of another run (``identity`` differs: another
    seed, configuration, split…) or of another architecture, before changing any variable.
    The optimisers are built first so that their slots exist to receive the saved state.
    """
    check_identity(path, identity)
    model.build_optimizers()
    try:
        return _restore(path, model)
    except _NPZ_ERRORS as e:  # a member that cannot be decompressed or parsed
        raise corrupt(path, e) from None


def _restore(path, model) -> int:
    with _load(path) as ckpt:
        groups = {"model": list(model.variables)}
        groups.update({name: list(opt.variables) for name, opt in optimizers_of(model).items()})
        saved_groups = {_group_of(k) for k in ckpt.files if "/" in k}
        if saved_groups != set(groups):
            raise CheckpointMismatch(
                f"checkpoint {path} holds {sorted(saved_groups)}, the model has {sorted(groups)}; "
                "it was written by a different configuration"
            )
        pairs = []
        for name, variables in groups.items():
            saved = sorted((k for k in ckpt.files if "/" in k and _group_of(k) == name),
                           key=lambda k: int(k.split("/")[1]))
            if len(saved) != len(variables):
                raise CheckpointMismatch(
                    f"checkpoint {path}: {len(saved)} {name} variables saved, the model has {len(variables)}; "
                    "it was written by a different configuration"
                )
            for key, var in zip(saved, variables):
                value = ckpt[key]
                if tuple(value.shape) != tuple(var.shape):
                    raise CheckpointMismatch(
                        f"checkpoint {path}: {key} has shape {value.shape}, {var.path} expects {tuple(var.shape)}"
                    )
                pairs.append((var, value))
        # Assigned only once everything fits: a refused checkpoint leaves the model untouched.
        for var, value in pairs:
            var.assign(value)
        return int(ckpt["epoch"])
