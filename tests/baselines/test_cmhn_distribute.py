"""CMHN under --distribute: a mirrored run on two logical CPU devices trains like one device
(the runs: tests/two_devices.py)."""
import pytest

from tests import two_devices

# Smoke preset: 3 rounds of the alternation; dropout off (a replica's dropout mask cannot equal a
# slice of the one-device mask). 95 training pairs in batches of 32, 32, 31: the last one splits
# unevenly over the replicas. (The first must split evenly: Keras averages the replicas' parts of
# it before training.) Besides the network codes, the unified codes B are compared.
CONFIGURE = """
configs = {"smoke": dataclasses.replace(base, data=dataclasses.replace(base.data, num_train=95),
                                        image_net=dataclasses.replace(base.image_net, dropout=0.0))}
"""
COLLECT = """
def collect(model, strategy, record, arrays):
    arrays["unified"] = np.asarray(model.codes)
"""


@pytest.fixture(scope="module")
def two_device_runs(tmp_path_factory, onednn):
    return two_devices.run(tmp_path_factory.mktemp(f"cmhn_distribute-onednn{onednn}"),
                           "cmhn", CONFIGURE, COLLECT, onednn=onednn)


def test_cmhn_is_registered_as_distributable():
    from sdch_tf.registry import get_method

    assert get_method("cmhn").distributable


def test_the_mirrored_run_uses_both_devices_and_a_split_batch(two_device_runs):
    logs, _ = two_device_runs
    two_devices.assert_both_devices_used(logs, "smoke")
    # The last batch of an epoch is odd: the replicas hold parts of unequal size.
    assert logs["smoke/none"]["train"] % logs["smoke/none"]["batch_size"] % 2 == 1


def test_mirrored_losses_equal_single_device_losses(two_device_runs):
    logs, _ = two_device_runs
    # svm_accuracy and code_changes are fractions of the n·K bits and n·C decisions: a bit flips
    # only where Eq. 7's score is within rounding of 0.
    two_devices.assert_same_losses(logs["smoke/none"]["epochs"], logs["smoke/mirrored"]["epochs"], [1, 2, 3],
                                   {"loss", "quantization", "variance", "svm_accuracy", "code_changes"},
                                   absolute=("svm_accuracy", "code_changes"))


def test_mirrored_codes_equal_single_device_codes(two_device_runs):
    _, arrays = two_device_runs
    two_devices.assert_same_codes(arrays["smoke/none"], arrays["smoke/mirrored"],
                                  two_devices.CODE_KEYS + ("unified",))
