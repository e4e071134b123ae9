"""The ImageNet stand-in (sdch_tf/data/standin.py) and the pretraining command (sdch_tf/pretrain.py)."""
import json

import numpy as np
import pytest

from sdch_tf import pretrain
from sdch_tf.data import standin
from sdch_tf.data.synthetic import ALL_SHAPES, PALETTE, SyntheticConfig, make_world


def test_standin_is_balanced_deterministic_and_new():
    config = standin.StandInConfig(num_images=160, image_size=32, seed=3)
    images, labels = standin.make_standin(config)
    assert images.shape == (160, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(labels, minlength=standin.NUM_CLASSES), [4] * 40)
    again, again_labels = standin.make_standin(config)
    np.testing.assert_array_equal(images, again) and np.testing.assert_array_equal(labels, again_labels)
    other, _ = standin.make_standin(standin.StandInConfig(num_images=160, image_size=32, seed=4))
    assert not np.array_equal(images, other)
    # Every (shape, hue) pair that is no retrieval concept: the 24 concepts are 3 shapes × 8 hues, which
    # leaves the other 5 shapes × 8 hues.
    world = make_world(SyntheticConfig())
    concepts = set(zip(world.concept_shape.tolist(), world.concept_colour.tolist()))
    table = standin.class_table()
    assert len(table) == standin.NUM_CLASSES == len(ALL_SHAPES) * 8 - len(concepts) == 40
    assert not {(shape, hues[0]) for _, shape, hues in table} & concepts
    assert standin.class_names()[:2] == ("red-ring", "green-ring")
    family = standin.StandInConfig(num_images=32, classes="family")
    assert standin.class_names(family)[:2] == ("warm-disc", "cool-disc") and standin.num_classes(family) == 16
    assert not set(standin.WARM) & set(standin.COOL) and len(standin.WARM + standin.COOL) == len(PALETTE) - 2


def test_the_class_object_has_the_class_shape_and_colour_family_and_is_drawn_last():
    config = standin.StandInConfig(num_images=96, seed=1)
    labels, layout = standin.make_layout(config, np.random.default_rng(0))
    salient = layout.concept >= 0
    assert salient.sum() == 96 and np.array_equal(np.unique(layout.sample[salient]), np.arange(96))
    np.testing.assert_array_equal(layout.concept[salient], labels[layout.sample[salient]])
    table = standin.class_table(config)
    np.testing.assert_array_equal(layout.shape[salient], [table[c][1] for c in layout.concept[salient]])
    np.testing.assert_array_equal(layout.palette[salient], [table[c][2][0] for c in layout.concept[salient]])
    family_config = standin.StandInConfig(num_images=64, classes="family")
    family_labels, family_layout = standin.make_layout(family_config, np.random.default_rng(0))
    on_top = family_layout.concept >= 0
    groups = [standin.WARM, standin.COOL]
    assert all(p in groups[c % 2] for p, c in zip(family_layout.palette[on_top], family_layout.concept[on_top]))
    last = np.r_[layout.sample[1:] != layout.sample[:-1], True]  # the last object of each image
    np.testing.assert_array_equal(last, salient)  # drawn on top of the clutter
    assert layout.radius[salient].min() >= config.salient_scale[0] > layout.radius[~salient].max()


HELD_OUT = 2000


@pytest.fixture(scope="module")
def smoke_pretrained(tmp_path_factory):
    """Each backbone pretrained at the smoke preset's shapes on the same stand-in, and its file."""
    out = tmp_path_factory.mktemp("standin")
    data = standin.StandInConfig(num_images=pretrain.DEFAULT_IMAGES["smoke"] + HELD_OUT, image_size=64, seed=0)
    images, labels = standin.make_standin(data)
    n = pretrain.DEFAULT_IMAGES["smoke"]
    trained = {}
    for backbone, spec in pretrain.BACKBONES.items():
        config = pretrain.image_config(backbone, "smoke")
        result = pretrain.pretrain(backbone, config, images[:n], labels[:n], images[n:], labels[n:],
                                   epochs=pretrain.DEFAULT_EPOCHS["smoke"], seed=0,
                                   num_classes=standin.NUM_CLASSES, verbose=0)
        result["config"], result["path"] = config, str(out / spec.weights_file)
        pretrain.write_weights(backbone, result["path"], result, standin.class_names())
        trained[backbone] = result
    return trained, images[n:n + 8]


@pytest.mark.parametrize("backbone", sorted(pretrain.BACKBONES))
def test_smoke_size_pretraining_learns_above_chance(smoke_pretrained, backbone):
    trained, _ = smoke_pretrained
    chance = 1 / standin.NUM_CLASSES
    # Five binomial standard deviations above chance over the held-out images (chance + 0.017).
    assert trained[backbone]["accuracy"] > chance + 5 * np.sqrt(chance * (1 - chance) / HELD_OUT)


def _load(backbone, config, path):
    """A fresh features model (other seed) with the file loaded through the loader its presets use,
    and the file's classifier [kernel (features, classes), bias]."""
    import keras
    import scipy.io

    keras.utils.set_random_seed(123)
    net = pretrain.build_features(backbone, config)
    pretrain.load_weights(backbone, net, path)
    if backbone == "alexnet":
        return net, np.load(path, allow_pickle=True, encoding="latin1").item()["fc8"]
    if backbone == "vggf":
        layers = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)["layers"]
        fc8 = next(layer for layer in layers if layer.name == "fc8").weights
        return net, [fc8[0].reshape(fc8[0].shape[-2:]), fc8[1]]
    with np.load(path) as archive:
        return net, [archive["fc.weight"].T, archive["fc.bias"]]


@pytest.mark.parametrize("backbone", sorted(pretrain.BACKBONES))
def test_the_written_file_loads_back_with_the_same_forward_pass(smoke_pretrained, backbone):
    trained, images = smoke_pretrained
    result = trained[backbone]
    net, (fc8_kernel, fc8_bias) = _load(backbone, result["config"], result["path"])
    prep = result["prep"]
    if backbone == "vggf":  # the file's average image is the one the net was trained to have subtracted
        from sdch_tf.nets.vggf import read_vggf_mean

        mean = read_vggf_mean(result["path"])
        np.testing.assert_array_equal(mean["average_image"], prep.mean_image)
        np.testing.assert_allclose(mean["mean_rgb"], prep.mean_rgb, rtol=1e-5)
    x = pretrain._crops(images, prep)
    want, got = np.asarray(result["net"](x, training=False)), np.asarray(net(x, training=False))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # The classifier stored beside the backbone gives the trained classifier's logits.
    np.testing.assert_allclose(got @ fc8_kernel + fc8_bias, np.asarray(result["head"](want)), rtol=1e-4, atol=1e-4)


def test_the_command_writes_each_size_into_its_folder_with_a_record(tmp_path):
    assert pretrain.main(["--backbone", "vggf", "--size", "smoke", "--images", "120", "--held-out", "40",
                          "--epochs", "1", "--out", str(tmp_path), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "smoke").iterdir()) == ["imagenet-vgg-f.json", "imagenet-vgg-f.mat"]
    record = json.loads((tmp_path / "smoke" / "imagenet-vgg-f.json").read_text())
    assert (record["backbone"], record["size"], record["train_images"], record["held_out_images"]) == \
        ("vggf", "smoke", 120, 40)
    assert record["chance"] == 1 / 40 and 0 <= record["held_out_accuracy"] <= 1
    assert record["command"] == ("python -m sdch_tf.pretrain --backbone vggf --size smoke --images 120 --held-out 40 "
                                 f"--epochs 1 --out {tmp_path} --quiet")
    # The pretraining config is the preset's shapes with the MatConvNet input the file's weights expect.
    assert record["image_net"]["input_scale"] == 1.0 and record["image_net"]["dropout"] == 0.0


@pytest.mark.parametrize("flag", ["--epochs", "--images", "--held-out"])
def test_a_count_below_one_is_one_error_line(tmp_path, capsys, flag):
    assert pretrain.main(["--out", str(tmp_path), flag, "0"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {flag} 0: must be at least 1"
