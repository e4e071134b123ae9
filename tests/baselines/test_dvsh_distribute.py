"""DVSH under --distribute: a mirrored run on two logical CPU devices trains like one device
(the runs: tests/two_devices.py): the pairs of E7 span the global batch, and every network's
outputs (the hashing nets' and the fusion net's) are gathered before the loss."""
import pytest

from baselines.dvsh import METHOD
from tests import two_devices

# Smoke preset; dropout off (a replica's dropout mask cannot equal a slice of the one-device
# mask). 95 training pairs in batches of 32, 32, 31: the last one splits unevenly over the replicas.
CONFIGURE = """
configs = {"smoke": dataclasses.replace(base, data=dataclasses.replace(base.data, num_train=95),
                                        image_net=dataclasses.replace(base.image_net, dropout=0.0))}
"""


# One oneDNN setting, forced (so the same on every CPU): "on"; SDCH's and CMHN's two-device tests run
# the shared pipeline and AlexNet under both settings.
@pytest.fixture(scope="module")
def two_device_runs(tmp_path_factory):
    return two_devices.run(tmp_path_factory.mktemp("dvsh_distribute"), "dvsh", CONFIGURE, onednn="1")


def test_dvsh_is_registered_as_distributable():
    assert METHOD.distributable


def test_mirrored_losses_equal_single_device_losses(two_device_runs):
    logs, _ = two_device_runs
    two_devices.assert_both_devices_used(logs, "smoke")
    assert logs["smoke/none"]["train"] % logs["smoke/none"]["batch_size"] % 2 == 1
    two_devices.assert_same_losses(logs["smoke/none"]["epochs"], logs["smoke/mirrored"]["epochs"], [1, 2],
                                   {"loss", "cosine", "bits", "image_hash", "text_hash"})


def test_mirrored_codes_equal_single_device_codes(two_device_runs):
    _, arrays = two_device_runs
    two_devices.assert_same_codes(arrays["smoke/none"], arrays["smoke/mirrored"])
