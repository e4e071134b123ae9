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


def test_pretraining_learns_and_the_file_loads_back_with_the_same_forward_pass(tmp_path):
    import keras

    from sdch_tf.nets.alexnet import build_image_net, load_bvlc_alexnet

    # The cpu size: the smoke net (8 filters in conv1, fc 64) stays at chance for many epochs.
    assert pretrain.main(["--size", "cpu", "--images", "3000", "--held-out", "500", "--epochs", "5",
                          "--out", str(tmp_path), "--quiet"]) == 0
    record = json.loads((tmp_path / "bvlc_alexnet.json").read_text())
    # Learns: chance is 1/40 with a std of 0.007 over 500 held-out images.
    assert record["held_out_accuracy"] > 2 * record["chance"]
    assert record["command"].startswith("python -m sdch_tf.pretrain --size cpu")

    weights = np.load(tmp_path / "bvlc_alexnet.npy", allow_pickle=True, encoding="latin1").item()
    assert set(weights) == {"conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"}
    assert weights["fc8"][0].shape[1] == standin.NUM_CLASSES
    config = pretrain.image_config("cpu")
    keras.utils.set_random_seed(7)
    net = build_image_net(config)
    load_bvlc_alexnet(net, str(tmp_path / "bvlc_alexnet.npy"))
    for name in ("conv2", "fc6"):
        np.testing.assert_array_equal(net.get_layer(name).kernel.numpy(), weights[name][0])
    # fc7 of the loaded net equals fc7 computed from the file's arrays (conv part through the net).
    x = pretrain.preprocess(standin.make_standin(standin.StandInConfig(num_images=4, image_size=64))[0], config)
    fc6_in = keras.Model(net.input, net.get_layer("flatten").output)(x).numpy()
    h = np.maximum(fc6_in @ weights["fc6"][0] + weights["fc6"][1], 0)
    want = np.maximum(h @ weights["fc7"][0] + weights["fc7"][1], 0)
    got = keras.Model(net.input, net.get_layer("fc7").output)(x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("flag", ["--epochs", "--images", "--held-out"])
def test_a_count_below_one_is_one_error_line(tmp_path, capsys, flag):
    assert pretrain.main(["--out", str(tmp_path), flag, "0"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {flag} 0: must be at least 1"
