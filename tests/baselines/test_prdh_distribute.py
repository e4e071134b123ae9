"""PRDH under --distribute: a mirrored run on two logical CPU devices trains like one device
(the runs: tests/two_devices.py). PRDH's passes and their dispatch are DCMH's
(sdch_tf.training.alternating); what this adds is PRDH's step, whose intra term reads the batch's
own rows of the buffer and whose decorrelation term is a statistic of the (global) batch."""
import dataclasses

import numpy as np
import pytest

from baselines.prdh import METHOD, preset
from tests import two_devices

SMOKE = preset("smoke")
# 91 training pairs in batches of 10: nine split 5 + 5 over two replicas and a last batch of 1
# (one replica's slice is empty), in both passes. λ > 0, so that the decorrelation term is compared;
# small, since at λ = 0.5 the smoke run is unstable enough that float rounding (5e-7 relative after
# three steps, measured) grows past the comparison's 1e-4 within the first epoch.
NUM_TRAIN, BATCH = 91, 10
CONFIGURE = f"""
configs = {{"smoke": dataclasses.replace(base, batch_size={BATCH}, lam=0.01,
                                         data=dataclasses.replace(base.data, num_train={NUM_TRAIN}),
                                         image_net=dataclasses.replace(base.image_net, dropout=0.0))}}
"""
COLLECT = """
def collect(model, strategy, record, arrays):
    arrays.update(F=model.image_outputs.numpy(), G=model.text_outputs.numpy(), B=model.codes.numpy())
"""


# One oneDNN setting, forced (so the same on every CPU): "on", whose kernels differ on the empty
# replica slice; DCMH's two-device test runs the shared alternation under both settings.
@pytest.fixture(scope="module")
def two_device_runs(tmp_path_factory):
    logs, arrays = two_devices.run(tmp_path_factory.mktemp("prdh_distribute"), "prdh", CONFIGURE, COLLECT, onednn="1")
    assert logs["smoke/none"]["train"] == NUM_TRAIN
    return logs, arrays


def test_prdh_is_registered_as_distributable():
    assert METHOD.distributable and dataclasses.replace(SMOKE, lam=0.5).lam == 0.5


def test_mirrored_losses_equal_single_device_losses(two_device_runs):
    logs, _ = two_device_runs
    two_devices.assert_both_devices_used(logs, "smoke")
    single = logs["smoke/none"]["epochs"]
    assert all(one["image_decorrelation"] > 0 and one["text_decorrelation"] > 0 for one in single)
    two_devices.assert_same_losses(single, logs["smoke/mirrored"]["epochs"], list(range(1, SMOKE.epochs + 1)),
                                   {"image_loss", "text_loss", "image_intra", "text_intra",
                                    "image_decorrelation", "text_decorrelation"})


def test_mirrored_buffers_and_codes_equal_single_device_ones(two_device_runs):
    _, arrays = two_device_runs
    single, mirrored = arrays["smoke/none"], arrays["smoke/mirrored"]
    assert np.all(np.any(single["F"] != 0, axis=1)) and np.all(np.any(single["G"] != 0, axis=1))
    np.testing.assert_allclose(mirrored["F"], single["F"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(mirrored["G"], single["G"], rtol=1e-4, atol=1e-5)
    two_devices.assert_same_codes(single, mirrored, two_devices.CODE_KEYS + ("B",))
