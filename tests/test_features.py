"""The features file (sdch_tf/data/features.py), the foreign .mat layouts it reads, and the
extraction command ``python -m sdch_tf.features`` (sdch_tf/features.py); docs/features.md."""
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
import scipy.io
import scipy.sparse

from sdch_tf.data import features as F
from sdch_tf.data.mat import write_mat_v73
from sdch_tf.data.split import make_split


def small_features(n=30, d=7, t=11, c=4, seed=3) -> F.FeatureData:
    rng = np.random.default_rng(seed)
    split = make_split(n, 5, 10, seed)
    labels = (rng.random((n, c)) < 0.4).astype(np.uint8)
    labels[np.arange(n), rng.integers(0, c, n)] = 1
    # Magnitudes from 1e-30 to 1e30: a lossy conversion anywhere would show.
    image_features = (rng.standard_normal((n, d)) * 10.0 ** rng.integers(-30, 30, (n, d))).astype(np.float32)
    return F.FeatureData(image_features=image_features, texts=(rng.random((n, t)) < 0.2).astype(np.float32),
                         labels=labels, query=split.query, database=split.database, train=split.train,
                         attrs={"backbone": "alexnet", "seed": 3, "scale": 0.25, "flag": True, "note": "π ≠ 3"})


def test_a_written_file_reads_back_bit_identical_and_leaves_no_temporary(tmp_path):
    data = small_features()
    path = tmp_path / "sub" / "f.h5"
    F.write_features(path, data)
    assert os.listdir(path.parent) == ["f.h5"]
    for back in (F.read_features(path), F.load_features(str(path))):
        for key in F.KEYS:
            written, read = getattr(data, key), getattr(back, key)
            assert read.dtype == F.DTYPES[key] and read.shape == written.shape, key
            assert read.tobytes() == np.asarray(written, F.DTYPES[key]).tobytes(), key
        assert back.attrs == {**data.attrs, "format": F.FORMAT, "format_version": F.FORMAT_VERSION}
        assert type(back.attrs["seed"]) is int and type(back.attrs["flag"]) is bool


def test_an_interrupted_write_keeps_the_old_file(tmp_path):
    old, new = small_features(seed=1), small_features(seed=2)
    path = tmp_path / "f.h5"
    F.write_features(path, old)

    def blocks():
        yield new.image_features[:10]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        F.write_feature_blocks(path, blocks(), new.feature_dim, texts=new.texts, labels=new.labels, query=new.query,
                               database=new.database, train=new.train)
    assert os.listdir(tmp_path) == ["f.h5"]
    np.testing.assert_array_equal(F.read_features(path).image_features, old.image_features)


def test_blocks_that_do_not_add_up_or_hold_nan_are_refused(tmp_path):
    data = small_features()
    common = dict(texts=data.texts, labels=data.labels, query=data.query, database=data.database, train=data.train)
    with pytest.raises(F.FeatureFileError, match=r"20 rows of image features for 30 samples"):
        F.write_feature_blocks(tmp_path / "a.h5", [data.image_features[:20]], 7, **common)
    bad = data.image_features.copy()
    bad[17, 2] = np.nan
    with pytest.raises(F.FeatureFileError, match=r"rows 17 hold NaN"):
        F.write_feature_blocks(tmp_path / "b.h5", [bad[:10], bad[10:]], 7, **common)
    with pytest.raises(ValueError, match=r"'train' holds rows .* not in 'database'"):
        F.write_feature_blocks(tmp_path / "c.h5", [data.image_features], 7,
                               **{**common, "train": np.r_[data.train, data.query[:1]]})
    assert not os.listdir(tmp_path)


# ------------------------------------------------------------------------------- our file's errors


def rewrite(path, **changes):
    """Replace datasets of a written file (None deletes one)."""
    with h5py.File(path, "r+") as f:
        for key, value in changes.items():
            del f[key]
            if value is not None:
                f.create_dataset(key, data=value)


def test_a_missing_dataset_is_named_with_what_the_file_holds(tmp_path):
    path = tmp_path / "f.h5"
    F.write_features(path, small_features())
    rewrite(path, texts=None)
    with pytest.raises(F.FeatureFileError) as error:
        F.read_features(path)
    message = str(error.value)
    assert message.startswith(f"{path}: no dataset 'texts'")
    assert "image_features (30, 7)" in message and "labels (30, 4)" in message


def test_mismatched_rows_name_both_shapes(tmp_path):
    data = small_features()
    path = tmp_path / "f.h5"
    F.write_features(path, data)
    rewrite(path, texts=data.texts[:29])
    with pytest.raises(F.FeatureFileError) as error:
        F.read_features(path)
    assert str(error.value) == (f"{path}: the matrices disagree on the number of samples N (one row each): "
                                "'image_features' (30, 7), 'texts' (29, 11), 'labels' (30, 4)")


@pytest.mark.parametrize("change, expected", [
    (lambda d: {"query": np.r_[d.query, 30]}, r"'query' holds row indices outside \[0, 30\) .*: 30 at positions 5"),
    (lambda d: {"query": d.query[1:]}, r"rows \d+ \(1 of 30\) are in neither 'query' nor 'database'"),
    (lambda d: {"database": np.r_[d.database, d.query[0]]},
     r"rows \d+ \(1 in all\) are in both 'query' and 'database'"),
    (lambda d: {"train": np.r_[d.train, d.query[2]]}, r"'train' holds rows \d+ \(1 of 11\) that are not in 'database'"),
    (lambda d: {"labels": d.labels * 2}, r"'labels' rows .* hold values other than 0 and 1"),
    (lambda d: {"query": d.query.astype(np.float64)}, r"'query' has shape \(5,\) and dtype float64"),
])
def test_a_broken_split_or_value_is_named(tmp_path, change, expected):
    data = small_features()
    path = tmp_path / "f.h5"
    F.write_features(path, data)
    rewrite(path, **change(data))
    with pytest.raises(F.FeatureFileError, match=f"^{path}: {expected}"):
        F.read_features(path)


def test_a_file_of_another_kind_is_named_as_such(tmp_path):
    mat_file = tmp_path / "collection.mat"
    write_mat_v73(mat_file, {"I_tr": np.ones((3, 2))})
    with pytest.raises(F.FeatureFileError, match=r"no 'format' attribute; expected 'sdch_tf.features'.*load_features"):
        F.read_features(mat_file)
    with pytest.raises(F.FeaturesNotFoundError, match="no such file"):
        F.load_features(tmp_path / "absent.h5")
    path = tmp_path / "f.h5"
    F.write_features(path, small_features())
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = 2
    with pytest.raises(F.FeatureFileError, match=r"'format_version' = 2; this sdch_tf reads versions 1 to 1"):
        F.read_features(path)


# ------------------------------------------------------------------------------- foreign layouts


def split_arrays(rng, n, d=6, t=9, c=3):
    labels = (rng.random((n, c)) < 0.5).astype(np.float64)
    labels[:, 0] = 1 - labels[:, 1:].max(axis=1) * (rng.random(n) < 0.5)  # every row has a label
    return rng.standard_normal((n, d)), (rng.random((n, t)) < 0.3).astype(np.float64), labels


def test_the_bmc_sdnu_tr_te_db_layout_finds_the_training_rows_in_the_database(tmp_path):
    rng = np.random.default_rng(0)
    i_te, t_te, l_te = split_arrays(rng, 4)
    i_db, t_db, l_db = split_arrays(rng, 9)
    i_db[7], t_db[7], l_db[7] = i_db[2], t_db[2], l_db[2]  # a repeated sample: each copy is used once
    picked = np.array([6, 2, 7, 0, 4])
    path = tmp_path / "mir_cnn.mat"
    scipy.io.savemat(path, {"I_tr": i_db[picked], "T_tr": t_db[picked], "L_tr": l_db[picked], "I_te": i_te,
                            "T_te": t_te, "L_te": l_te, "I_db": i_db, "T_db": scipy.sparse.csc_matrix(t_db),
                            "L_db": l_db})
    data = F.load_features(path)
    np.testing.assert_array_equal(data.image_features, np.concatenate([i_te, i_db]).astype(np.float32))
    np.testing.assert_array_equal(data.texts, np.concatenate([t_te, t_db]).astype(np.float32))
    np.testing.assert_array_equal(data.labels, np.concatenate([l_te, l_db]).astype(np.uint8))
    np.testing.assert_array_equal(data.query, np.arange(4))
    np.testing.assert_array_equal(data.database, np.arange(4, 13))
    np.testing.assert_array_equal(data.train, 4 + picked)
    assert data.attrs["layout"] == "tr-te-db" and data.attrs["database_image_key"] == "I_db"


def test_the_lssh_tr_te_layout_in_v73_with_class_index_labels(tmp_path):
    rng = np.random.default_rng(1)
    i_tr, t_tr, _ = split_arrays(rng, 7)
    i_te, t_te, _ = split_arrays(rng, 3)
    # As Wiki's rand_wiki.mat of lixiangpengcs/KLSSH: one class index 1..C per sample, as a column.
    l_tr, l_te = np.array([[1, 2, 2, 1, 1, 2, 1]], float).T, np.array([[3, 1, 2]], float).T
    path = tmp_path / "rand_wiki.mat"
    write_mat_v73(path, {"I_tr": i_tr, "T_tr": t_tr, "L_tr": l_tr, "I_te": i_te, "T_te": t_te, "L_te": l_te})
    data = F.load_features(path)
    np.testing.assert_array_equal(data.image_features, np.concatenate([i_te, i_tr]).astype(np.float32))
    np.testing.assert_array_equal(data.texts, np.concatenate([t_te, t_tr]).astype(np.float32))
    expected = np.zeros((10, 3), np.uint8)
    expected[np.arange(10), np.r_[l_te[:, 0], l_tr[:, 0]].astype(int) - 1] = 1  # C = 3, from L_te alone
    np.testing.assert_array_equal(data.labels, expected)
    np.testing.assert_array_equal(data.query, np.arange(3))
    np.testing.assert_array_equal(data.database, np.arange(3, 10))
    np.testing.assert_array_equal(data.train, np.arange(3, 10))
    assert data.attrs["layout"] == "tr-te"


def test_the_dlfh_layout_prefers_the_cnn_features(tmp_path):
    rng = np.random.default_rng(2)
    x_te, y_te, test_l = split_arrays(rng, 3)
    x_db, y_db, db_l = split_arrays(rng, 8)
    v_te, v_db = rng.standard_normal((3, 16)), rng.standard_normal((8, 16))
    path = tmp_path / "flickr-25k.mat"
    scipy.io.savemat(path, {"XTest": x_te, "YTest": y_te, "testL": test_l, "XDatabase": x_db, "YDatabase": y_db,
                            "databaseL": db_l, "VTest": v_te, "VDatabase": v_db})
    data = F.load_features(path)
    np.testing.assert_array_equal(data.image_features, np.concatenate([v_te, v_db]).astype(np.float32))
    np.testing.assert_array_equal(data.labels, np.concatenate([test_l, db_l]).astype(np.uint8))
    np.testing.assert_array_equal(data.train, np.arange(3, 11))
    np.testing.assert_array_equal(data.database, np.arange(3, 11))
    assert (data.attrs["layout"], data.attrs["query_image_key"]) == ("dlfh", "VTest")
    # Converted, it is an ordinary features file.
    F.write_features(tmp_path / "f.h5", data)
    np.testing.assert_array_equal(F.read_features(tmp_path / "f.h5").train, data.train)


def test_an_unknown_layout_lists_the_variables_and_the_layouts(tmp_path):
    path = tmp_path / "other.mat"
    scipy.io.savemat(path, {"features": np.zeros((10, 4)), "tags": np.zeros((10, 2))})
    with pytest.raises(F.FeatureFileError) as error:
        F.load_features(path)
    message = str(error.value)
    assert message.startswith(f"{path}: no known layout of pre-extracted features; variables found: ")
    assert "features (10, 4) double" in message and "tags (10, 2) double" in message
    for layout in F.MAT_LAYOUTS:
        assert f"{layout.name} (" in message and layout.source in message


def test_a_partial_layout_names_the_missing_variables(tmp_path):
    rng = np.random.default_rng(3)
    arrays = dict(zip(("I_tr", "T_tr", "L_tr"), split_arrays(rng, 5)))
    arrays.update(zip(("I_te", "T_te", "L_te"), split_arrays(rng, 2)))
    arrays["I_db"] = arrays["I_tr"]  # one db variable: a tr-te-db file with two missing, not a tr-te file
    path = tmp_path / "mir_cnn.mat"
    scipy.io.savemat(path, arrays)
    with pytest.raises(F.FeatureFileError, match=rf"^{path}: looks like the tr-te-db layout .* but has no T_db, L_db"):
        F.load_features(path)


def test_splits_that_disagree_are_named(tmp_path):
    rng = np.random.default_rng(4)
    i_tr, t_tr, l_tr = split_arrays(rng, 5)
    i_te, t_te, l_te = split_arrays(rng, 2)
    path = tmp_path / "a.mat"
    scipy.io.savemat(path, {"I_tr": i_tr, "T_tr": t_tr.T, "L_tr": l_tr, "I_te": i_te, "T_te": t_te, "L_te": l_te})
    with pytest.raises(F.FeatureFileError, match=r"'I_tr' \(5, 6\) and 'T_tr' \(9, 5\) disagree on the number of "
                                                 r"samples \(rows\) \(saved transposed\?"):
        F.load_features(path)
    scipy.io.savemat(path, {"I_tr": i_tr, "T_tr": t_tr, "L_tr": l_tr, "I_te": i_te[:, :4], "T_te": t_te, "L_te": l_te})
    with pytest.raises(F.FeatureFileError,
                       match=r"disagree on the image feature dimension .*'I_te' \(2, 4\), 'I_tr' \(5, 6\)"):
        F.load_features(path)
    i_db, t_db, l_db = split_arrays(rng, 6)
    scipy.io.savemat(path, {"I_tr": i_tr, "T_tr": t_tr, "L_tr": l_tr, "I_te": i_te, "T_te": t_te, "L_te": l_te,
                            "I_db": np.r_[i_db, i_tr[:4]], "T_db": np.r_[t_db, t_tr[:4]],
                            "L_db": np.r_[l_db, l_tr[:4]]})
    with pytest.raises(F.FeatureFileError, match=r"1 of the 5 training rows \(I_tr/T_tr/L_tr\) are not rows of the "
                                                 r"database \(I_db/T_db/L_db\): rows 4 \(0-based\)"):
        F.load_features(path)


# ------------------------------------------------------------------------------- the command

BACKBONE_NETS = {"alexnet": "sdch", "vggf": "dcmh", "resnet34": "dspah"}


def write_random_weights(backbone: str, path) -> None:
    """A randomly initialised net at the smoke preset's shapes, in the backbone's real file format."""
    import keras

    from sdch_tf import pretrain

    keras.utils.set_random_seed(11)
    config = pretrain.image_config(backbone, "smoke")
    if backbone == "alexnet":
        from sdch_tf.nets.alexnet import build_image_net, write_bvlc_alexnet
        write_bvlc_alexnet(path, build_image_net(config))
    elif backbone == "vggf":
        from sdch_tf.nets.vggf import build_vggf, write_vggf_mat
        average = np.random.default_rng(0).uniform(90, 140, (config.input_size, config.input_size, 3))
        write_vggf_mat(path, build_vggf(config), average.astype(np.float32))
    else:
        from sdch_tf.nets.resnet import build_resnet34, write_torchvision_resnet
        write_torchvision_resnet(path, build_resnet34(config))


def expected_features(backbone: str, weights: str, images: np.ndarray) -> np.ndarray:
    """The features of uint8 ``images``, computed here from the nets' builders and loaders."""
    import dataclasses

    import keras
    import tensorflow as tf

    from sdch_tf import configs, registry
    from sdch_tf.data.pipeline import preprocess_images

    method = BACKBONE_NETS[backbone]
    config = configs.build_config(method, "smoke", weights=weights)
    x = preprocess_images(tf.constant(images), registry.get_method(method).preprocessing(config))
    keras.utils.set_random_seed(99)  # another initialisation than the command's: only the loaded weights agree
    if backbone == "alexnet":
        from sdch_tf.nets.alexnet import build_image_net, load_bvlc_alexnet
        net = build_image_net(config.image_net)
        load_bvlc_alexnet(net, weights)
        return keras.Model(net.input, net.get_layer("fc7").output)(x, training=False).numpy()
    if backbone == "vggf":
        from sdch_tf.nets.vggf import build_vggf, load_vggf
        net = build_vggf(dataclasses.replace(config.image_net, input_scale=1.0))
        load_vggf(net, weights)
        return net(x, training=False).numpy()
    from sdch_tf.nets.resnet import build_resnet34, load_torchvision_resnet
    net = build_resnet34(config.image_net)
    load_torchvision_resnet(net, weights)
    return net(x, training=False)[-1].numpy().mean(axis=(1, 2))


@pytest.mark.parametrize("backbone, weights_file", [("alexnet", "bvlc_alexnet.npy"), ("vggf", "imagenet-vgg-f.mat"),
                                                    ("resnet34", "resnet34.npz")])
def test_the_command_writes_the_nets_features_the_data_and_the_split(tmp_path, capsys, backbone, weights_file):
    from sdch_tf import features
    from sdch_tf.configs import DataConfig, smoke_data
    from sdch_tf.data.synthetic import make_synthetic

    weights = str(tmp_path / weights_file)
    write_random_weights(backbone, weights)
    out = tmp_path / "out" / "synthetic.h5"
    argv = ["--backbone", backbone, "--preset", "smoke", "--weights", weights, "--dataset", "synthetic", "--seed", "5",
            "--batch-size", "64", "--out", str(out), "--quiet"]
    assert features.main(argv) == 0
    printed = capsys.readouterr().out
    assert f"Written: {out}" in printed and "query 40, database 200, train 96 (seed 5)" in printed

    got = F.read_features(out)
    data = make_synthetic(smoke_data(DataConfig()).synthetic)
    split = make_split(data.num_samples, 40, 96, 5)
    assert got.image_features.shape == (240, {"alexnet": 64, "vggf": 64, "resnet34": 8}[backbone])
    np.testing.assert_array_equal(got.texts, data.texts)
    np.testing.assert_array_equal(got.labels, data.labels)
    for key in F.INDICES:
        np.testing.assert_array_equal(getattr(got, key), getattr(split, key))
    rows = np.array([0, 63, 64, 150, 239])  # across batches, the last (partial) one included
    expected = expected_features(backbone, weights, data.images.read(rows))
    assert np.ptp(expected, axis=0).max() > 0.1  # features that tell images apart, not a dead net
    np.testing.assert_allclose(got.image_features[rows], expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    assert {k: got.attrs[k] for k in ("backbone", "weights", "dataset", "preset", "seed", "method")} == {
        "backbone": backbone, "weights": weights, "dataset": "synthetic", "preset": "smoke", "seed": 5,
        "method": BACKBONE_NETS[backbone]}
    assert json.loads(got.attrs["config"])["weights"] == weights
    assert got.attrs["command"] == "python -m sdch_tf.features " + " ".join(argv)
    assert got.attrs["feature_layer"] == features.FEATURE_LAYERS[backbone]


def test_the_command_refuses_to_run_without_pretrained_weights(tmp_path, capsys):
    from sdch_tf import features

    out = tmp_path / "f.h5"
    base = ["--backbone", "alexnet", "--dataset", "synthetic", "--out", str(out)]
    assert features.main(base + ["--preset", "smoke", "--weights", "none"]) == 2
    assert capsys.readouterr().err.strip().startswith(
        "error: --weights none: features come from a pretrained net; pass --weights PATH (a bvlc_alexnet.npy file)")
    assert features.main(base + ["--preset", "paper"]) == 2
    assert "no --weights was given: pass --weights PATH" in capsys.readouterr().err
    assert features.main(["--backbone", "vggf", "--dataset", "synthetic", "--out", str(tmp_path)]) == 2
    assert f"error: --out {tmp_path} is a directory" in capsys.readouterr().err
    (tmp_path / "a_file").write_text("")
    under_a_file = tmp_path / "a_file" / "sub" / "f.h5"
    assert features.main(["--backbone", "vggf", "--dataset", "synthetic", "--out", str(under_a_file)]) == 2
    assert f"error: --out {under_a_file}: {tmp_path / 'a_file'} is a file, not a directory" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["a_file"]


def test_neither_module_imports_tensorflow():
    code = ("import sys, sdch_tf.data.features, sdch_tf.features; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'tensorflow imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert proc.returncode == 0, proc.stderr[-2000:]
