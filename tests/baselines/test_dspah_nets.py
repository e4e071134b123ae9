"""DSPAH's networks: multi-scale text pooling, CBAM, the cross-level attention, both nets."""
import numpy as np
import pytest

from baselines.dspah.attention import CBAM, ChannelAttention, CrossLevelAttention, SpatialAttention
from baselines.dspah.config import preset
from baselines.dspah.nets import BACKBONE, MultiScalePooling, build_image_net, build_text_net


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_linear_resize(v, length):
    """PyTorch F.interpolate(mode='linear', align_corners=False) of a 1-D vector, with loops."""
    n, out = len(v), np.zeros(length)
    for t in range(length):
        src = max((t + 0.5) * n / length - 0.5, 0.0)
        i0 = min(int(np.floor(src)), n - 1)
        i1 = min(i0 + 1, n - 1)
        w = src - i0
        out[t] = (1 - w) * v[i0] + w * v[i1]
    return out


def np_multi_scale(x, pool_sizes, length):
    rows = []
    for p in pool_sizes:
        pooled = np.array([x[k * p:(k + 1) * p].mean() for k in range(len(x) // p)])  # AvgPool1d(p), floor
        rows.append(np_linear_resize(pooled, length))
    return np.stack(rows)


def np_conv_same(x, k):
    """x (h, w, C), k (s, s, C, 1) → (h, w), zero padding s // 2."""
    r = k.shape[0] // 2
    xp = np.pad(x, [(r, r), (r, r), (0, 0)])
    out = np.zeros(x.shape[:2])
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = np.sum(xp[i:i + k.shape[0], j:j + k.shape[1], :] * k[..., 0])
    return out


def np_cbam(x, cbam):
    """CBAM Eqs. 2–3 for one map (h, w, C) with the layer's weights."""
    h, o = cbam.channel.hidden, cbam.channel.out

    def mlp(v):
        return np.maximum(v @ h.kernel.numpy() + h.bias.numpy(), 0) @ o.kernel.numpy() + o.bias.numpy()

    x = x * sigmoid(mlp(x.mean(axis=(0, 1))) + mlp(x.max(axis=(0, 1))))
    descriptor = np.stack([x.mean(axis=-1), x.max(axis=-1)], axis=-1)
    return x * sigmoid(np_conv_same(descriptor, cbam.spatial.kernel.numpy()))[..., None]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_multi_scale_pooling_matches_pool_then_linear_resize(rng):
    x = rng.random((2, 23)).astype(np.float32)
    layer = MultiScalePooling((1, 2, 3, 5, 23), 23)
    out = np.asarray(layer(x))
    assert out.shape == (2, 5, 23, 1)
    for n in range(2):
        np.testing.assert_allclose(out[n, :, :, 0], np_multi_scale(x[n], (1, 2, 3, 5, 23), 23), atol=1e-6)
    np.testing.assert_allclose(out[:, 0, :, 0], x, atol=1e-7)  # pool size 1 is the BoW itself
    with pytest.raises(ValueError, match="at least that length"):
        MultiScalePooling((1, 30), 23)(x)


@pytest.mark.parametrize("shape", [(5, 7, 6), (40, 30, 3)])  # matrix-product and convolution paths
def test_cbam_matches_channel_then_spatial_attention(rng, shape):
    x = rng.normal(size=(2,) + shape).astype(np.float32)
    cbam = CBAM(reduction=2)
    out = np.asarray(cbam(x))
    assert cbam.spatial.matmul == (shape[0] * shape[1] <= 1024)
    for n in range(2):
        np.testing.assert_allclose(out[n], np_cbam(np.float64(x[n]), cbam), rtol=1e-4, atol=1e-5)


def test_spatial_attention_matrix_product_equals_its_convolution(rng):
    x = rng.normal(size=(3, 6, 9, 4)).astype(np.float32)
    layer = SpatialAttention()
    by_matrix = np.asarray(layer(x))
    layer.matmul = False
    np.testing.assert_allclose(by_matrix, np.asarray(layer(x)), atol=1e-5)


def test_channel_attention_hidden_width_is_at_least_one(rng):
    layer = ChannelAttention(reduction=16)
    layer(rng.normal(size=(1, 3, 3, 8)).astype(np.float32))
    assert layer.hidden.units == 1


def test_cross_level_attention_matches_its_equations(rng):
    bits = 5
    maps = [rng.normal(size=(3, s, s, c)).astype(np.float32) for s, c in ((8, 4), (4, 6), (2, 8), (1, 8))]
    head = CrossLevelAttention(bits, reduction=2)
    head(maps)
    head.attention.kernel.assign(rng.normal(0, 0.3, head.attention.kernel.shape).astype(np.float32))
    out = np.asarray(head(maps))

    for n in range(3):
        levels = []
        for x, cbam, proj in zip(maps, head.cbams, head.projections):
            pooled = np_cbam(np.float64(x[n]), cbam).mean(axis=(0, 1))          # CBAM, GAP
            levels.append(pooled @ proj.kernel.numpy() + proj.bias.numpy())      # 1×1 conv
        stack = np.stack(levels)                                                  # (L, bits)
        logits = (stack.reshape(-1) @ head.attention.kernel.numpy() + head.attention.bias.numpy()).reshape(4, bits)
        weights = np.exp(logits) / np.exp(logits).sum(axis=0, keepdims=True)     # softmax over the levels
        np.testing.assert_allclose(out[n], np.tanh((weights * stack).sum(axis=0)), rtol=1e-4, atol=1e-5)


def test_attention_starts_as_the_average_of_the_levels(rng):
    maps = [rng.normal(size=(2, 4, 4, 4)).astype(np.float32) for _ in range(4)]
    head = CrossLevelAttention(3)
    head(maps)
    weights = np.asarray(head.attention_matrix(head.level_representations(maps)))
    np.testing.assert_allclose(weights, 0.25, atol=1e-7)


def test_rescale_levels_sets_the_level_scale(rng):
    maps = [rng.normal(size=(64, 4, 4, 8)).astype(np.float32) for _ in range(4)]
    head = CrossLevelAttention(6)
    head(maps)
    head.rescale_levels(maps, 0.7)
    h = np.asarray(head.level_representations(maps))  # (b, L, bits)
    np.testing.assert_allclose(h.std(axis=0).mean(axis=-1), 0.7, rtol=1e-3)
    np.testing.assert_allclose(h.mean(axis=0), 0.0, atol=1e-4)


def test_both_nets_output_c_values_in_the_open_unit_interval(rng):
    config = preset("smoke")
    image_net = build_image_net(config.image_net, 16, config.attention)
    text_net = build_text_net(config.text_net, 200, 16, config.attention)
    size = config.image_net.input_size
    f = np.asarray(image_net(rng.normal(0, 60, (4, size, size, 3)).astype(np.float32), training=True))
    g = np.asarray(text_net((rng.random((4, 200)) < 0.05).astype(np.float32), training=True))
    for out in (f, g):
        assert out.shape == (4, 16) and np.all(np.abs(out) < 1)
    assert image_net.get_layer(BACKBONE).output_shape[-1] == (None, 1, 1, 8)
    # DSPAH §IV.B: the text net's kernels are drawn from N(0, 0.1²) (the attention logits start at 0).
    conv1 = text_net.get_layer("text_resnet").get_layer("conv1").kernel.numpy()
    assert 0.05 < conv1.std() < 0.2
