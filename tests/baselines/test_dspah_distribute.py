"""DSPAH under --distribute: a mirrored run on two logical CPU devices trains like one device
(the runs: tests/two_devices.py)."""
import keras
import numpy as np
import pytest

from tests import two_devices

# Smoke preset: 2 epochs of Algorithm 1; no dropout in its nets; BatchNorm on batch statistics,
# synchronised across the replicas in the mirrored run. 95 training pairs in batches of 32, 32, 31:
# the last one splits unevenly over the replicas (the first must split evenly: Keras averages the
# replicas' parts of it before training). Besides the codes: B, the buffers F and G, and the
# BatchNorm layers' running means (they enter the encoding).
#
# Two overrides make single-device training itself reproducible under a change of summation order,
# which is all a split batch changes: with the smoke text net (width 4, so CBAM's hidden layer has
# one unit) at the paper's rate, merely reversing every batch on one device moves the second
# epoch's losses by up to 5e-2 (and the mirrored run by as much); with text widths 16 and rate 1e-3
# the reversal moves them by < 2e-5, and the mirrored run by < 1e-6.
CONFIGURE = """
configs = {"smoke": dataclasses.replace(base, data=dataclasses.replace(base.data, num_train=95), learning_rate=1e-3,
                                        text_net=dataclasses.replace(base.text_net, widths=(16, 16, 16, 16)))}
"""
COLLECT = """
def collect(model, strategy, record, arrays):
    norms = [w for w in model.non_trainable_weights if w.path.endswith("moving_mean")]
    record["norms"] = len(norms)
    arrays.update(unified=np.asarray(model.codes), F=np.asarray(model.image_outputs),
                  G=np.asarray(model.text_outputs),
                  moving_means=np.concatenate([np.asarray(w).ravel() for w in norms]))
"""


@pytest.fixture(scope="module")
def two_device_runs(tmp_path_factory, onednn):
    return two_devices.run(tmp_path_factory.mktemp(f"dspah_distribute-onednn{onednn}"),
                           "dspah", CONFIGURE, COLLECT, onednn=onednn)


def test_dspah_is_registered_as_distributable():
    from sdch_tf.registry import get_method

    assert get_method("dspah").distributable


def test_synchronize_batch_norm_reaches_nested_models_and_keeps_one_device_results():
    from baselines.dspah.batch_norm import synchronize_batch_norm

    inner = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    outer = keras.Sequential([keras.Input((4,)), inner, keras.layers.BatchNormalization()])
    x = np.random.default_rng(0).normal(3.0, 2.0, (8, 4)).astype(np.float32)
    plain = np.asarray(outer(x, training=True))
    assert synchronize_batch_norm(outer) == 2
    assert inner.layers[0]._global_moments and outer.layers[-1]._global_moments
    assert synchronize_batch_norm(outer) == 0  # already done
    # Outside a multi-replica context the global moments are tf.nn.moments, the layer's own.
    np.testing.assert_array_equal(np.asarray(outer(x, training=True)), plain)


@pytest.mark.slow  # the driver takes ~40 s, most of it tracing the mirrored step
def test_the_mirrored_run_uses_both_devices_and_a_split_batch(two_device_runs):
    logs, _ = two_device_runs
    two_devices.assert_both_devices_used(logs, "smoke")
    # The last batch of an epoch is odd: the replicas hold parts of unequal size.
    assert logs["smoke/none"]["train"] % logs["smoke/none"]["batch_size"] % 2 == 1
    assert logs["smoke/none"]["norms"] == logs["smoke/mirrored"]["norms"] > 10


@pytest.mark.slow  # the driver takes ~40 s, most of it tracing the mirrored step
def test_mirrored_losses_equal_single_device_losses(two_device_runs):
    logs, _ = two_device_runs
    two_devices.assert_same_losses(logs["smoke/none"]["epochs"], logs["smoke/mirrored"]["epochs"], [1, 2],
                                   {"loss", "loss_image", "loss_text", "inter", "intra_image", "intra_text",
                                    "quantization"})


@pytest.mark.slow  # the driver takes ~40 s, most of it tracing the mirrored step
def test_mirrored_statistics_and_buffers_equal_single_device_ones(two_device_runs):
    _, arrays = two_device_runs
    for key in ("moving_means", "F", "G"):
        single, mirrored = arrays["smoke/none"][key], arrays["smoke/mirrored"][key]
        assert single.shape == mirrored.shape and np.abs(single).max() > 1e-2, key
        np.testing.assert_allclose(mirrored, single, rtol=1e-3, atol=1e-4, err_msg=key)


@pytest.mark.slow  # the driver takes ~40 s, most of it tracing the mirrored step
def test_mirrored_codes_equal_single_device_codes(two_device_runs):
    _, arrays = two_device_runs
    two_devices.assert_same_codes(arrays["smoke/none"], arrays["smoke/mirrored"],
                                  two_devices.CODE_KEYS + ("unified",))
