"""Every image network trains on an empty per-replica batch, with oneDNN on and off.

A global batch of one sample over two replicas leaves replica 1 an empty slice. oneDNN's
Conv2D returns its input on an empty batch and its MaxPool gradient aborts the process
(sdch_tf.nets.empty_batch); TensorFlow turns oneDNN on by CPU model, so both settings are forced
here, in a subprocess each (TensorFlow reads the setting once, at start-up).
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from sdch_tf.nets.empty_batch import skip_if_empty

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DRIVER = """
import json, sys
import keras, numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from baselines.dspah.attention import SpatialAttention
from baselines.dspah.config import preset as dspah_preset
from baselines.dspah.nets import build_image_net as build_resnet_net
from sdch_tf.sdch.config import preset as sdch_preset
from sdch_tf.nets.alexnet import build_image_net
from sdch_tf.nets.vggf import build_vggf
from baselines.dcmh.config import preset as dcmh_preset

def attention(size):
    inputs = keras.Input((size, size, 4))
    return keras.Model(inputs, keras.layers.Flatten()(SpatialAttention()(inputs)))

builders = {
    "alexnet": lambda: build_image_net(sdch_preset("smoke").image_net),
    "vggf": lambda: build_vggf(dcmh_preset("smoke").image_net),
    "resnet": lambda: build_resnet_net(dspah_preset("smoke").image_net, 8, dspah_preset("smoke").attention),
    "attention-conv": lambda: attention(33),  # > 1024 positions: the convolution path
}
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
report = {}
for name, build in builders.items():
    with strategy.scope():
        keras.utils.set_random_seed(0)
        net = build()
    size = net.input_shape[1:]
    image = np.random.default_rng(0).normal(size=(1, *size)).astype(np.float32)

    def step(x):
        with tf.GradientTape() as tape:
            y = net(x, training=False)  # dropout would make the two devices differ
            loss = tf.reduce_sum(y * y)
        grads = tape.gradient(loss, net.trainable_variables)
        return tf.shape(y), [g if g is not None else tf.zeros_like(v) for g, v in zip(grads, net.trainable_variables)]

    # As in training: the replicas' batches come from a distributed iterator inside a tf.function.
    batches = iter(strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices(image).batch(1)))
    shapes, grads = tf.function(lambda iterator: strategy.run(step, args=(next(iterator),)))(batches)
    one_shape, one_grads = tf.function(step)(tf.constant(image))
    local = [strategy.experimental_local_results(g) for g in grads]
    report[name] = {
        "shapes": [s.numpy().tolist() for s in strategy.experimental_local_results(shapes)],
        "one_device_shape": one_shape.numpy().tolist(),
        # Replica 0 holds the one sample, so its gradient is the one-device gradient; replica 1's is 0.
        "replica0_error": max(float(np.max(np.abs(r[0] - g))) / (1e-12 + float(np.max(np.abs(g))))
                              for r, g in zip(local, one_grads)),
        "replica1_max": max(float(np.max(np.abs(r[1]))) for r in local),
    }
print("REPORT " + json.dumps(report))
"""


@pytest.mark.parametrize("onednn", ["0", "1"], ids=["onednn-off", "onednn-on"])
def test_every_image_net_trains_on_an_empty_replica_slice(tmp_path, onednn):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS=onednn)
    proc = subprocess.run([sys.executable, str(script)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("REPORT "))[7:])
    assert set(report) == {"alexnet", "vggf", "resnet", "attention-conv"}
    for name, got in report.items():
        one, empty = got["shapes"]
        assert one == got["one_device_shape"] and one[0] == 1, name
        assert empty == [0, one[1]], name
        assert got["replica0_error"] < 1e-4, name
        assert got["replica1_max"] == 0.0, name


def test_skip_if_empty_is_the_computation_itself_on_one_device():
    calls = []

    def compute(x):
        calls.append(x)
        return x * 2.0

    x = tf.ones((3, 4))
    np.testing.assert_array_equal(skip_if_empty(compute, x, (4,)), 2.0 * np.ones((3, 4)))
    assert len(calls) == 1

