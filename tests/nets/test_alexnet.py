"""Tests for sdch_tf/nets/alexnet.py: SDCH's AlexNet image pipeline and the bvlc_alexnet.npy loader."""
import dataclasses
import pickle
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from sdch_tf.sdch.config import preset
from sdch_tf.nets.alexnet import (
    BVLC_ALEXNET_SHAPES,
    PRETRAINED_LAYERS,
    GroupedConv2D,
    LocalResponseNorm,
    build_image_net,
    load_bvlc_alexnet,
    pretrained_variables,
)

SMOKE = preset("smoke").image_net
LAYER_ORDER = [
    "image", "conv1", "lrn1", "pool1", "conv2", "lrn2", "pool2", "conv3", "conv4", "conv5", "pool5",
    "flatten", "fc6", "drop6", "fc7", "drop7", "img_fc3",
]


# ---- plain-numpy transcription of Caffe AlexNet ---------------------------------------------

def np_conv(x, w, b, stride, pad, groups):
    """Caffe convolution: x (N,H,W,C), w (k,k,C/groups,F); group g of the outputs sees group g of the inputs."""
    k = w.shape[0]
    x = np.pad(x, [(0, 0), (pad, pad), (pad, pad), (0, 0)])
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))[:, ::stride, ::stride]
    cin, cout = x.shape[-1] // groups, w.shape[-1] // groups
    outs = [
        np.einsum("nhwcij,ijcf->nhwf", windows[..., g * cin:(g + 1) * cin, :, :], w[..., g * cout:(g + 1) * cout])
        for g in range(groups)
    ]
    return np.concatenate(outs, axis=-1) + b


def np_lrn(x):
    """x / (1 + 2e-5 · Σ_{|c'−c|≤2} x_{c'}²)^0.75, channel by channel."""
    out = np.empty_like(x)
    for c in range(x.shape[-1]):
        window = x[..., max(0, c - 2):c + 3]
        out[..., c] = x[..., c] / (1.0 + 2e-5 * np.sum(window**2, axis=-1)) ** 0.75
    return out


def np_maxpool(x):
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))[:, ::2, ::2]
    return windows.max(axis=(-2, -1))


def relu(x):
    return np.maximum(x, 0.0)


def np_alexnet(x, weights, lrn=True):
    """Inference-mode forward pass; weights maps layer name to (W, b)."""
    x = x.astype(np.float64)
    w = {name: (np.float64(a), np.float64(b)) for name, (a, b) in weights.items()}
    norm = np_lrn if lrn else (lambda v: v)
    x = np_maxpool(norm(relu(np_conv(x, *w["conv1"], stride=4, pad=0, groups=1))))
    x = np_maxpool(norm(relu(np_conv(x, *w["conv2"], stride=1, pad=2, groups=2))))
    x = relu(np_conv(x, *w["conv3"], stride=1, pad=1, groups=1))
    x = relu(np_conv(x, *w["conv4"], stride=1, pad=1, groups=2))
    x = np_maxpool(relu(np_conv(x, *w["conv5"], stride=1, pad=1, groups=2)))
    x = x.reshape(len(x), -1)  # (H, W, C) order
    x = relu(x @ w["fc6"][0] + w["fc6"][1])
    x = relu(x @ w["fc7"][0] + w["fc7"][1])
    return x @ w["img_fc3"][0] + w["img_fc3"][1]


def layer_weights(net):
    return {
        layer.name: (layer.kernel.numpy(), layer.bias.numpy())
        for layer in net.layers if layer.name in PRETRAINED_LAYERS + ("img_fc3",)
    }


def randomise_biases(net, seed):
    """Initial biases are zero; non-zero ones make ReLU placement visible."""
    rng = np.random.default_rng(seed)
    for name in PRETRAINED_LAYERS + ("img_fc3",):
        bias = net.get_layer(name).bias
        bias.assign(rng.normal(0.0, 0.5, bias.shape).astype(np.float32))


@pytest.fixture
def smoke_net():
    keras.utils.set_random_seed(0)
    net = build_image_net(SMOKE)
    randomise_biases(net, 1)
    return net


@pytest.fixture(scope="module")
def paper_net():
    keras.utils.set_random_seed(0)
    return build_image_net(preset("paper").image_net)


def images(n, size, seed=0):
    # Mean-subtracted pixel values span about ±128, where LRN is far from the identity.
    return np.random.default_rng(seed).uniform(-128, 128, (n, size, size, 3)).astype(np.float32)


# ---- structure and shapes -----------------------------------------------------------------------

def test_paper_net_shapes_and_parameter_count(paper_net):
    assert [layer.name for layer in paper_net.layers] == LAYER_ORDER
    for name in PRETRAINED_LAYERS:
        assert tuple(paper_net.get_layer(name).kernel.shape) == BVLC_ALEXNET_SHAPES[name]
    assert tuple(paper_net.get_layer("img_fc3").kernel.shape) == (4096, 256)
    spatial = {n: paper_net.get_layer(n).output.shape[1:] for n in ("conv1", "pool1", "pool2", "conv5", "pool5")}
    assert spatial == {
        "conv1": (55, 55, 96), "pool1": (27, 27, 96), "pool2": (13, 13, 256), "conv5": (13, 13, 256),
        "pool5": (6, 6, 256),
    }
    # Sum of k·k·(C/groups)·F + F over Table 1's layers, by hand: 57,917,056.
    assert paper_net.count_params() == 57_917_056
    out = paper_net(images(1, 227), training=False)
    assert out.shape == (1, 256) and out.dtype == tf.float32


@pytest.mark.parametrize("name, size, dim", [("cpu", 83, 256), ("smoke", 67, 32), ("uneven", 67, 8)])
def test_scaled_presets_output_shape(name, size, dim):
    if name == "uneven":  # distinct widths everywhere, so that a swapped width cannot pass
        config = dataclasses.replace(SMOKE, conv_filters=(8, 12, 16, 20, 10), fc_units=(48, 24), feature_dim=8)
    else:
        config = preset(name).image_net
    net = build_image_net(config)
    assert [layer.name for layer in net.layers] == LAYER_ORDER
    assert net.input_shape == (None, size, size, 3)
    f1, f2, f3, f4, f5 = config.conv_filters
    kernels = [tuple(net.get_layer(n).kernel.shape) for n in PRETRAINED_LAYERS + ("img_fc3",)]
    pool5 = net.get_layer("pool5").output.shape[1]
    assert kernels == [
        (11, 11, 3, f1), (5, 5, f1 // 2, f2), (3, 3, f2, f3), (3, 3, f3 // 2, f4), (3, 3, f4 // 2, f5),
        (pool5 * pool5 * f5, config.fc_units[0]), tuple(config.fc_units), (config.fc_units[1], dim),
    ]
    out = net(images(2, size), training=False)
    assert out.shape == (2, dim) and out.dtype == tf.float32


def test_lrn_off_removes_only_the_lrn_layers():
    net = build_image_net(dataclasses.replace(SMOKE, lrn=False))
    assert [layer.name for layer in net.layers] == [n for n in LAYER_ORDER if not n.startswith("lrn")]


def test_initialisation_he_and_glorot_normal_zero_bias():
    keras.utils.set_random_seed(3)
    net = build_image_net(preset("cpu").image_net)
    fc6 = net.get_layer("fc6").kernel.numpy()  # (2·2·64, 512): fan_in is the flattened pool5 map
    fan_in = fc6.shape[0]
    assert fc6.std() == pytest.approx(np.sqrt(2.0 / fan_in), rel=0.02)
    # Untruncated normal (SDCH §4.2): Keras's truncated initialisers never exceed 2 std.
    assert np.abs(fc6).max() > 3.5 * np.sqrt(2.0 / fan_in)
    conv4 = net.get_layer("conv4").kernel.numpy()  # fan_in = 3·3·(96/2)
    assert conv4.std() == pytest.approx(np.sqrt(2.0 / (3 * 3 * 48)), rel=0.02)
    fc3 = net.get_layer("img_fc3").kernel.numpy()
    assert fc3.std() == pytest.approx(np.sqrt(2.0 / (512 + 256)), rel=0.02)
    for name in PRETRAINED_LAYERS + ("img_fc3",):
        assert not net.get_layer(name).bias.numpy().any()


@pytest.mark.parametrize("size", [66, 50, 10])
def test_too_small_input_is_rejected(size):
    with pytest.raises(ValueError, match=rf"input_size={size} leaves no spatial map.*input_size >= 67"):
        build_image_net(dataclasses.replace(SMOKE, input_size=size))


def test_bad_configs_are_rejected():
    with pytest.raises(ValueError, match="grouped_conv must be one of"):
        build_image_net(SMOKE, grouped_conv="depthwise")
    with pytest.raises(ValueError, match="must all be even.*conv2=15"):
        build_image_net(dataclasses.replace(SMOKE, conv_filters=(8, 15, 16, 16, 16)))
    with pytest.raises(ValueError, match="5 positive counts"):
        build_image_net(dataclasses.replace(SMOKE, conv_filters=(8, 16, 16, 16)))
    with pytest.raises(ValueError, match="2 positive widths"):
        build_image_net(dataclasses.replace(SMOKE, fc_units=(64,)))
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        build_image_net(dataclasses.replace(SMOKE, dropout=1.0))


def test_pretrained_variables_are_the_seven_layers(smoke_net):
    variables = pretrained_variables(smoke_net)
    assert len(variables) == 14
    expected = [smoke_net.get_layer(n).kernel for n in PRETRAINED_LAYERS]
    assert [v.path for v in variables[::2]] == [v.path for v in expected]
    fc3 = smoke_net.get_layer("img_fc3")
    assert all(v.path not in (fc3.kernel.path, fc3.bias.path) for v in variables)
    with pytest.raises(ValueError, match=r"no layer\(s\) \['conv1'"):
        pretrained_variables(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))


# ---- values against the numpy transcription ----------------------------------------------------

def test_lrn_hand_computed():
    lrn = LocalResponseNorm()
    out = lrn(np.array([[[[100.0, 200.0]]]], np.float32)).numpy().ravel()
    # Both channels see 100² + 200² = 50000: denominator (1 + 2e-5·50000)^0.75 = 2^0.75.
    np.testing.assert_allclose(out, [100 / 2**0.75, 200 / 2**0.75], rtol=1e-6)
    out = lrn(np.array([[[[300.0, 1, 1, 1, 1]]]], np.float32)).numpy().ravel()
    # Channel 2's window 0..4 includes the 300; channel 3's window 1..4 (5 is absent) does not.
    assert out[2] == pytest.approx(1 / (1 + 2e-5 * 90004) ** 0.75, rel=1e-6)
    assert out[3] == pytest.approx(1 / (1 + 2e-5 * 4) ** 0.75, rel=1e-6)
    assert out[0] == pytest.approx(300 / (1 + 2e-5 * 90002) ** 0.75, rel=1e-6)


def test_first_layers_match_numpy_on_tiny_two_channel_input():
    """conv (2→4 channels, 3×3, stride 2) → ReLU → LRN → max-pool on a 9×9 input."""
    rng = np.random.default_rng(5)
    x = rng.uniform(-100, 100, (1, 9, 9, 2)).astype(np.float32)
    conv = GroupedConv2D(4, 3, strides=2, activation="relu")
    conv.build(x.shape)
    w = rng.normal(0, 1, (3, 3, 2, 4)).astype(np.float32)
    b = np.array([-50, 0, 50, 10], np.float32)
    conv.set_weights([w, b])
    got = keras.layers.MaxPooling2D(3, 2)(LocalResponseNorm()(conv(x))).numpy()
    want = np_maxpool(np_lrn(relu(np_conv(x.astype(np.float64), w, b, 2, 0, 1))))
    assert got.shape == (1, 1, 1, 4)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    # The LRN is far from the identity at this scale, so the comparison tests it.
    assert not np.allclose(want, np_maxpool(relu(np_conv(x.astype(np.float64), w, b, 2, 0, 1))), rtol=0.05)


@pytest.mark.parametrize("lrn", [True, False])
def test_whole_network_matches_numpy_transcription(smoke_net, lrn):
    net = smoke_net
    if not lrn:
        keras.utils.set_random_seed(0)
        net = build_image_net(dataclasses.replace(SMOKE, lrn=False))
        randomise_biases(net, 1)
    x = images(3, 67, seed=2)
    want = np_alexnet(x, layer_weights(net), lrn=lrn)
    got = net(x, training=False).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_grouping_follows_caffe_convention():
    """Output group g depends only on input group g."""
    layer = GroupedConv2D(6, 3, padding=1, groups=2)
    x = np.random.default_rng(0).normal(size=(1, 5, 5, 4)).astype(np.float32)
    base = layer(x).numpy()
    x2 = x.copy()
    x2[..., 2:] += 1.0  # perturb input group 1 only
    moved = layer(x2).numpy()
    np.testing.assert_array_equal(moved[..., :3], base[..., :3])
    assert not np.allclose(moved[..., 3:], base[..., 3:])


# ---- grouped-convolution implementations ------------------------------------------------------

def test_grouped_conv_split_and_native_agree_with_gradients():
    rng = np.random.default_rng(7)
    x = tf.constant(rng.normal(size=(2, 11, 11, 8)).astype(np.float32))
    layers = {
        impl: GroupedConv2D(6, 5, strides=1, padding=2, groups=2, implementation=impl) for impl in ("split", "native")
    }
    for layer in layers.values():
        layer.build(x.shape)
    w = rng.normal(size=(5, 5, 4, 6)).astype(np.float32)
    b = rng.normal(size=6).astype(np.float32)
    results = {}
    for impl, layer in layers.items():
        layer.set_weights([w, b])
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * y)
        results[impl] = (y.numpy(), *[g.numpy() for g in tape.gradient(loss, [x, layer.kernel])])
    np.testing.assert_allclose(results["split"][0], np_conv(x.numpy(), w, b, 1, 2, 2), rtol=1e-4, atol=1e-4)
    for got, want in zip(results["native"], results["split"]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_network_split_and_native_give_same_outputs(smoke_net):
    native = build_image_net(SMOKE, grouped_conv="native")
    native.set_weights(smoke_net.get_weights())
    x = images(2, 67, seed=4)
    want = smoke_net(x, training=False).numpy()
    np.testing.assert_allclose(native(x, training=False).numpy(), want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_bad_implementation_is_rejected():
    with pytest.raises(ValueError, match="implementation must be one of"):
        GroupedConv2D(4, 3, groups=2, implementation="xla")


# ---- training behaviour -------------------------------------------------------------------------

def test_gradients_reach_every_layer(smoke_net):
    x = images(4, 67, seed=6)
    direction = np.random.default_rng(0).normal(size=(4, 32)).astype(np.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(smoke_net(x, training=True) * direction)
    grads = tape.gradient(loss, smoke_net.trainable_variables)
    assert len(grads) == 16  # 8 layers × (kernel, bias)
    for variable, grad in zip(smoke_net.trainable_variables, grads):
        assert grad is not None and np.abs(grad.numpy()).sum() > 0, variable.path


def test_dropout_only_in_training(smoke_net):
    x = images(8, 67, seed=8)
    inference = smoke_net(x, training=False).numpy()
    np.testing.assert_array_equal(smoke_net(x, training=False).numpy(), inference)
    assert not np.allclose(smoke_net(x, training=True).numpy(), inference)
    probe = keras.Model(smoke_net.input, [smoke_net.get_layer("fc6").output, smoke_net.get_layer("drop6").output])
    fc6, dropped = (t.numpy() for t in probe(x, training=True))
    active = fc6 > 0
    kept = dropped[active] != 0
    assert 0.35 < kept.mean() < 0.65  # rate 0.5 over a few hundred active units
    np.testing.assert_allclose(dropped[active][kept], 2.0 * fc6[active][kept], rtol=1e-6)  # inverted dropout

    no_dropout = build_image_net(dataclasses.replace(SMOKE, dropout=0.0))
    no_dropout.set_weights(smoke_net.get_weights())
    np.testing.assert_allclose(no_dropout(x, training=True).numpy(), inference, rtol=1e-6, atol=1e-6)


def test_mixed_bfloat16_keeps_float32_output(smoke_net):
    x = images(2, 67, seed=9)
    want = smoke_net(x, training=False).numpy()
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        for impl in ("split", "native"):
            net = build_image_net(SMOKE, grouped_conv=impl)
            assert net.get_layer("conv2").compute_dtype == "bfloat16"
            assert net.get_layer("conv2").kernel.dtype == "float32"
            assert net.get_layer("img_fc3").compute_dtype == "float32"
            net.set_weights(smoke_net.get_weights())
            got = net(x, training=False)
            assert got.dtype == tf.float32
            # bfloat16 keeps 8 bits of mantissa: agree to a few percent of the output scale.
            np.testing.assert_allclose(got.numpy(), want, atol=0.05 * np.abs(want).max())
    finally:
        keras.config.set_dtype_policy(previous)


def test_model_config_round_trip(smoke_net):
    clone = keras.Model.from_config(smoke_net.get_config())
    clone.set_weights(smoke_net.get_weights())
    assert isinstance(clone.get_layer("conv2"), GroupedConv2D) and clone.get_layer("conv2").groups == 2
    x = images(1, 67)
    np.testing.assert_allclose(clone(x, training=False).numpy(), smoke_net(x, training=False).numpy(), rtol=1e-6)


# ---- bvlc_alexnet.npy loader ----------------------------------------------------------------------

def fabricate(shapes, seed=0):
    """{name: [W, b]} with the given kernel shapes; biases sized by the last kernel dimension."""
    rng = np.random.default_rng(seed)
    return {
        name: [rng.standard_normal(shape, dtype=np.float32), rng.standard_normal(shape[-1], dtype=np.float32)]
        for name, shape in shapes.items()
    }


def save_pickled_dict(path, weights):
    # bvlc_alexnet.npy is np.save of a dict: a 0-d object array.
    np.save(path, weights, allow_pickle=True)
    return path


def smoke_shapes(net):
    shapes = {name: tuple(net.get_layer(name).kernel.shape) for name in PRETRAINED_LAYERS}
    return {**shapes, "fc8": (shapes["fc7"][1], 1000)}


def test_load_full_size_bvlc_alexnet(paper_net, tmp_path):
    weights = fabricate(BVLC_ALEXNET_SHAPES)
    path = save_pickled_dict(tmp_path / "bvlc_alexnet.npy", weights)
    fc3_before = paper_net.get_layer("img_fc3").kernel.numpy()
    load_bvlc_alexnet(paper_net, path)
    conv2 = paper_net.get_layer("conv2")
    assert conv2.kernel.numpy()[1, 2, 47, 200] == weights["conv2"][0][1, 2, 47, 200]
    assert conv2.bias.numpy()[255] == weights["conv2"][1][255]
    assert paper_net.get_layer("fc6").kernel.numpy()[9215, 4095] == weights["fc6"][0][9215, 4095]
    np.testing.assert_array_equal(paper_net.get_layer("conv4").kernel.numpy(), weights["conv4"][0])
    np.testing.assert_array_equal(paper_net.get_layer("fc7").bias.numpy(), weights["fc7"][1])
    np.testing.assert_array_equal(paper_net.get_layer("img_fc3").kernel.numpy(), fc3_before)  # fc8 ignored


def test_loaded_network_computes_caffe_alexnet(tmp_path):
    """A file with the real key layout at the smoke net's shapes: loaded values drive the forward pass."""
    net = build_image_net(SMOKE)
    weights = fabricate(smoke_shapes(net), seed=3)
    for name in PRETRAINED_LAYERS:  # keep activations in a sensible range
        weights[name][0] *= np.float32(np.sqrt(2.0 / np.prod(weights[name][0].shape[:-1])))
    load_bvlc_alexnet(net, save_pickled_dict(tmp_path / "small.npy", weights))
    x = images(2, 67, seed=1)
    reference = {name: tuple(weights[name]) for name in PRETRAINED_LAYERS}
    reference["img_fc3"] = (net.get_layer("img_fc3").kernel.numpy(), net.get_layer("img_fc3").bias.numpy())
    want = np_alexnet(x, reference)
    np.testing.assert_allclose(net(x, training=False).numpy(), want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_load_missing_file(smoke_net, tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.npy"):
        load_bvlc_alexnet(smoke_net, tmp_path / "nowhere.npy")


def test_load_rejects_files_that_are_not_a_pickled_dict(smoke_net, tmp_path):
    npz = tmp_path / "weights.npz"
    np.savez(npz, conv1=np.zeros(3))
    with pytest.raises(ValueError, match=r"weights.npz: is a zip archive \(.npz, or a PyTorch"):
        load_bvlc_alexnet(smoke_net, npz)

    torch_like = tmp_path / "alexnet.pth"  # torch.save's zip layout
    with zipfile.ZipFile(torch_like, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"conv1.weight": None}))
    with pytest.raises(ValueError, match="alexnet.pth: is a zip archive"):
        load_bvlc_alexnet(smoke_net, torch_like)

    array = tmp_path / "array.npy"
    np.save(array, np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"array.npy: holds an array of shape \(2, 3\), dtype float32"):
        load_bvlc_alexnet(smoke_net, array)

    a_list = tmp_path / "list.npy"
    np.save(a_list, np.array(None, dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="list.npy: holds a pickled NoneType, not a dict"):
        load_bvlc_alexnet(smoke_net, a_list)

    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"\x80\x02not really a pickle")
    with pytest.raises(ValueError, match="garbage.npy: could not be read by np.load"):
        load_bvlc_alexnet(smoke_net, garbage)


def test_load_missing_key_lists_keys_found(smoke_net, tmp_path):
    weights = fabricate(smoke_shapes(smoke_net))
    del weights["conv3"], weights["fc7"]
    path = save_pickled_dict(tmp_path / "partial.npy", weights)
    expected = r"missing key\(s\) \['conv3', 'fc7'\]; keys found: \['conv1', 'conv2', 'conv4', 'conv5', 'fc6', 'fc8'\]"
    with pytest.raises(ValueError, match=expected):
        load_bvlc_alexnet(smoke_net, path)


def test_load_entry_not_a_pair(smoke_net, tmp_path):
    weights = fabricate(smoke_shapes(smoke_net))
    weights["conv2"] = [weights["conv2"][0]]
    with pytest.raises(ValueError, match=r"key 'conv2' must be \[W, b\], found a list of length 1"):
        load_bvlc_alexnet(smoke_net, save_pickled_dict(tmp_path / "w.npy", weights))


def test_load_paper_weights_into_scaled_network_names_layer_and_preset(smoke_net, tmp_path):
    weights = fabricate(smoke_shapes(smoke_net))
    weights["conv1"] = fabricate({"conv1": BVLC_ALEXNET_SHAPES["conv1"]})["conv1"]
    path = save_pickled_dict(tmp_path / "bvlc_alexnet.npy", weights)
    with pytest.raises(
        ValueError,
        match=r"conv1 W has shape \(11, 11, 3, 96\), layer 'conv1' expects \(11, 11, 3, 8\); "
        r".*scaled-down.*paper preset",
    ):
        load_bvlc_alexnet(smoke_net, path)


def test_failed_load_changes_nothing(smoke_net, tmp_path):
    weights = fabricate(smoke_shapes(smoke_net))
    weights["fc7"][1] = np.zeros(7, np.float32)  # wrong bias length, checked after conv1..fc6
    before = [v.numpy() for v in smoke_net.weights]
    with pytest.raises(ValueError, match=r"fc7 b has shape \(7,\), layer 'fc7' expects \(64,\)"):
        load_bvlc_alexnet(smoke_net, save_pickled_dict(tmp_path / "w.npy", weights))
    for old, new in zip(before, smoke_net.weights):
        np.testing.assert_array_equal(new.numpy(), old)


def test_load_shape_mismatch_on_paper_network(paper_net, tmp_path):
    shapes = {name: (1, 1) for name in BVLC_ALEXNET_SHAPES}
    shapes["conv1"] = (11, 11, 3, 64)  # e.g. VGG-F's conv1, not AlexNet's
    path = save_pickled_dict(tmp_path / "other.npy", fabricate(shapes))
    expected = r"conv1 W has shape \(11, 11, 3, 64\), layer 'conv1' expects \(11, 11, 3, 96\); bvlc_alexnet.npy has"
    with pytest.raises(ValueError, match=expected):
        load_bvlc_alexnet(paper_net, path)


def test_random_conv1_init_accounts_for_the_pixel_scale():
    """conv1 sees mean-subtracted 0–255 pixels (std ≈ PIXEL_STD), the other layers unit-scale inputs."""
    from sdch_tf.nets.alexnet import PIXEL_STD

    keras.utils.set_random_seed(0)
    net = build_image_net(preset("cpu").image_net)
    conv1 = np.asarray(net.get_layer("conv1").kernel)
    conv3 = np.asarray(net.get_layer("conv3").kernel)
    np.testing.assert_allclose(conv1.std(), np.sqrt(2.0 / (11 * 11 * 3)) / PIXEL_STD, rtol=0.05)
    np.testing.assert_allclose(conv3.std(), np.sqrt(2.0 / (3 * 3 * conv3.shape[2])), rtol=0.05)
