"""RDCMH under --distribute: a mirrored run on two logical CPU devices trains like one device
(the runs: tests/two_devices.py).

A triplet's points may lie on another replica, so ``RDCMH.train_step`` gathers F and G of the
global batch (baselines/rdcmh/model.py).
"""
import numpy as np
import pytest

from tests import two_devices

SCOPES = ("batch", "train")

# Smoke preset, dropout off (a replica's dropout mask cannot equal a slice of the one-device mask),
# both triplet scopes. Batch 20 cuts the 96 training items into 5 batches of 20 or 19 queries, so
# the replicas get unequal slices, and with scope "train" (m = 4b items: queries, then each query's
# 1st, 2nd, 3rd point) the triplets on one replica have points on the other.
CONFIGURE = """
configs = {scope: dataclasses.replace(base, batch_size=20, triplet_scope=scope,
                                      image_net=dataclasses.replace(base.image_net, dropout=0.0),
                                      text_net=dataclasses.replace(base.text_net, dropout=0.0))
           for scope in ("batch", "train")}
"""
COLLECT = """
def collect(model, strategy, record, arrays):
    copies = strategy.experimental_local_results(model.codes)
    record["copies_agree"] = all(np.array_equal(np.asarray(c), np.asarray(copies[0])) for c in copies)
    arrays.update(train_codes=np.asarray(model.codes), image_outputs=np.asarray(model.image_outputs))
"""


@pytest.fixture(scope="module")
def two_device_runs(tmp_path_factory, onednn):
    return two_devices.run(tmp_path_factory.mktemp(f"rdcmh_distribute-onednn{onednn}"),
                           "rdcmh", CONFIGURE, COLLECT, onednn=onednn)


@pytest.mark.parametrize("scope", SCOPES)
def test_the_mirrored_run_uses_both_devices_and_keeps_one_buffer(two_device_runs, scope):
    logs, _ = two_device_runs
    two_devices.assert_both_devices_used(logs, scope)
    assert logs[f"{scope}/mirrored"]["copies_agree"]  # every replica's copy of B is the same


@pytest.mark.parametrize("scope", SCOPES)
def test_mirrored_losses_equal_single_device_losses(two_device_runs, scope):
    logs, _ = two_device_runs
    single = logs[f"{scope}/none"]["epochs"]
    assert all(one["xx"] > 0 and one["quant_image"] > 0 for one in single)  # the terms are not vacuously equal
    two_devices.assert_same_losses(single, logs[f"{scope}/mirrored"]["epochs"], [1, 2],
                                   {"loss", "xx", "yy", "xy", "yx", "quant_image", "quant_text"})


@pytest.mark.parametrize("scope", SCOPES)
def test_mirrored_codes_and_buffers_equal_single_device_ones(two_device_runs, scope):
    _, arrays = two_device_runs
    single, mirrored = arrays[f"{scope}/none"], arrays[f"{scope}/mirrored"]
    two_devices.assert_same_codes(single, mirrored, two_devices.CODE_KEYS + ("train_codes",))
    np.testing.assert_allclose(mirrored["image_outputs"], single["image_outputs"], rtol=1e-3, atol=1e-4)
