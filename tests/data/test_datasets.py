"""Dataset readers for the DCMH-style files (docs/reproduction.md §2), on tiny files fabricated here."""
import numpy as np
import pytest

from sdch_tf.data.dataset import ArrayImages, CrossModalData
from sdch_tf.data.datasets import (
    DatasetFormatError,
    DatasetNotFoundError,
    keep_top_concepts,
    load_dataset,
    top_concepts,
    write_mirflickr,
)
from sdch_tf.data.mat import mat_version, write_mat_v5, write_mat_v73
from sdch_tf.data.mat_images import HDF5Images

# Hand-made labels (N = 6, C = 5). Column counts: 3, 1, 2, 1, 3.
LABELS = np.array(
    [
        [1, 0, 0, 0, 1],
        [0, 1, 0, 0, 0],
        [1, 0, 1, 0, 0],
        [0, 0, 0, 1, 0],
        [1, 0, 1, 0, 1],
        [0, 0, 0, 0, 1],
    ],
    dtype=np.uint8,
)


def asymmetric_images(n, height=8, width=6):
    """uint8 (n, H, W, 3), every (sample, row, column, channel) a different value; H != W."""
    s, h, w, c = np.meshgrid(np.arange(n), np.arange(height), np.arange(width), np.arange(3), indexing="ij")
    return ((s * 109 + h * 18 + w * 3 + c) % 256).astype(np.uint8)


def make_data(name="mirflickr", labels=LABELS, text_dim=7, offset=0):
    n = len(labels)
    # Non-integer float32 values: they must survive the trip through MATLAB double exactly.
    texts = (np.arange(n * text_dim, dtype=np.float32).reshape(n, text_dim) * 0.37 + offset).astype(np.float32)
    images = asymmetric_images(n) if offset == 0 else 255 - asymmetric_images(n)
    return CrossModalData(name=name, images=ArrayImages(images), texts=texts, labels=labels.copy())


def assert_same(got: CrossModalData, want: CrossModalData):
    assert got.images.shape == want.images.shape
    everything = np.arange(len(want.images))
    np.testing.assert_array_equal(got.images.read(everything), want.images.read(everything))
    assert got.texts.dtype == np.float32 and got.labels.dtype == np.uint8
    np.testing.assert_array_equal(got.texts, want.texts)
    np.testing.assert_array_equal(got.labels, want.labels)


def raw(data: CrossModalData):
    """(images (N, H, W, 3), MATLAB double labels, MATLAB double texts) to write by hand."""
    return (data.images, data.labels.astype(np.float64), data.texts.astype(np.float64))


# ------------------------------------------------------------------------------ MIRFlickr


def test_mirflickr_split_files_round_trip(tmp_path):
    data = make_data()
    paths = write_mirflickr(data, tmp_path)
    assert [p.name for p in paths] == ["mirflickr25k-iall.mat", "mirflickr25k-lall.mat", "mirflickr25k-yall.mat"]
    assert [mat_version(p) for p in paths] == ["v7.3", "v5", "v5"]
    got = load_dataset("mirflickr", tmp_path)
    assert got.name == "mirflickr"
    assert isinstance(got.images, HDF5Images)
    assert_same(got, data)


def test_mirflickr_merged_file_round_trip(tmp_path):
    data = make_data()
    (path,) = write_mirflickr(data, tmp_path, merged=True)
    assert path.name == "FLICKR-25K.mat" and mat_version(path) == "v7.3"
    assert_same(load_dataset("mirflickr", tmp_path), data)


def test_mirflickr_split_files_take_precedence(tmp_path):
    split, merged = make_data(), make_data(offset=100)
    write_mirflickr(split, tmp_path)
    write_mirflickr(merged, tmp_path, merged=True)
    assert_same(load_dataset("mirflickr", tmp_path), split)
    (tmp_path / "mirflickr25k-yall.mat").unlink()  # incomplete split files: the merged file is used
    assert_same(load_dataset("mirflickr", tmp_path), merged)


def test_rewriting_a_lazily_loaded_dataset(tmp_path):
    data = make_data()
    write_mirflickr(data, tmp_path / "a")
    loaded = load_dataset("mirflickr", tmp_path / "a")
    write_mirflickr(loaded, tmp_path / "b", merged=True)  # images copied from the HDF5 source in chunks
    assert_same(load_dataset("mirflickr", tmp_path / "b"), data)


def test_synthetic_set_written_to_disk_reads_back(tmp_path):
    from sdch_tf.data.synthetic import SyntheticConfig, make_synthetic

    data = make_synthetic(SyntheticConfig(num_samples=30, image_size=16, vocab_size=200))
    write_mirflickr(data, tmp_path)
    got = load_dataset("mirflickr", tmp_path)
    assert_same(got, data)
    assert got.label_names is None  # the DCMH files hold no concept names


# ------------------------------------------------------------------------------ IAPR TC-12


@pytest.mark.parametrize("writer", [write_mat_v73, write_mat_v5])
def test_iapr_single_file_either_version(tmp_path, writer):
    data = make_data("iapr")
    images, labels, texts = raw(data)
    writer(tmp_path / "IAPR-TC12.mat", {"IAll": images, "LAll": labels, "YAll": texts})
    got = load_dataset("iapr", tmp_path)
    assert got.name == "iapr"
    assert_same(got, data)


def test_top_concepts_on_hand_made_labels():
    columns, rows = top_concepts(LABELS, 3)  # counts 3, 1, 2, 1, 3 -> columns 0, 4, 2
    np.testing.assert_array_equal(columns, [0, 2, 4])
    np.testing.assert_array_equal(rows, [0, 2, 4, 5])  # rows 1 and 3 only have dropped concepts
    columns, rows = top_concepts(LABELS, 2)
    np.testing.assert_array_equal(columns, [0, 4])
    # Tie between columns 1 and 3 (one sample each): the lower column index wins.
    columns, rows = top_concepts(LABELS, 4)
    np.testing.assert_array_equal(columns, [0, 1, 2, 4])
    np.testing.assert_array_equal(rows, [0, 1, 2, 4, 5])
    with pytest.raises(ValueError, match=r"num_labels must be in \[1, 5\]"):
        top_concepts(LABELS, 6)


def test_iapr_keeps_the_most_frequent_concepts_and_their_samples(tmp_path):
    data = make_data("iapr")
    images, labels, texts = raw(data)
    write_mat_v73(tmp_path / "IAPR-TC12.mat", {"IAll": images, "LAll": labels, "YAll": texts})
    got = load_dataset("iapr", tmp_path, num_labels=3)
    kept = [0, 2, 4, 5]
    np.testing.assert_array_equal(got.labels, [[1, 0, 1], [1, 1, 0], [1, 1, 1], [0, 0, 1]])
    np.testing.assert_array_equal(got.texts, data.texts[kept])
    assert got.images.shape == (4, 8, 6, 3)
    np.testing.assert_array_equal(got.images.read(np.array([3, 0, 3])), asymmetric_images(6)[[5, 0, 5]])
    assert got.labels.dtype == np.uint8 and got.texts.dtype == np.float32


def test_keep_top_concepts_keeps_label_names():
    data = CrossModalData("x", ArrayImages(asymmetric_images(6)), np.zeros((6, 2), np.float32), LABELS.copy(),
                          label_names=("a", "b", "c", "d", "e"))
    got = keep_top_concepts(data, 3)
    assert got.label_names == ("a", "c", "e")
    np.testing.assert_array_equal(got.images.read(np.arange(4)), asymmetric_images(6)[[0, 2, 4, 5]])
    np.testing.assert_array_equal(data.labels, LABELS)  # the input is not modified


# ------------------------------------------------------------------------------ NUS-WIDE


@pytest.mark.parametrize(
    "versions",
    [("v7.3", "v5", "v7.3"), ("v7.3", "v7.3", "v5"), ("v5", "v5", "v5"), ("v7.3", "v7.3", "v7.3")],
    ids=lambda v: "-".join(v),
)
@pytest.mark.parametrize("name, prefix", [("nuswide", "nus-wide-tc21"), ("nuswide-tc10", "nus-wide-tc10")])
def test_nuswide_split_files_any_mix_of_versions(tmp_path, name, prefix, versions):
    writers = {"v5": write_mat_v5, "v7.3": write_mat_v73}
    data = make_data(name)
    images, labels, texts = raw(data)
    for (suffix, key, value), version in zip(
        (("iall", "IAll", images), ("lall", "LAll", labels), ("yall", "YAll", texts)), versions
    ):
        writers[version](tmp_path / f"{prefix}-{suffix}.mat", {key: value})
    got = load_dataset(name, tmp_path)
    assert got.name == name
    assert_same(got, data)


def test_nuswide_tc10_does_not_read_tc21_files(tmp_path):
    write_mat_v5(tmp_path / "nus-wide-tc21-lall.mat", {"LAll": LABELS})
    with pytest.raises(DatasetNotFoundError, match="nus-wide-tc10-lall.mat"):
        load_dataset("nuswide-tc10", tmp_path)


# ------------------------------------------------------------------------------ missing files


def test_missing_files_message_names_every_path_layout_and_the_synthetic_set(tmp_path):
    write_mat_v5(tmp_path / "mirflickr25k-lall.mat", {"LAll": LABELS})
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("mirflickr", tmp_path)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    for file in ("mirflickr25k-iall.mat", "mirflickr25k-yall.mat", "FLICKR-25K.mat"):
        assert f"{tmp_path.resolve() / file} [MISSING]" in message
    assert f"{tmp_path.resolve() / 'mirflickr25k-lall.mat'} [present]" in message
    for expected in ("'IAll'", "'LAll'", "'YAll'", "'images'", "(N, 3, W, H)", "(N, C)", "(N, d)", "d = 1386",
                     "v5 or v7.3", "python -m sdch_tf.train --dataset synthetic"):
        assert expected in message


@pytest.mark.parametrize("name, file", [("iapr", "IAPR-TC12.mat"), ("nuswide", "nus-wide-tc21-iall.mat"),
                                        ("nuswide-tc10", "nus-wide-tc10-yall.mat")])
def test_missing_files_for_each_dataset(tmp_path, name, file):
    with pytest.raises(DatasetNotFoundError, match=str(tmp_path.resolve() / file).replace(".", r"\.")):
        load_dataset(name, tmp_path)


def test_unknown_dataset_points_to_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown dataset 'flickr'.*'mirflickr'.*--dataset synthetic"):
        load_dataset("flickr", "/nonexistent")


# ------------------------------------------------------------------------------ malformed files


def write_iapr(directory, images, labels, texts, writer=write_mat_v73):
    writer(directory / "IAPR-TC12.mat", {"IAll": images, "LAll": labels, "YAll": texts})


def test_missing_key_lists_the_keys_present_and_the_expected_shape(tmp_path):
    data = make_data()
    write_mirflickr(data, tmp_path)
    write_mat_v5(tmp_path / "mirflickr25k-lall.mat", {"L": LABELS})
    with pytest.raises(DatasetFormatError) as info:
        load_dataset("mirflickr", tmp_path)
    message = str(info.value)
    assert str(tmp_path / "mirflickr25k-lall.mat") in message
    assert "no variable 'LAll'; variables present: L (6, 5) uint8" in message
    assert "expected 'LAll': MATLAB (N, C) in {0, 1}" in message


def test_row_counts_that_disagree_name_both_files(tmp_path):
    data = make_data()
    write_mirflickr(data, tmp_path)
    write_mat_v5(tmp_path / "mirflickr25k-yall.mat", {"YAll": np.zeros((5, 7))})
    with pytest.raises(DatasetFormatError) as info:
        load_dataset("mirflickr", tmp_path)
    message = str(info.value)
    assert "row counts disagree" in message
    assert f"{tmp_path / 'mirflickr25k-lall.mat'} 'LAll' has shape (6, 5)" in message
    assert f"{tmp_path / 'mirflickr25k-yall.mat'} 'YAll' has shape (5, 7); expected (6, d)" in message


def test_images_with_another_sample_count(tmp_path):
    data = make_data()
    write_mirflickr(data, tmp_path)
    write_mat_v73(tmp_path / "mirflickr25k-iall.mat", {"IAll": ArrayImages(asymmetric_images(5))})
    with pytest.raises(DatasetFormatError) as info:
        load_dataset("mirflickr", tmp_path)
    message = str(info.value)
    assert f"{tmp_path / 'mirflickr25k-iall.mat'}: variable 'IAll'" in message
    assert "with N = 6; found MATLAB shape (8, 6, 3, 5)" in message
    assert "'LAll'" in message and "(N, 3, W, H)" in message


def test_wrong_ndim(tmp_path):
    data = make_data("iapr")
    images, labels, texts = raw(data)
    write_iapr(tmp_path, images, labels.reshape(6, 5, 1) * np.ones((1, 1, 2)), texts, writer=write_mat_v5)
    with pytest.raises(DatasetFormatError, match=r"IAPR-TC12\.mat: 'LAll' must be a 2-D label matrix MATLAB "
                                                 r"\(N, C\); found shape \(6, 5, 2\)"):
        load_dataset("iapr", tmp_path)


@pytest.mark.parametrize("bad", [2.0, -1.0, 0.5])
def test_labels_outside_0_1_are_rejected(tmp_path, bad):
    data = make_data("iapr")
    images, labels, texts = raw(data)
    labels[3, 2] = bad
    write_iapr(tmp_path, images, labels, texts)
    with pytest.raises(DatasetFormatError, match=rf"IAPR-TC12\.mat: 'LAll' \(shape \(6, 5\)\) must hold labels in "
                                                 rf"\{{0, 1\}}; found values \[{bad}\]"):
        load_dataset("iapr", tmp_path)


def test_non_finite_texts_are_rejected(tmp_path):
    data = make_data("iapr")
    images, labels, texts = raw(data)
    texts[1, 1] = np.nan
    write_iapr(tmp_path, images, labels, texts)
    with pytest.raises(DatasetFormatError, match=r"IAPR-TC12\.mat: 'YAll' \(shape \(6, 7\)\) holds non-finite"):
        load_dataset("iapr", tmp_path)


def test_a_file_that_is_not_a_mat_file(tmp_path):
    (tmp_path / "IAPR-TC12.mat").write_bytes(b"<html>a download error page</html>")
    with pytest.raises(DatasetFormatError, match=r"IAPR-TC12\.mat: not a MATLAB MAT-file"):
        load_dataset("iapr", tmp_path)


def test_missing_directory_is_said_so(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"not found in .*nowhere \(the directory does not exist\)"):
        load_dataset("iapr", tmp_path / "nowhere")

