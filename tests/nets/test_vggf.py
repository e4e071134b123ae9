"""Tests for sdch_tf/nets/vggf.py: CNN-F / VGG-F and the imagenet-vgg-f.mat loader.

The .mat files are fabricated here in MatConvNet's layouts (older: filters/biases, 'normalize'
layers, top-level 'normalization'; newer: weights = {kernel, bias}, 'lrn' layers,
'meta.normalization'; DCMH's vgg_net.mat: the whole network saved as 'net') with a scaled
VGGFConfig whose shapes they match, and compared with a plain-numpy MatConvNet forward pass.
"""
import dataclasses

import h5py
import keras
import numpy as np
import pytest
import scipy.io
import tensorflow as tf

from sdch_tf.nets.vggf import (
    PRETRAINED_LAYERS,
    PaddedMaxPool2D,
    VGGFConfig,
    build_vggf,
    load_vggf,
    pretrained_variables,
    read_vggf_mean,
)

# 224 input (so pool5 is CNN-F's 6×6), few filters: fabricated files stay small and fast.
SMALL = VGGFConfig(conv_filters=(8, 16, 16, 16, 12), fc_units=(20, 10), dropout=0.0)
LRN = (5, 2.0, 1e-4, 0.75)


# ---- plain-numpy transcription of MatConvNet's simplenn layers -------------------------------

def np_conv(x, w, b, stride, pad):
    """vl_nnconv: x (N,H,W,C), w (kh,kw,C,K), symmetric zero pad."""
    x = np.pad(x, [(0, 0), (pad, pad), (pad, pad), (0, 0)])
    k = w.shape[0]
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))[:, ::stride, ::stride]
    return np.einsum("nhwcij,ijck->nhwk", windows, w) + b.reshape(-1)


def np_lrn(x, n, kappa, alpha, beta):
    """vl_nnnormalize: x / (kappa + alpha Σ_{q∈Q(k)} x_q²)^beta, Q(k) = [k − ⌊(n−1)/2⌋, k + ⌈(n−1)/2⌉]."""
    out = np.empty_like(x)
    depth = x.shape[-1]
    for k in range(depth):
        lo, hi = max(0, k - (n - 1) // 2), min(depth - 1, k + -(-(n - 1) // 2))
        out[..., k] = x[..., k] / (kappa + alpha * np.sum(x[..., lo:hi + 1] ** 2, axis=-1)) ** beta
    return out


def np_maxpool(x, pad):
    """vl_nnpool max, 3×3 stride 2, pad [top bottom left right]; padded cells never win."""
    t, b, l, r = pad
    x = np.pad(x, [(0, 0), (t, b), (l, r), (0, 0)], constant_values=-np.inf)
    out_h, out_w = (x.shape[1] - 3) // 2 + 1, (x.shape[2] - 3) // 2 + 1
    out = np.empty((x.shape[0], out_h, out_w, x.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            out[:, i, j] = x[:, 2 * i:2 * i + 3, 2 * j:2 * j + 3].max(axis=(1, 2))
    return out


def relu(x):
    return np.maximum(x, 0.0)


def np_vggf(x, weights, pool_pads=((0, 1, 0, 1), (0, 0, 0, 0), (0, 0, 0, 0)), lrn=LRN, upto=None):
    """Inference forward pass of imagenet-vgg-f.mat; weights maps name to the file's (kernel, bias)."""
    w = {k: (np.float64(a), np.float64(b)) for k, (a, b) in weights.items()}
    x = np.float64(x)
    x = relu(np_conv(x, *w["conv1"], stride=4, pad=0))
    x = np_lrn(x, *lrn)
    x = np_maxpool(x, pool_pads[0])
    if upto == "pool1":
        return x
    x = np_maxpool(np_lrn(relu(np_conv(x, *w["conv2"], stride=1, pad=2)), *lrn), pool_pads[1])
    for name in ("conv3", "conv4", "conv5"):
        x = relu(np_conv(x, *w[name], stride=1, pad=1))
    x = np_maxpool(x, pool_pads[2])
    # fc6 as MatConvNet computes it: a 6×6 convolution covering the whole pool5 map.
    x = relu(np.einsum("nhwc,hwck->nk", x, w["fc6"][0]) + w["fc6"][1].reshape(-1))
    return relu(np.einsum("nc,ck->nk", x, w["fc7"][0][0, 0]) + w["fc7"][1].reshape(-1))


# ---- fabricated imagenet-vgg-f.mat files ---------------------------------------------------

def random_weights(config, rng):
    c1, c2, c3, c4, c5 = config.conv_filters
    f6, f7 = config.fc_units
    shapes = {"conv1": (11, 11, 3, c1), "conv2": (5, 5, c1, c2), "conv3": (3, 3, c2, c3), "conv4": (3, 3, c3, c4),
              "conv5": (3, 3, c4, c5), "fc6": (6, 6, c5, f6), "fc7": (1, 1, f6, f7), "fc8": (1, 1, f7, 7)}
    weights = {}
    for name, shape in shapes.items():
        fan_in = np.prod(shape[:3])
        weights[name] = ((rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32),
                         (0.1 * rng.standard_normal((1, shape[-1]))).astype(np.float32))
    weights["conv1"] = (weights["conv1"][0] / 60.0, weights["conv1"][1])  # 0–255 pixel inputs
    return weights


def cell(*items):
    out = np.empty((1, len(items)), dtype=object)
    for i, item in enumerate(items):
        out[0, i] = item
    return out


def write_vggf_mat(path, weights, layout, lrn=LRN, pool_pads=((0, 1, 0, 1), (0, 0, 0, 0), (0, 0, 0, 0)),
                   average=None, drop=()):
    """A MatConvNet simplenn file: layout 'old', 'new' or 'net' (DCMH's vgg_net.mat)."""
    lrn_type = "normalize" if layout == "old" else "lrn"
    layers = []

    def conv(name, stride, pad):
        kernel, bias = weights[name]
        entry = {"name": name, "type": "conv", "stride": np.array([[stride, stride]], float),
                 "pad": np.array([[pad] * 4], float)}
        if layout == "old":
            entry.update(filters=kernel, biases=bias)
        else:
            entry.update(weights=cell(kernel, bias), size=np.array([kernel.shape], float),
                         opts=np.empty((0, 0), dtype=object), dilate=np.array([[1.0, 1.0]]))
        layers.append(entry)

    def pool(name, pad):
        layers.append({"name": name, "type": "pool", "method": "max", "pool": np.array([[3.0, 3.0]]),
                       "stride": np.array([[2.0, 2.0]]), "pad": np.array([pad], float)})

    def simple(name, kind, **fields):
        layers.append({"name": name, "type": kind, **fields})

    conv("conv1", 4, 0), simple("relu1", "relu"), simple("norm1", lrn_type, param=np.array([lrn], float))
    pool("pool1", pool_pads[0])
    conv("conv2", 1, 2), simple("relu2", "relu"), simple("norm2", lrn_type, param=np.array([lrn], float))
    pool("pool2", pool_pads[1])
    for i in (3, 4, 5):
        conv(f"conv{i}", 1, 1), simple(f"relu{i}", "relu")
    pool("pool5", pool_pads[2])
    conv("fc6", 1, 0), simple("relu6", "relu"), conv("fc7", 1, 0), simple("relu7", "relu"), conv("fc8", 1, 0)
    simple("prob", "softmax")
    layers = [entry for entry in layers if entry["name"] not in drop]
    normalization = {"imageSize": np.array([[224.0, 224.0, 3.0]]), "interpolation": "bilinear"}
    if average is not None:
        normalization["averageImage"] = average
    contents = {"layers": cell(*layers)}
    if layout == "old":
        contents["normalization"] = normalization
        contents["classes"] = {"name": cell("a", "b")}
    else:
        contents["meta"] = {"normalization": normalization, "inputs": {"name": "input"}}
    if layout == "net":
        contents = {"net": contents}
    scipy.io.savemat(path, contents)
    return path


@pytest.fixture(scope="module")
def small_weights():
    return random_weights(SMALL, np.random.default_rng(0))


@pytest.fixture(scope="module")
def average_image():
    rng = np.random.default_rng(1)
    return (np.array([120.0, 110.0, 100.0]) + rng.uniform(-5, 5, (224, 224, 3))).astype(np.float32)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(2).uniform(-120, 120, (2, 224, 224, 3)).astype(np.float32)


# ---- building -------------------------------------------------------------------------------

def test_full_size_network_outputs_4096_at_224():
    net = build_vggf(VGGFConfig())
    names = [layer.name for layer in net.layers]
    assert names == ["image", "conv1", "lrn1", "pool1", "conv2", "lrn2", "pool2", "conv3", "conv4", "conv5",
                     "pool5", "flatten", "fc6", "drop6", "fc7", "drop7"]
    shapes = {layer.name: tuple(layer.output.shape[1:]) for layer in net.layers}
    assert shapes["conv1"] == (54, 54, 64) and shapes["pool1"] == (27, 27, 64)
    assert shapes["pool2"] == (13, 13, 256) and shapes["pool5"] == (6, 6, 256)
    assert tuple(net.get_layer("fc6").kernel.shape) == (6 * 6 * 256, 4096)
    out = net(np.zeros((1, 224, 224, 3), np.float32))
    assert out.shape == (1, 4096)
    assert [tuple(v.shape) for v in pretrained_variables(net)][::2] == [
        (11, 11, 3, 64), (5, 5, 64, 256), (3, 3, 256, 256), (3, 3, 256, 256), (3, 3, 256, 256), (9216, 4096),
        (4096, 4096)]


def test_cpu_scaled_variant_trains_from_scratch():
    config = VGGFConfig(input_size=83, resize=94, conv_filters=(16, 32, 32, 32, 32), fc_units=(64, 48), dropout=0.5)
    net = build_vggf(config)
    assert tuple(net.get_layer("pool5").output.shape[1:]) == (1, 1, 32)
    x = np.random.default_rng(0).uniform(-120, 120, (4, 83, 83, 3)).astype(np.float32)
    with tf.GradientTape() as tape:
        out = net(x, training=True)
        loss = tf.reduce_sum(out**2)
    grads = tape.gradient(loss, net.trainable_variables)
    assert out.shape == (4, 48)
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads)
    # conv1's init is scaled to the pixel spread: the random net's outputs stay O(1), not O(1000).
    assert 0.01 < float(np.std(net(x))) < 100.0


def test_bad_configs_are_rejected():
    with pytest.raises(ValueError, match="no spatial map"):
        build_vggf(dataclasses.replace(SMALL, input_size=40, resize=40))
    with pytest.raises(ValueError, match="odd"):
        build_vggf(dataclasses.replace(SMALL, lrn_param=(4, 2.0, 1e-4, 0.75)))
    with pytest.raises(ValueError, match="conv_filters"):
        build_vggf(dataclasses.replace(SMALL, conv_filters=(8, 8)))
    with pytest.raises(ValueError, match="pool_pads"):
        build_vggf(dataclasses.replace(SMALL, pool_pads=((0, 1, 0, 1),)))


def test_input_scale_reparametrises_conv1(tmp_path, small_weights, average_image):
    """input_scale s with conv1 kernel K computes what the unscaled net computes with s·K."""
    config = dataclasses.replace(SMALL, input_size=71, resize=71)
    plain, scaled = build_vggf(config), build_vggf(dataclasses.replace(config, input_scale=1 / 57.6))
    for source, target in zip(plain.weights, scaled.weights):
        target.assign(source)
    kernel = scaled.get_layer("conv1").kernel
    kernel.assign(kernel.numpy() * 57.6)
    x = np.random.default_rng(6).uniform(-120, 120, (2, 71, 71, 3)).astype(np.float32)
    np.testing.assert_allclose(scaled(x).numpy(), plain(x).numpy(), rtol=1e-4, atol=1e-5)
    # conv1's init accounts for the scaled input: the random net's outputs keep their spread.
    fresh = build_vggf(dataclasses.replace(config, input_scale=1 / 57.6))
    assert 0.01 < float(np.std(fresh(x))) < 100.0
    path = write_vggf_mat(tmp_path / "vgg-f.mat", small_weights, "new", average=average_image)
    with pytest.raises(ValueError, match="input_scale"):
        load_vggf(build_vggf(dataclasses.replace(SMALL, input_scale=0.5)), str(path))


# ---- layers against numpy -------------------------------------------------------------------

def test_conv1_lrn_pool1_asymmetric_padding_match_matconvnet():
    # input 71: conv1 gives 16×16 (even), so pool1's [0 1 0 1] pad adds an 8th output row/column
    # whose windows hold one padded row/column.
    config = dataclasses.replace(SMALL, input_size=71, resize=71)
    net = build_vggf(config)
    rng = np.random.default_rng(3)
    kernel = (rng.standard_normal((11, 11, 3, 8)) * 0.05).astype(np.float32)
    bias = rng.standard_normal(8).astype(np.float32)
    net.get_layer("conv1").kernel.assign(kernel)
    net.get_layer("conv1").bias.assign(bias)
    x = rng.uniform(-200, 200, (2, 71, 71, 3)).astype(np.float32)
    upto_pool1 = keras.Model(net.input, net.get_layer("pool1").output)
    got = upto_pool1(x).numpy()
    expected = np_vggf(x, {"conv1": (kernel, bias)}, upto="pool1")
    assert got.shape == (2, 8, 8, 8)
    np.testing.assert_allclose(got, expected, rtol=2e-4, atol=1e-3)
    # The inputs are large enough that MatConvNet's ALPHA (not divided by N, as Caffe's is) matters.
    caffe_convention = np_lrn(relu(np_conv(np.float64(x), kernel, bias, 4, 0)), 5, 2.0, 1e-4 / 5, 0.75)
    assert np.abs(np_maxpool(caffe_convention, (0, 1, 0, 1)) - expected).max() > 0.1 * np.abs(expected).max()


def test_padded_max_pool_ignores_the_padding_like_matconvnet():
    x = -1.0 - np.random.default_rng(4).uniform(0, 1, (1, 4, 4, 2)).astype(np.float32)  # all negative
    got = PaddedMaxPool2D(pad=(0, 1, 0, 1))(x).numpy()
    assert got.shape == (1, 2, 2, 2)
    np.testing.assert_allclose(got, np_maxpool(np.float64(x), (0, 1, 0, 1)), rtol=1e-6)
    assert (got < -1.0).all()  # a zero pad would have won the last row/column


def test_fc6_dense_equals_the_6x6_convolution():
    rng = np.random.default_rng(5)
    pool5 = rng.standard_normal((3, 6, 6, 16)).astype(np.float32)
    kernel = rng.standard_normal((6, 6, 16, 20)).astype(np.float32)
    as_conv = tf.nn.conv2d(pool5, kernel, strides=1, padding="VALID").numpy().reshape(3, 20)
    dense = keras.layers.Dense(20, use_bias=False)
    dense.build((None, 6 * 6 * 16))
    dense.kernel.assign(kernel.reshape(-1, 20))  # the loader's reshape
    flat = keras.layers.Flatten()(pool5)
    np.testing.assert_allclose(dense(flat).numpy(), as_conv, rtol=1e-4, atol=1e-4)


# ---- loading the .mat file ------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["old", "new", "net"])
def test_load_matches_numpy_reference(tmp_path, layout, small_weights, average_image, images):
    path = write_vggf_mat(tmp_path / f"vgg-f-{layout}.mat", small_weights, layout, average=average_image)
    net = build_vggf(SMALL)
    mean = load_vggf(net, str(path))
    for name in PRETRAINED_LAYERS:
        layer = net.get_layer(name)
        kernel, bias = small_weights[name]
        np.testing.assert_array_equal(layer.kernel.numpy(), kernel.reshape(layer.kernel.shape))
        np.testing.assert_array_equal(layer.bias.numpy(), bias.reshape(-1))
    expected = np_vggf(images, small_weights)
    assert np.abs(expected).max() > 1e-2  # the reference is not trivially zero
    np.testing.assert_allclose(net(images).numpy(), expected, rtol=1e-3, atol=1e-3 * np.abs(expected).max())
    np.testing.assert_allclose(mean["mean_rgb"], average_image.astype(np.float64).mean(axis=(0, 1)), rtol=1e-6)
    np.testing.assert_array_equal(mean["average_image"], average_image)
    assert read_vggf_mean(path)["mean_rgb"] == mean["mean_rgb"]


def test_per_channel_mean_and_equivalent_pool_pads_are_accepted(tmp_path, small_weights):
    # pool2's [0 1 0 1] at side 27 gives the same 13 windows as no pad: the same network.
    path = write_vggf_mat(tmp_path / "vgg-f.mat", small_weights, "new",
                          pool_pads=((0, 1, 0, 1), (0, 1, 0, 1), (0, 1, 0, 1)),
                          average=np.array([[[123.0, 117.0, 104.0]]], np.float32))
    mean = load_vggf(build_vggf(SMALL), str(path))
    assert mean == {"mean_rgb": (123.0, 117.0, 104.0), "average_image": None}


def test_load_errors_name_the_file_and_the_problem(tmp_path, small_weights, average_image):
    net = build_vggf(SMALL)
    before = [v.numpy().copy() for v in pretrained_variables(net)]
    with pytest.raises(FileNotFoundError, match="imagenet-vgg-f.mat"):
        load_vggf(net, str(tmp_path / "absent.mat"))
    path = write_vggf_mat(tmp_path / "no-fc7.mat", small_weights, "new", average=average_image, drop=("fc7",))
    with pytest.raises(ValueError, match=r"no-fc7\.mat.*missing layer.*fc7"):
        load_vggf(net, str(path))
    path = write_vggf_mat(tmp_path / "lrn.mat", small_weights, "new", average=average_image,
                          lrn=(5, 1.0, 2e-5, 0.75))
    with pytest.raises(ValueError, match=r"norm1 has param.*lrn_param"):
        load_vggf(net, str(path))
    path = write_vggf_mat(tmp_path / "pool.mat", small_weights, "new", average=average_image,
                          pool_pads=((0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0)))
    with pytest.raises(ValueError, match="pool1 pad"):
        load_vggf(net, str(path))
    path = write_vggf_mat(tmp_path / "no-mean.mat", small_weights, "old")
    with pytest.raises(ValueError, match="averageImage"):
        load_vggf(net, str(path))
    other = build_vggf(dataclasses.replace(SMALL, conv_filters=(8, 16, 16, 16, 16)))
    path = write_vggf_mat(tmp_path / "ok.mat", small_weights, "new", average=average_image)
    with pytest.raises(ValueError, match=r"conv5 kernel \(3, 3, 16, 12\).*expects \(3, 3, 16, 16\).*scaled-down"):
        load_vggf(other, str(path))
    with h5py.File(tmp_path / "v73.mat", "w") as f:
        f["layers"] = np.zeros(3)
    with pytest.raises(ValueError, match="v73.mat"):
        load_vggf(net, str(tmp_path / "v73.mat"))
    # Every failure is detected before anything is assigned.
    for variable, value in zip(pretrained_variables(net), before):
        np.testing.assert_array_equal(variable.numpy(), value)
