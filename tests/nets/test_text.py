"""Tests for sdch_tf/nets/text.py: the txt-fc1..txt-fc3 pipeline (SDCH §3.2, Table 1)."""
import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from sdch_tf.nets.text import TextNetConfig
from sdch_tf.sdch.config import preset
from sdch_tf.nets.text import build_text_net

SMOKE = preset("smoke").text_net


@pytest.fixture
def net():
    keras.utils.set_random_seed(0)
    model = build_text_net(SMOKE, input_dim=200)
    rng = np.random.default_rng(1)
    for name in ("txt_fc1", "txt_fc2", "txt_fc3"):  # initial biases are zero; non-zero ones expose the ReLUs
        bias = model.get_layer(name).bias
        bias.assign(rng.normal(0.0, 0.5, bias.shape).astype(np.float32))
    return model


def bow(n, d, seed=0):
    """Sparse 0/1 bag-of-words rows, as in the DCMH YAll files."""
    return (np.random.default_rng(seed).random((n, d)) < 0.05).astype(np.float32)


def np_text_net(x, model):
    w = {
        name: [v.numpy().astype(np.float64) for v in model.get_layer(name).weights]
        for name in ("txt_fc1", "txt_fc2", "txt_fc3")
    }
    h = np.maximum(x @ w["txt_fc1"][0] + w["txt_fc1"][1], 0.0)
    h = np.maximum(h @ w["txt_fc2"][0] + w["txt_fc2"][1], 0.0)
    return h @ w["txt_fc3"][0] + w["txt_fc3"][1]  # txt-fc3 is linear


@pytest.mark.parametrize(
    "name, input_dim, widths, dim",
    [("paper", 1386, (4096, 4096), 256), ("cpu", 1386, (512, 512), 256), ("smoke", 200, (64, 64), 32),
     ("uneven", 30, (48, 24), 8)],
)
def test_shapes_per_preset(name, input_dim, widths, dim):
    config = TextNetConfig(widths, dim) if name == "uneven" else preset(name).text_net
    model = build_text_net(config, input_dim)
    assert [layer.name for layer in model.layers] == ["text", "txt_fc1", "txt_fc2", "txt_fc3"]
    kernels = [tuple(model.get_layer(n).kernel.shape) for n in ("txt_fc1", "txt_fc2", "txt_fc3")]
    assert kernels == [(input_dim, widths[0]), (widths[0], widths[1]), (widths[1], dim)]
    out = model(bow(3, input_dim))
    assert out.shape == (3, dim) and out.dtype == tf.float32


def test_matches_numpy_with_relu_on_first_two_layers_only(net):
    x = bow(16, 200, seed=2)
    got = net(x).numpy()
    want = np_text_net(x.astype(np.float64), net)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert (got < 0).any()  # no ReLU on txt-fc3
    hidden = keras.Model(net.input, net.get_layer("txt_fc2").output)(x).numpy()
    assert hidden.min() == 0.0 and (hidden == 0).any()  # the ReLU of txt-fc2 clips


def test_initialisation():
    keras.utils.set_random_seed(4)
    model = build_text_net(TextNetConfig(fc_units=(512, 512), feature_dim=256), input_dim=1386)
    fc1 = model.get_layer("txt_fc1").kernel.numpy()
    assert fc1.std() == pytest.approx(np.sqrt(2.0 / 1386), rel=0.02)  # He normal, ReLU layer
    assert np.abs(fc1).max() > 3.5 * np.sqrt(2.0 / 1386)  # untruncated normal (SDCH §4.2)
    fc3 = model.get_layer("txt_fc3").kernel.numpy()
    assert fc3.std() == pytest.approx(np.sqrt(2.0 / (512 + 256)), rel=0.02)  # Glorot normal, linear layer
    for name in ("txt_fc1", "txt_fc2", "txt_fc3"):
        assert not model.get_layer(name).bias.numpy().any()


def test_gradients_reach_every_layer(net):
    x = bow(8, 200, seed=3)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(net(x, training=True) ** 2)
    grads = tape.gradient(loss, net.trainable_variables)
    assert len(grads) == 6
    for variable, grad in zip(net.trainable_variables, grads):
        assert grad is not None and np.abs(grad.numpy()).sum() > 0, variable.path


def test_mixed_bfloat16_keeps_float32_output(net):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = build_text_net(SMOKE, input_dim=200)
        assert model.get_layer("txt_fc1").compute_dtype == "bfloat16"
        assert model.get_layer("txt_fc3").compute_dtype == "float32"
        model.set_weights(net.get_weights())
        out = model(bow(4, 200))
        assert out.dtype == tf.float32
    finally:
        keras.config.set_dtype_policy(previous)
    want = net(bow(4, 200)).numpy()
    np.testing.assert_allclose(out.numpy(), want, atol=0.05 * np.abs(want).max())


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="input_dim must be a positive int"):
        build_text_net(SMOKE, input_dim=0)
    with pytest.raises(ValueError, match="input_dim must be a positive int"):
        build_text_net(SMOKE, input_dim=200.0)
    with pytest.raises(ValueError, match="2 positive widths"):
        build_text_net(dataclasses.replace(SMOKE, fc_units=(64, 64, 64)), input_dim=200)
    with pytest.raises(ValueError, match="feature_dim must be positive"):
        build_text_net(dataclasses.replace(SMOKE, feature_dim=0), input_dim=200)
