"""Data-dependent rescaling of a net's last Dense layer (sdch_tf.nets.scaling)."""
import keras
import numpy as np
import pytest

from sdch_tf.nets.scaling import rescale_output


def _net(activation=None):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((5,))
    hidden = keras.layers.Dense(7, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(4, activation=activation)(hidden))


def test_outputs_get_the_target_std_and_zero_mean():
    net = _net()
    x = np.random.default_rng(0).normal(size=(64, 5)).astype(np.float32) * 30
    before = np.asarray(net(x))
    rescale_output(net, x, target_std=0.5)
    after = np.asarray(net(x), np.float64)
    np.testing.assert_allclose(after.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(after.std(axis=0).mean(), 0.5, rtol=1e-4)
    # An affine map of the old outputs: (before − mean) · s, one s for every dimension.
    scale = 0.5 / before.std(axis=0).mean()
    np.testing.assert_allclose(after, (before - before.mean(axis=0)) * scale, rtol=1e-3, atol=1e-4)


def test_the_pre_activation_is_scaled_when_the_layer_has_one():
    net = _net("tanh")
    x = np.random.default_rng(0).normal(size=(64, 5)).astype(np.float32) * 30
    rescale_output(net, x, target_std=0.1, centre=False)
    pre = np.arctanh(np.clip(np.asarray(net(x), np.float64), -0.999999, 0.999999))
    np.testing.assert_allclose(pre.std(axis=0).mean(), 0.1, rtol=1e-3)
    assert net.layers[-1].activation is keras.activations.tanh


def test_a_net_not_ending_in_dense_is_refused():
    inputs = keras.Input((5,))
    net = keras.Model(inputs, keras.layers.Activation("tanh")(keras.layers.Dense(3)(inputs)))
    with pytest.raises(TypeError, match="last layer must be a Dense"):
        rescale_output(net, np.ones((4, 5), np.float32), 1.0)
