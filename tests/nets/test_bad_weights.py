"""Pretrained-weights files of the wrong kind or architecture, for each loader: a WeightsFileError
naming the file, the layer and the expected vs found shapes, and the network left as it was."""
import dataclasses

import numpy as np
import pytest
import scipy.io

from sdch_tf.input_errors import InputError, WeightsFileError, WeightsNotFoundError
from sdch_tf.nets.alexnet import BVLC_ALEXNET_SHAPES, build_image_net, load_bvlc_alexnet
from sdch_tf.nets.resnet import ResNetConfig, build_resnet34, load_torchvision_resnet
from sdch_tf.nets.vggf import build_vggf, load_vggf
from tests.nets.test_alexnet import SMOKE, fabricate, save_pickled_dict, smoke_shapes
from tests.nets.test_resnet import torchvision_state_dict
from tests.nets.test_vggf import SMALL, random_weights, write_vggf_mat

SMALL_RESNET = ResNetConfig(input_size=32, resize=32, widths=(8, 16, 16, 16))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """One well-formed file of each kind, at the sizes of the small networks below."""
    directory = tmp_path_factory.mktemp("weights")
    alexnet = build_image_net(SMOKE)
    paths = {
        "alexnet": save_pickled_dict(directory / "bvlc_alexnet.npy", fabricate(smoke_shapes(alexnet))),
        "vggf": write_vggf_mat(directory / "imagenet-vgg-f.mat", random_weights(SMALL, np.random.default_rng(0)),
                               "new", average=np.array([[[120.0, 110.0, 100.0]]], np.float32)),
        "resnet": directory / "resnet34.npz",
    }
    np.savez(paths["resnet"], **torchvision_state_dict(np.random.default_rng(0), widths=SMALL_RESNET.widths))
    return paths


def snapshot(model):
    return [v.numpy().copy() for v in model.weights]


def assert_unchanged(model, before):
    for variable, value in zip(model.weights, before):
        np.testing.assert_array_equal(variable.numpy(), value)


def truncated(path, tmp_path):
    whole = path.read_bytes()
    cut = tmp_path / f"cut-{path.name}"
    cut.write_bytes(whole[:len(whole) // 2])
    return cut


def error(loader, model, path) -> str:
    with pytest.raises(WeightsFileError) as info:
        loader(model, path)
    assert isinstance(info.value, InputError) and isinstance(info.value, ValueError)
    return str(info.value)


def test_every_loader_says_when_the_file_is_missing(tmp_path):
    for loader, model in ((load_bvlc_alexnet, build_image_net(SMOKE)), (load_vggf, build_vggf(SMALL)),
                          (load_torchvision_resnet, build_resnet34(SMALL_RESNET))):
        with pytest.raises(WeightsNotFoundError, match="nowhere.bin"):
            loader(model, tmp_path / "nowhere.bin")


# ------------------------------------------------------------------------------ AlexNet, bvlc_alexnet.npy


def test_alexnet_loader_refuses_other_kinds_of_file(files, tmp_path):
    net = build_image_net(SMOKE)
    before = snapshot(net)
    assert f"{files['vggf']}: could not be read by np.load" in error(load_bvlc_alexnet, net, files["vggf"])
    assert f"{files['resnet']}: is a zip archive (.npz, or a PyTorch checkpoint), not a single pickled object" in \
        error(load_bvlc_alexnet, net, files["resnet"])
    cut = truncated(files["alexnet"], tmp_path)
    assert f"{cut}: could not be read by np.load" in error(load_bvlc_alexnet, net, cut)
    assert_unchanged(net, before)


def test_alexnet_loader_names_missing_layers_of_another_architecture(tmp_path):
    net = build_image_net(SMOKE)
    vgg16_like = {name: [np.zeros((3, 3, 3, 4), np.float32), np.zeros(4, np.float32)]
                  for name in ("conv1_1", "conv1_2", "fc6", "fc7", "fc8")}
    path = save_pickled_dict(tmp_path / "vgg16.npy", vgg16_like)
    message = error(load_bvlc_alexnet, net, path)
    assert f"{path}: missing key(s) ['conv1', 'conv2', 'conv3', 'conv4', 'conv5']" in message
    assert "keys found: ['conv1_1', 'conv1_2', 'fc6', 'fc7', 'fc8']" in message


def test_alexnet_loader_names_the_layer_and_both_shapes(tmp_path):
    net = build_image_net(SMOKE)
    before = snapshot(net)
    weights = fabricate(smoke_shapes(net))
    expected = tuple(net.get_layer("conv4").kernel.shape)
    found = expected[:2] + (expected[2] + 2, expected[3])
    weights["conv4"][0] = np.zeros(found, np.float32)  # the 4th of 7 layers: the first three would pass
    path = save_pickled_dict(tmp_path / "other.npy", weights)
    assert f"{path}: conv4 W has shape {found}, layer 'conv4' expects {expected}" in \
        error(load_bvlc_alexnet, net, path)
    # The real bvlc_alexnet.npy on a scaled-down network: the hint names the paper preset.
    full = save_pickled_dict(tmp_path / "full.npy", fabricate({"conv1": BVLC_ALEXNET_SHAPES["conv1"],
                                                                **{k: v for k, v in smoke_shapes(net).items()
                                                                   if k != "conv1"}}))
    message = error(load_bvlc_alexnet, net, full)
    assert "conv1 W has shape (11, 11, 3, 96)" in message and "paper preset" in message
    assert_unchanged(net, before)


# ------------------------------------------------------------------------------ VGG-F, imagenet-vgg-f.mat


def test_vggf_loader_refuses_other_kinds_of_file(files, tmp_path):
    net = build_vggf(SMALL)
    before = snapshot(net)
    for other in ("alexnet", "resnet"):
        assert f"{files[other]}: could not be read by scipy.io.loadmat" in error(load_vggf, net, files[other])
    cut = truncated(files["vggf"], tmp_path)
    assert f"{cut}: could not be read by scipy.io.loadmat" in error(load_vggf, net, cut)
    scipy.io.savemat(tmp_path / "labels.mat", {"LAll": np.eye(3)})  # a MAT-file, but of a dataset
    assert "no 'layers' (or 'net') variable; variables found: ['LAll']" in error(load_vggf, net,
                                                                                  tmp_path / "labels.mat")
    assert_unchanged(net, before)


def test_vggf_loader_names_missing_layers(tmp_path):
    net = build_vggf(SMALL)
    weights = random_weights(SMALL, np.random.default_rng(0))
    path = write_vggf_mat(tmp_path / "no-conv3.mat", weights, "new", average=np.ones((1, 1, 3), np.float32),
                          drop=("conv3",))
    message = error(load_vggf, net, path)
    assert f"{path}: missing layer(s) ['conv3']; layers found: [" in message and "'conv2', 'conv4'" in message


def test_vggf_loader_names_the_layer_and_both_shapes(tmp_path):
    net = build_vggf(SMALL)
    before = snapshot(net)
    # Another network's file: conv2 has 24 filters where the network has 16.
    other = random_weights(dataclasses.replace(SMALL, conv_filters=(8, 24, 16, 16, 12)), np.random.default_rng(1))
    path = write_vggf_mat(tmp_path / "other.mat", other, "new", average=np.ones((1, 1, 3), np.float32))
    message = error(load_vggf, net, path)
    assert f"{path}: conv2 kernel (5, 5, 8, 24) / bias (24,), layer 'conv2' expects (5, 5, 8, 16) / (16,)" in message
    assert_unchanged(net, before)


def test_vggf_loader_refuses_unreadable_layer_parameters(tmp_path):
    net = build_vggf(SMALL)
    path = write_vggf_mat(tmp_path / "ok.mat", random_weights(SMALL, np.random.default_rng(0)), "new",
                          average=np.ones((1, 1, 3), np.float32))
    contents = scipy.io.loadmat(path, struct_as_record=False, squeeze_me=False)
    layers = contents["layers"]
    conv1 = layers[0, 0][0, 0]
    conv1.stride = np.array(["four"])  # text where MatConvNet has numbers
    scipy.io.savemat(tmp_path / "text-stride.mat", {"layers": layers, "meta": contents["meta"]})
    message = error(load_vggf, net, tmp_path / "text-stride.mat")
    assert f"{tmp_path / 'text-stride.mat'}: unreadable layer parameters (ValueError:" in message
    assert "expected MatConvNet's imagenet-vgg-f.mat" in message


# ------------------------------------------------------------------------------ ResNet-34, .npz


def test_resnet_loader_refuses_other_kinds_of_file(files, tmp_path):
    model = build_resnet34(SMALL_RESNET)
    before = snapshot(model)
    for other in ("alexnet", "vggf"):
        assert f"{files[other]}: not an .npz archive" in error(load_torchvision_resnet, model, files[other])
    cut = truncated(files["resnet"], tmp_path)
    assert f"{cut}: not an .npz archive" in error(load_torchvision_resnet, model, cut)
    state = torchvision_state_dict(np.random.default_rng(0), widths=SMALL_RESNET.widths)
    state["layer2.0.conv1.weight"] = np.array([None] * 3, dtype=object)  # needs pickle to read
    np.savez(tmp_path / "objects.npz", **state)
    assert "cannot read the array 'layer2.0.conv1.weight' (ValueError: Object arrays cannot be loaded" in \
        error(load_torchvision_resnet, model, tmp_path / "objects.npz")
    assert_unchanged(model, before)


def test_a_resnet18_file_for_resnet34_says_so(tmp_path):
    model = build_resnet34(SMALL_RESNET)
    np.savez(tmp_path / "resnet18.npz", **torchvision_state_dict(np.random.default_rng(0), blocks=(2, 2, 2, 2),
                                                                  widths=SMALL_RESNET.widths))
    message = error(load_torchvision_resnet, model, tmp_path / "resnet18.npz")
    assert f"{tmp_path / 'resnet18.npz'}: missing key(s) layer1.2.conv1.weight" in message
    assert "blocks per stage: the file has (2, 2, 2, 2), the model (3, 4, 6, 3)" in message


def test_resnet_loader_names_the_layer_and_both_shapes(files, tmp_path):
    model = build_resnet34(dataclasses.replace(SMALL_RESNET, widths=(8, 16, 32, 16)))  # layer3 is wider
    before = snapshot(model)
    message = error(load_torchvision_resnet, model, files["resnet"])
    assert f"{files['resnet']}: layer3.0.conv1.weight has shape (16, 16, 3, 3), the model expects (32, 16, 3, 3) " \
           "(OIHW)" in message
    assert_unchanged(model, before)
