"""Checks every method on DCMH's alternating loop (sdch_tf.training.alternating) must pass: a step
trains its own network and writes its own buffer's batch rows, nothing else; B after an epoch is
sign(F + G). Used by the DCMH and PRDH tests."""
from __future__ import annotations

import numpy as np

from sdch_tf.training.alternating import IMAGE_STEP


def snapshot(model) -> dict:
    return {"image": [v.numpy().copy() for v in model.image_net.trainable_variables],
            "text": [v.numpy().copy() for v in model.text_net.trainable_variables],
            "F": model.image_outputs.numpy().copy(), "G": model.text_outputs.numpy().copy(),
            "B": model.codes.numpy().copy()}


def randomize_state(model, seed: int = 1) -> None:
    """Non-zero buffers and codes, so that every term of a step has a gradient."""
    rng = np.random.default_rng(seed)
    model.image_outputs.assign(rng.standard_normal(model.image_outputs.shape).astype(np.float32))
    model.text_outputs.assign(rng.standard_normal(model.text_outputs.shape).astype(np.float32))
    model.codes.assign(np.sign(rng.standard_normal(model.codes.shape)).astype(np.float32))


def check_step_changes_its_network_and_buffer_rows_only(model, batch, step: int, num_train: int) -> dict:
    """One ``train_step`` on ``batch`` (all of ``step``); returns its logs."""
    before = snapshot(model)
    logs = model.train_step(batch)
    after = snapshot(model)
    mine, other = ("image", "text") if step == IMAGE_STEP else ("text", "image")
    own_buffer, other_buffer = ("F", "G") if step == IMAGE_STEP else ("G", "F")
    assert all(not np.array_equal(a, b) for a, b in zip(before[mine], after[mine]))
    assert all(np.array_equal(a, b) for a, b in zip(before[other], after[other]))
    np.testing.assert_array_equal(after[other_buffer], before[other_buffer])
    np.testing.assert_array_equal(after["B"], before["B"])
    rows = batch["index"].numpy()
    untouched = np.setdiff1d(np.arange(num_train), rows)
    np.testing.assert_array_equal(after[own_buffer][untouched], before[own_buffer][untouched])
    assert not np.allclose(after[own_buffer][rows], before[own_buffer][rows])
    assert float(logs[f"{mine}_loss"]) > 0 and float(logs[f"{other}_loss"]) == 0.0
    return logs


def check_codes_after_an_epoch_are_sign_of_f_plus_g(model, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    F, G = (rng.standard_normal(model.codes.shape).astype(np.float32) for _ in range(2))
    model.image_outputs.assign(F)
    model.text_outputs.assign(G)
    model.update_codes(0)
    np.testing.assert_array_equal(model.codes.numpy(), np.where(F + G >= 0, 1.0, -1.0))
