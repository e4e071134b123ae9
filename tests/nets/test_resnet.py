"""Tests for sdch_tf/nets/resnet.py: the torchvision-layout ResNet-34 and its .npz loader."""
import numpy as np
import pytest

from sdch_tf.nets.resnet import (
    IMAGENET_MEAN_RGB,
    IMAGENET_STD_RGB,
    ResNetConfig,
    build_resnet,
    build_resnet34,
    load_torchvision_resnet,
    pretrained_variables,
)

BLOCKS, WIDTHS = (3, 4, 6, 3), (64, 128, 256, 512)
# torchvision.models.resnet34().state_dict() parameters without fc (21,797,672 − 513,000).
RESNET34_PARAMETERS_WITHOUT_FC = 21_284_672


def torchvision_state_dict(rng, blocks=BLOCKS, widths=WIDTHS, in_channels=3):
    """A fabricated state dict in torchvision's ResNet layout (OIHW kernels, BN buffers, fc)."""
    state = {}

    def bn(prefix, n):
        state[f"{prefix}.weight"] = rng.uniform(0.5, 1.5, n).astype(np.float32)
        state[f"{prefix}.bias"] = rng.normal(0, 0.1, n).astype(np.float32)
        state[f"{prefix}.running_mean"] = rng.normal(0, 0.1, n).astype(np.float32)
        state[f"{prefix}.running_var"] = rng.uniform(0.5, 1.5, n).astype(np.float32)
        state[f"{prefix}.num_batches_tracked"] = np.array(1000, np.int64)

    def conv(key, out, inp, k):
        state[key] = (rng.normal(0, 1, (out, inp, k, k)) * np.sqrt(2.0 / (inp * k * k))).astype(np.float32)

    conv("conv1.weight", widths[0], in_channels, 7)
    bn("bn1", widths[0])
    inplanes = widths[0]
    for stage, (count, planes) in enumerate(zip(blocks, widths), start=1):
        for i in range(count):
            p = f"layer{stage}.{i}"
            conv(f"{p}.conv1.weight", planes, inplanes, 3)
            bn(f"{p}.bn1", planes)
            conv(f"{p}.conv2.weight", planes, planes, 3)
            bn(f"{p}.bn2", planes)
            if i == 0 and (stage > 1 or inplanes != planes):
                conv(f"{p}.downsample.0.weight", planes, inplanes, 1)
                bn(f"{p}.downsample.1", planes)
            inplanes = planes
    state["fc.weight"] = rng.normal(0, 0.01, (1000, widths[-1])).astype(np.float32)
    state["fc.bias"] = np.zeros(1000, np.float32)
    return state


# ---- plain-numpy transcription of torchvision's ResNet forward pass (eval mode) ---------------

def np_conv(x, w_oihw, stride, pad):
    """PyTorch Conv2d, no bias: x (N,H,W,C), weight (O,I,k,k), symmetric zero padding ``pad``."""
    k = w_oihw.shape[-1]
    x = np.pad(x, [(0, 0), (pad, pad), (pad, pad), (0, 0)])
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))[:, ::stride, ::stride]
    return np.einsum("nhwcij,ocij->nhwo", windows, w_oihw)


def np_bn(x, s, prefix):
    return (x - s[f"{prefix}.running_mean"]) / np.sqrt(s[f"{prefix}.running_var"] + 1e-5) * s[f"{prefix}.weight"] \
        + s[f"{prefix}.bias"]


def np_maxpool_pad1(x):
    x = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)], constant_values=-np.inf)
    return np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))[:, ::2, ::2].max(axis=(-2, -1))


def np_resnet(images_0_255, s, blocks=BLOCKS):
    """torchvision: ((x/255 − mean)/std) → conv1/bn1/relu/maxpool → layer1..4; returns the 4 stage outputs."""
    def relu(v):
        return np.maximum(v, 0.0)

    x = (images_0_255 / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    s = {k: np.float64(v) for k, v in s.items()}
    x = np_maxpool_pad1(relu(np_bn(np_conv(x, s["conv1.weight"], 2, 3), s, "bn1")))
    outputs = []
    for stage, count in enumerate(blocks, start=1):
        for i in range(count):
            p = f"layer{stage}.{i}"
            stride = 2 if stage > 1 and i == 0 else 1
            y = relu(np_bn(np_conv(x, s[f"{p}.conv1.weight"], stride, 1), s, f"{p}.bn1"))
            y = np_bn(np_conv(y, s[f"{p}.conv2.weight"], 1, 1), s, f"{p}.bn2")
            shortcut = x
            if f"{p}.downsample.0.weight" in s:
                shortcut = np_bn(np_conv(x, s[f"{p}.downsample.0.weight"], stride, 0), s, f"{p}.downsample.1")
            x = relu(y + shortcut)
        outputs.append(x)
    return outputs


# ------------------------------------------------------------------------------------ tests

@pytest.fixture(scope="module")
def resnet34_npz(tmp_path_factory):
    state = torchvision_state_dict(np.random.default_rng(0))
    path = tmp_path_factory.mktemp("weights") / "resnet34.npz"
    np.savez(path, **state)
    return path, state


def test_resnet34_has_torchvision_size_and_stage_shapes():
    model = build_resnet34(ResNetConfig())
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    assert trainable == RESNET34_PARAMETERS_WITHOUT_FC
    assert [tuple(s) for s in model.output_shape] == [
        (None, 56, 56, 64), (None, 28, 28, 128), (None, 14, 14, 256), (None, 7, 7, 512)]


def test_a_full_layout_npz_loads_and_the_forward_pass_matches_torchvision(resnet34_npz):
    path, state = resnet34_npz
    # 40×40: even sizes at the stride-2 layers (40 → 20, 10 → 5) where TF's 'same' would pad
    # asymmetrically, odd ones after (5 → 3 → 2).
    model = build_resnet34(ResNetConfig(input_size=40, resize=40))
    loaded = load_torchvision_resnet(model, path)
    assert len(loaded) == sum(1 for k in state if not k.startswith("fc.") and "num_batches" not in k)
    assert np.array_equal(model.get_layer("layer2.0.downsample.0").kernel.numpy(),
                          state["layer2.0.downsample.0.weight"].transpose(2, 3, 1, 0))
    assert np.array_equal(model.get_layer("layer4.2.bn2").moving_variance.numpy(), state["layer4.2.bn2.running_var"])

    pixels = np.random.default_rng(1).uniform(0, 255, (2, 40, 40, 3))
    ours = model(np.float32(pixels - np.array(IMAGENET_MEAN_RGB)), training=False)
    reference = np_resnet(pixels, state)
    for stage, (a, b) in enumerate(zip(ours, reference), start=1):
        assert a.shape == b.shape, f"layer{stage}"
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-3, atol=1e-3 * np.abs(b).max(), err_msg=f"layer{stage}")


def test_first_block_by_hand_with_symmetric_stride_two_padding(tmp_path):
    """One BasicBlock per stage, tiny widths: layer1 is conv1/bn1/maxpool + block layer1.0, layer2
    the stride-2 block with its downsample, checked against the numpy transcription."""
    rng = np.random.default_rng(2)
    blocks, widths = (1, 1, 1, 1), (4, 6, 8, 8)
    state = torchvision_state_dict(rng, blocks, widths)
    model = build_resnet(blocks, widths, (18, 18, 3), input_scale=[1.0 / s for s in IMAGENET_STD_RGB])
    np.savez(tmp_path / "small.npz", **state)
    load_torchvision_resnet(model, tmp_path / "small.npz")
    pixels = rng.uniform(0, 255, (3, 18, 18, 3))
    ours = model(np.float32(pixels - np.array(IMAGENET_MEAN_RGB)), training=False)
    reference = np_resnet(pixels, state, blocks)
    for a, b in zip(ours[:2], reference[:2]):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-4, atol=1e-4)


def test_bn_uses_batch_statistics_in_training():
    model = build_resnet((1, 1, 1, 1), (4, 4, 4, 4), (16, 16, 3))
    x = np.random.default_rng(3).normal(5.0, 3.0, (8, 16, 16, 3)).astype(np.float32)
    first = model(x, training=True)[0].numpy()
    model.get_layer("bn1").moving_mean.assign(np.full(4, 100.0, np.float32))
    assert np.allclose(model(x, training=True)[0].numpy(), first, atol=1e-5)      # batch statistics
    assert not np.allclose(model(x, training=False)[0].numpy(), first, atol=1e-3)  # running statistics


def test_load_rejects_bad_files_and_leaves_the_model_unchanged(tmp_path, resnet34_npz):
    _, state = resnet34_npz
    model = build_resnet34(ResNetConfig(input_size=32, resize=32))
    before = [v.numpy().copy() for v in model.weights]

    with pytest.raises(FileNotFoundError, match="not found"):
        load_torchvision_resnet(model, tmp_path / "missing.npz")
    (tmp_path / "text.npz").write_text("not an archive")
    with pytest.raises(ValueError, match="not an .npz"):
        load_torchvision_resnet(model, tmp_path / "text.npz")
    partial = dict(state)
    del partial["layer3.5.bn2.running_var"]
    np.savez(tmp_path / "partial.npz", **partial)
    with pytest.raises(ValueError, match="layer3.5.bn2.running_var"):
        load_torchvision_resnet(model, tmp_path / "partial.npz")
    wrong = dict(state)
    wrong["layer4.2.conv2.weight"] = np.zeros((512, 512, 1, 1), np.float32)  # the last key: all others pass
    np.savez(tmp_path / "wrong.npz", **wrong)
    with pytest.raises(ValueError, match=r"layer4.2.conv2.weight has shape \(512, 512, 1, 1\)"):
        load_torchvision_resnet(model, tmp_path / "wrong.npz")
    small = build_resnet34(ResNetConfig(input_size=32, resize=32, widths=(8, 16, 32, 64)))
    with pytest.raises(ValueError, match="conv1.weight has shape"):
        load_torchvision_resnet(small, tmp_path / "wrong.npz")

    for a, b in zip(before, model.weights):
        assert np.array_equal(a, b.numpy())


def test_pretrained_variables_are_the_conv_and_bn_parameters():
    model = build_resnet((1, 1, 1, 1), (4, 4, 8, 8), (16, 16, 3))
    variables = pretrained_variables(model)
    assert {id(v) for v in variables} == {id(v) for v in model.trainable_variables}
    assert all("moving" not in v.path for v in variables)


def test_bad_architectures_are_rejected():
    with pytest.raises(ValueError, match="four stages"):
        build_resnet((1, 1, 1), (4, 4, 4), (16, 16, 3))
    with pytest.raises(ValueError, match="must not exceed"):
        build_resnet34(ResNetConfig(input_size=256, resize=224))
