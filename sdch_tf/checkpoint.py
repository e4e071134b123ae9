"""Training checkpoints.

A checkpoint is one ``.npz`` holding every model variable (weights, B, recorded Z, and the
state of the dropout layers' seed generators, so that a resumed run draws the same masks), every
optimiser variable (Adam moments and step counts) and the number of finished epochs. It is
written to a temporary file and renamed into place, so an interruption at any moment leaves
either the previous checkpoint or the new one, never a torn file.
"""
from __future__ import annotations

import numpy as np

from sdch_tf.atomic import atomic_write


def _optimizers(model):
    if getattr(model, "optimizers_by_name", None):
        return dict(model.optimizers_by_name)
    names = ("feature_optimizer", "hash_optimizer", "pretrained_optimizer")
    return {n: getattr(model, n) for n in names if getattr(model, n, None) is not None}


def save(path, model, epoch: int):
    """Checkpoint ``model``: an ``SDCH`` (its three optimiser attributes) or a model with an
    ``optimizers_by_name`` dict (``sdch_tf.hashing_model.CrossModalHashingModel``)."""
    arrays = {"epoch": np.asarray(epoch)}
    for i, v in enumerate(model.variables):
        arrays[f"model/{i}"] = np.asarray(v)
    for name, opt in _optimizers(model).items():
        for i, v in enumerate(opt.variables):
            arrays[f"{name}/{i}"] = np.asarray(v)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def restore(path, model) -> int:
    """Load a checkpoint written by ``save`` into a built, compiled model; returns the epoch.

    The optimisers are built first so that their slots exist to receive the saved state.
    """
    model.build_optimizers()
    with np.load(path) as ckpt:
        groups = {"model": list(model.variables)}
        groups.update({name: list(opt.variables) for name, opt in _optimizers(model).items()})
        saved_groups = {k.split("/")[0] for k in ckpt.files if "/" in k}
        if saved_groups != set(groups):
            raise ValueError(
                f"checkpoint {path} holds {sorted(saved_groups)}, the model has {sorted(groups)}; "
                "it was written by a different configuration"
            )
        for name, variables in groups.items():
            saved = sorted((k for k in ckpt.files if k.startswith(name + "/")), key=lambda k: int(k.split("/")[1]))
            if len(saved) != len(variables):
                raise ValueError(
                    f"checkpoint {path}: {len(saved)} {name} variables saved, the model has {len(variables)}; "
                    "it was written by a different configuration"
                )
            for key, var in zip(saved, variables):
                value = ckpt[key]
                if tuple(value.shape) != tuple(var.shape):
                    raise ValueError(
                        f"checkpoint {path}: {key} has shape {value.shape}, {var.path} expects {tuple(var.shape)}"
                    )
                var.assign(value)
        return int(ckpt["epoch"])
