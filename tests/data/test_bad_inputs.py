"""Bad dataset files and options, each made here in the real formats: a clear error naming the file,
the key or the samples, what was found and what was expected — or, for samples without labels and
all-zero texts, a report (issue 5, "hardened inputs")."""
import logging

import h5py
import numpy as np
import pytest
import scipy.io

from sdch_tf import registry
from sdch_tf.run import experiment
from sdch_tf.configs import DataConfig
from sdch_tf.data.dataset import ArrayImages, CrossModalData
from sdch_tf.data.datasets import (
    DatasetFormatError,
    DatasetNotFoundError,
    SubsetImages,
    keep_top_concepts,
    load_dataset,
    write_mirflickr,
)
from sdch_tf.data.mat import write_mat_v5, write_mat_v73
from sdch_tf.data.mat_images import HDF5Images
from sdch_tf.data.split import SplitSizeError
from sdch_tf.input_errors import InputError

N, C, D = 12, 5, 7
NUS = {"images": ("nus-wide-tc21-iall.mat", "IAll"), "labels": ("nus-wide-tc21-lall.mat", "LAll"),
       "texts": ("nus-wide-tc21-yall.mat", "YAll")}


def images(n=N, height=8, width=6):
    """uint8 (n, H, W, 3), sample i distinguishable from every other."""
    s, h, w, c = np.meshgrid(np.arange(n), np.arange(height), np.arange(width), np.arange(3), indexing="ij")
    return ((s * 37 + h * 5 + w * 3 + c) % 256).astype(np.uint8)


def labels(n=N):
    """(n, C) uint8, every row labelled; column counts 12, 6, 4, 3, 2 (distinct: a unique top-C)."""
    out = np.zeros((n, C), np.uint8)
    out[:, 0] = 1
    out[::2, 1] = 1
    out[::3, 2] = 1
    out[::4, 3] = 1
    out[::6, 4] = 1
    return out


def texts(n=N):
    return (np.arange(n * D, dtype=np.float32).reshape(n, D) * 0.25 + 1).astype(np.float32)


def write_nuswide(directory, images_=None, labels_=None, texts_=None, versions=("v7.3", "v5", "v7.3")):
    """The NUS-WIDE DCMH layout: three files, each any MAT version; arrays in MATLAB order."""
    writers = {"v5": write_mat_v5, "v7.3": write_mat_v73}
    values = {"images": ArrayImages(images() if images_ is None else images_),
              "labels": (labels() if labels_ is None else labels_).astype(np.float64),
              "texts": (texts() if texts_ is None else texts_).astype(np.float64)}
    for (role, (file, key)), version in zip(NUS.items(), versions):
        writers[version](directory / file, {key: values[role]})
    return {role: directory / file for role, (file, _) in NUS.items()}


def load_error(directory, name="nuswide", **kwargs) -> str:
    with pytest.raises(DatasetFormatError) as info:
        load_dataset(name, directory, **kwargs)
    assert isinstance(info.value, InputError)
    return str(info.value)


# ------------------------------------------------------------------------------ 1. unreadable files


def test_a_missing_file_names_it(tmp_path):
    paths = write_nuswide(tmp_path)
    paths["texts"].unlink()
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("nuswide", tmp_path)
    assert isinstance(info.value, InputError) and isinstance(info.value, FileNotFoundError)
    assert f"{paths['texts'].resolve()} [MISSING]" in str(info.value)
    assert f"{paths['labels'].resolve()} [present]" in str(info.value)


@pytest.mark.parametrize("role", ["images", "labels", "texts"])
def test_a_v73_file_cut_to_half_its_bytes(tmp_path, role):
    paths = write_nuswide(tmp_path, versions=("v7.3", "v7.3", "v7.3"))
    whole = paths[role].read_bytes()
    paths[role].write_bytes(whole[:len(whole) // 2])
    message = load_error(tmp_path)
    key = NUS[role][1]
    assert f"{paths[role]}: cannot open the MATLAB v7.3 (HDF5) file" in message
    assert "truncated file" in message  # HDF5's own words, with the size found and the size stored
    assert f"expected {key!r}" in message


@pytest.mark.parametrize("role", ["labels", "texts"])
def test_a_v5_file_cut_to_half_its_bytes(tmp_path, role):
    paths = write_nuswide(tmp_path, versions=("v7.3", "v5", "v5"))
    whole = paths[role].read_bytes()
    paths[role].write_bytes(whole[:len(whole) // 2])
    message = load_error(tmp_path)
    assert f"{paths[role]}: cannot read the MATLAB v5 file" in message
    assert f"expected {NUS[role][1]!r}" in message


def test_images_whose_data_lies_past_the_end_of_the_file(tmp_path):
    """Header intact, pixel bytes cut: caught when the images are opened, not mid-training."""
    paths = write_nuswide(tmp_path, images_=images(n=N, height=32, width=32))
    whole = paths["images"].read_bytes()
    with h5py.File(paths["images"], "r") as f:
        offset = f["IAll"].id.get_offset()
    cut = offset + (len(whole) - offset) // 2
    paths["images"].write_bytes(whole[:cut])
    message = load_error(tmp_path)
    assert str(paths["images"]) in message and "'IAll'" in message and "truncated" in message


@pytest.mark.parametrize("content", [b"\x00\x17\xfe random bytes \x01" * 40, b"YAll = [1 2 3; 4 5 6]\n"],
                         ids=["random-bytes", "text"])
def test_a_file_that_is_not_a_mat_file(tmp_path, content):
    paths = write_nuswide(tmp_path)
    paths["texts"].write_bytes(content)
    message = load_error(tmp_path)
    assert f"{paths['texts']}: not a MATLAB MAT-file" in message
    assert f"the file starts with {content[:40]!r}" in message
    assert "expected 'YAll': MATLAB (N, d) bag-of-words" in message


# ------------------------------------------------------------------------------ 2. missing key


@pytest.mark.parametrize("writer", [write_mat_v73, write_mat_v5], ids=["v7.3", "v5"])
def test_a_missing_key_lists_the_variables_present(tmp_path, writer):
    paths = write_nuswide(tmp_path)
    writer(paths["labels"], {"labels": labels().astype(np.float64)})
    message = load_error(tmp_path)
    assert f"{paths['labels']}: no variable 'LAll'; variables present: labels (12, 5) double" in message
    assert "expected 'LAll': MATLAB (N, C) in {0, 1}; usually N = 195834, C = 21" in message


# ------------------------------------------------------------------------------ 3. sample counts


def test_texts_with_fewer_samples_than_labels(tmp_path):
    paths = write_nuswide(tmp_path, texts_=texts(N - 2))
    message = load_error(tmp_path)
    assert "row counts disagree" in message
    assert f"{paths['labels']} 'LAll' has shape (12, 5) (N = 12)" in message
    assert f"{paths['texts']} 'YAll' has shape (10, 7); expected (12, d)" in message


def test_images_with_more_samples_than_labels(tmp_path):
    paths = write_nuswide(tmp_path, images_=images(N + 3))
    message = load_error(tmp_path)
    assert f"{paths['images']}: variable 'IAll'" in message
    assert "with N = 12; found MATLAB shape (8, 6, 3, 15)" in message
    assert f"N = 12 from {paths['labels']} 'LAll'" in message


def test_labels_saved_as_a_row_vector_are_called_so(tmp_path):
    paths = write_nuswide(tmp_path)
    write_mat_v5(paths["labels"], {"LAll": labels()[:, 0].astype(np.float64)})  # 1-D -> MATLAB (1, N)
    message = load_error(tmp_path)
    assert "'LAll' has shape (1, 12) (N = 1)" in message
    assert "a (1, 12) variable is a single row: a 1-D vector saved as a MATLAB row?" in message


# ------------------------------------------------------------------------------ 4. dtype and rank


@pytest.mark.parametrize("writer", [write_mat_v73, write_mat_v5], ids=["v7.3", "v5"])
def test_float_images(tmp_path, writer):
    paths = write_nuswide(tmp_path)
    writer(paths["images"], {"IAll": np.transpose(images(), (1, 2, 3, 0)).astype(np.float64)})
    message = load_error(tmp_path)
    assert f"{paths['images']}: variable 'IAll' must be a uint8 image array, found float64" in message
    assert "expected 'IAll': uint8" in message


def test_string_and_cell_labels(tmp_path):
    paths = write_nuswide(tmp_path)
    scipy.io.savemat(paths["labels"], {"LAll": np.array(["sky"] * N)})  # MATLAB char
    assert f"{paths['labels']}: variable 'LAll' is not a numeric array (found ndarray of dtype <U3)" in \
        load_error(tmp_path)
    cells = np.empty((N, 1), dtype=object)
    cells[:, 0] = ["sky"] * N
    scipy.io.savemat(paths["labels"], {"LAll": cells})  # MATLAB cell
    assert "variable 'LAll' is not a numeric array (found ndarray of dtype object)" in load_error(tmp_path)
    with h5py.File(paths["labels"], "w") as f:  # v7.3 strings
        f["LAll"] = np.array([b"sky"] * N)
    assert f"{paths['labels']}: variable 'LAll' is not a numeric array (HDF5 dtype |S3" in load_error(tmp_path)


def test_one_dimensional_labels(tmp_path):
    paths = write_nuswide(tmp_path)
    with h5py.File(paths["labels"], "w") as f:  # an HDF5 file written by h5py can hold a 1-D array
        f["LAll"] = labels()[:, 0].astype(np.float64)
    assert f"{paths['labels']}: 'LAll' must be a 2-D label matrix MATLAB (N, C); found shape (12,)" in \
        load_error(tmp_path)


def test_three_dimensional_texts(tmp_path):
    paths = write_nuswide(tmp_path)
    write_mat_v73(paths["texts"], {"YAll": np.stack([texts(), texts()], axis=-1).astype(np.float64)})
    assert f"{paths['texts']}: 'YAll' must be a 2-D bag-of-words matrix MATLAB (N, d); found shape (12, 7, 2)" \
        in load_error(tmp_path)


def test_three_dimensional_images(tmp_path):
    paths = write_nuswide(tmp_path)
    write_mat_v73(paths["images"], {"IAll": images()[..., 0]})  # grey (N, H, W)
    message = load_error(tmp_path)
    assert f"{paths['images']}: variable 'IAll': expected a 4-D image array" in message
    assert "found MATLAB shape (12, 8, 6)" in message


# ------------------------------------------------------------------------------ 5. non-finite values


@pytest.mark.parametrize("version", ["v7.3", "v5"])
def test_nan_and_inf_texts_name_the_samples(tmp_path, version):
    bad = texts().astype(np.float64)
    bad[4, 1], bad[9, 6], bad[10, 0] = np.nan, np.inf, -np.inf
    paths = write_nuswide(tmp_path, texts_=bad, versions=("v7.3", "v5", version))
    message = load_error(tmp_path)
    assert f"{paths['texts']}: 'YAll' (shape (12, 7)) holds non-finite values (NaN or ±inf): 3 of them" in message
    assert "first at [sample row, column] (0-based) [4, 1] = nan, [9, 6] = inf, [10, 0] = -inf" in message


def test_nan_and_inf_labels_name_the_samples(tmp_path):
    bad = labels().astype(np.float64)
    bad[3, 2], bad[7, 0] = np.nan, np.inf
    paths = write_nuswide(tmp_path, labels_=bad)
    message = load_error(tmp_path)
    assert f"{paths['labels']}: 'LAll' (shape (12, 5)) must hold labels in {{0, 1}}; found values [inf, nan]" \
        in message
    assert "in 2 entries, first at [sample row, column] (0-based) [3, 2] = nan, [7, 0] = inf" in message


# ------------------------------------------------------------------------------ 6. samples without labels


def unlabelled_at(rows, n=N):
    out = labels(n)
    out[rows] = 0
    return out


def test_samples_without_labels_are_dropped_and_reported(tmp_path, caplog):
    dropped = [2, 5, 11]
    paths = write_nuswide(tmp_path, labels_=unlabelled_at(dropped))
    with caplog.at_level(logging.WARNING, logger="sdch_tf.data.datasets"):
        data = load_dataset("nuswide", tmp_path)
    kept = np.setdiff1d(np.arange(N), dropped)
    assert data.num_samples == 9
    np.testing.assert_array_equal(data.labels, labels()[kept])
    np.testing.assert_array_equal(data.texts, texts()[kept])
    # The images stay lazy: the v7.3 source behind an index map, never read whole.
    assert isinstance(data.images, SubsetImages) and isinstance(data.images.source, HDF5Images)
    np.testing.assert_array_equal(data.images.read(np.array([8, 0, 2])), images()[kept[[8, 0, 2]]])
    report = data.report
    assert report.num_unlabelled_dropped == 3 and report.num_file_samples == N
    np.testing.assert_array_equal(report.unlabelled, dropped)
    np.testing.assert_array_equal(report.rows, kept)
    assert len(report.no_top_concept) == 0 and report.num_zero_text == 0
    (line,) = [r.getMessage() for r in caplog.records if r.name == "sdch_tf.data.datasets"]
    assert line == (f"nuswide: dropped 3 of 12 samples that have no label (an all-zero row in {paths['labels']} "
                    "'LAll'; the DCMH protocol keeps labelled samples only): file rows 2, 5, 11 (0-based)")
    assert report.lines() == [line]


def test_a_dataset_without_anything_to_drop_reports_nothing(tmp_path, caplog):
    write_nuswide(tmp_path)
    with caplog.at_level(logging.WARNING, logger="sdch_tf.data.datasets"):
        data = load_dataset("nuswide", tmp_path)
    assert data.num_samples == N and isinstance(data.images, HDF5Images)  # no index map in between
    assert data.report.lines() == [] and data.report.num_unlabelled_dropped == 0
    np.testing.assert_array_equal(data.report.rows, np.arange(N))
    assert not [r for r in caplog.records if r.name == "sdch_tf.data.datasets"]


def test_in_memory_v5_images_are_subset_too(tmp_path):
    write_nuswide(tmp_path, labels_=unlabelled_at([0]), versions=("v5", "v5", "v5"))
    data = load_dataset("nuswide", tmp_path)
    assert isinstance(data.images, ArrayImages)
    np.testing.assert_array_equal(data.images.read(np.arange(N - 1)), images()[1:])


def test_no_label_at_all_is_an_error(tmp_path):
    paths = write_nuswide(tmp_path, labels_=np.zeros((N, C)))
    message = load_error(tmp_path)
    assert f"{paths['labels']} 'LAll': none of the 12 samples has a label" in message


def test_unlabelled_samples_and_the_top_concepts_of_iapr(tmp_path, caplog):
    """num_labels after the drop: the same concepts and samples as keep_top_concepts on the labelled samples."""
    full = labels()
    full[[1, 7], :] = 0          # no label at all: dropped by the protocol
    full[5, :] = [0, 0, 0, 0, 1]  # only the rarest concept: dropped by num_labels=3
    write_mat_v73(tmp_path / "IAPR-TC12.mat", {"IAll": ArrayImages(images()), "LAll": full.astype(np.float64),
                                              "YAll": texts().astype(np.float64)})
    with caplog.at_level(logging.WARNING, logger="sdch_tf.data.datasets"):
        data = load_dataset("iapr", tmp_path, num_labels=3)
    labelled = np.setdiff1d(np.arange(N), [1, 7])
    reference = keep_top_concepts(
        CrossModalData("iapr", ArrayImages(images()[labelled]), texts()[labelled], full[labelled]), 3)
    kept = np.setdiff1d(np.arange(N), [1, 5, 7])
    assert data.num_samples == reference.num_samples == 9
    np.testing.assert_array_equal(data.labels, reference.labels)
    np.testing.assert_array_equal(data.labels, full[np.ix_(kept, [0, 1, 2])])
    np.testing.assert_array_equal(data.texts, texts()[kept])
    np.testing.assert_array_equal(data.images.read(np.arange(9)), images()[kept])
    np.testing.assert_array_equal(data.report.unlabelled, [1, 7])
    np.testing.assert_array_equal(data.report.no_top_concept, [5])
    np.testing.assert_array_equal(data.report.rows, kept)
    messages = [r.getMessage() for r in caplog.records if r.name == "sdch_tf.data.datasets"]
    assert len(messages) == 2 and "dropped 2 of 12 samples that have no label" in messages[0]
    assert messages[1] == ("iapr: dropped 1 more samples with none of the 3 most frequent concepts "
                           "(num_labels=3, SDCH §4.1): file rows 5 (0-based)")


def test_num_labels_outside_the_concepts_of_the_file(tmp_path):
    write_mat_v5(tmp_path / "IAPR-TC12.mat", {"IAll": ArrayImages(images()), "LAll": labels().astype(np.float64),
                                             "YAll": texts().astype(np.float64)})
    with pytest.raises(InputError, match=r"num_labels=22 is outside \[1, 5\]: .*IAPR-TC12\.mat 'LAll' has shape "
                                         r"\(12, 5\), i\.e\. 5 concepts"):
        load_dataset("iapr", tmp_path, num_labels=22)


# ------------------------------------------------------------------------------ 7. all-zero texts


def test_all_zero_texts_are_kept_and_reported(tmp_path, caplog):
    zero = texts()
    zero[[3, 4, 9]] = 0
    paths = write_nuswide(tmp_path, texts_=zero)
    with caplog.at_level(logging.WARNING, logger="sdch_tf.data.datasets"):
        data = load_dataset("nuswide", tmp_path)
    assert data.num_samples == N
    np.testing.assert_array_equal(data.texts, zero)
    np.testing.assert_array_equal(data.report.zero_text, [3, 4, 9])
    (line,) = [r.getMessage() for r in caplog.records if r.name == "sdch_tf.data.datasets"]
    assert line == (f"nuswide: warning: 3 of 12 samples have an all-zero text vector in {paths['texts']} 'YAll' "
                    "(no vocabulary word); kept: samples 3, 4, 9")


def test_all_zero_texts_after_a_drop_give_both_numberings(tmp_path, caplog):
    zero = texts()
    zero[[3, 6, 7, 8, 10, 11]] = 0
    write_nuswide(tmp_path, labels_=unlabelled_at([0, 1]), texts_=zero)
    with caplog.at_level(logging.WARNING, logger="sdch_tf.data.datasets"):
        data = load_dataset("nuswide", tmp_path)
    np.testing.assert_array_equal(data.report.zero_text, [1, 4, 5, 6, 8, 9])
    assert not data.texts[data.report.zero_text].any() and data.texts[[0, 2, 3, 7]].all()
    lines = [r.getMessage() for r in caplog.records if r.name == "sdch_tf.data.datasets"]
    assert len(lines) == 2
    assert lines[1].endswith("6 of 10 samples have an all-zero text vector in "
                             f"{tmp_path / 'nus-wide-tc21-yall.mat'} 'YAll' (no vocabulary word); kept: "
                             "samples 1, 4, 5, 6, 8, ... (file rows 3, 6, 7, 8, 10, ...)")


# ------------------------------------------------------------------------------ 8. split sizes


def test_a_dataset_smaller_than_the_protocol(tmp_path):
    write_nuswide(tmp_path, labels_=unlabelled_at([4]))
    cfg = DataConfig(dataset="nuswide", data_dir=str(tmp_path))
    data = experiment.load_data(cfg)
    with pytest.raises(SplitSizeError) as info:
        experiment.split_for(cfg, data, seed=0)
    message = str(info.value)
    assert isinstance(info.value, InputError)
    assert message.startswith("nuswide: the split does not fit the dataset: num_query=2100 leaves no database "
                              "out of 11 samples.")
    assert "Asked: 2100 queries (the DCMH protocol's for nuswide, docs/reproduction.md §2) and 10500 training samples" \
           in message
    assert "at least 12600 samples; available: 11 samples; the files hold 12, of which 1 were dropped" in message
    assert "--num-query / --num-train" in message


def test_split_sizes_asked_larger_than_the_dataset(tmp_path):
    write_nuswide(tmp_path)
    cfg = DataConfig(dataset="nuswide", data_dir=str(tmp_path), num_query=4, num_train=9)
    data = experiment.load_data(cfg)
    with pytest.raises(SplitSizeError, match=r"num_train=9 exceeds the database size 8 \(12 samples minus 4 "
                                             r"queries\)\. Asked: 4 queries \(set by --num-query / --num-train or "
                                             r"the preset\) and 9 training samples .* at least 13 samples; "
                                             r"available: 12 samples\. Pass"):
        experiment.split_for(cfg, data, seed=0)
    fitting = experiment.split_for(DataConfig(dataset="nuswide", num_query=4, num_train=8), data, seed=0)
    assert fitting.sizes() == {"query": 4, "database": 8, "train": 8}


# ------------------------------------------------------------------------------ 9. unknown names


def test_unknown_dataset_lists_the_valid_names():
    with pytest.raises(InputError) as info:
        experiment.load_data(DataConfig(dataset="flickr25k"))
    assert str(info.value) == ("unknown dataset 'flickr25k'; choose one of synthetic, mirflickr, iapr, nuswide, "
                               "nuswide-tc10, coco (synthetic is embedded and needs no files)")
    with pytest.raises(InputError, match=r"unknown dataset 'NUSWIDE'; file datasets are \['coco', 'iapr', 'mirflickr', "
                                         r"'nuswide', 'nuswide-tc10'\]"):
        load_dataset("NUSWIDE", "/nonexistent")


def test_unknown_method_lists_the_valid_names():
    with pytest.raises(InputError) as info:
        registry.get_method("sdhc")
    assert str(info.value) == "unknown method 'sdhc'; available: cmhn, cmnn, corrae, dbrc, dcmh, dspah, dvsh, imh, prdh, rdcmh, scm, sdch, seph"
    assert isinstance(info.value, ValueError)


# ------------------------------------------------------------------------------ inputs are never modified


def test_loading_and_subsetting_do_not_modify_their_inputs(tmp_path):
    data = CrossModalData("mirflickr", ArrayImages(images()), texts(), unlabelled_at([3]))
    before = (data.labels.copy(), data.texts.copy())
    write_mirflickr(data, tmp_path)
    loaded = load_dataset("mirflickr", tmp_path)
    keep_top_concepts(loaded, 2)
    assert loaded.num_samples == N - 1
    np.testing.assert_array_equal(data.labels, before[0])
    np.testing.assert_array_equal(data.texts, before[1])
    np.testing.assert_array_equal(loaded.labels, before[0][np.arange(N) != 3])
