"""MAT-file reading and writing, v5 and v7.3 (docs/reproduction.md §2), on tiny files written here."""
import h5py
import numpy as np
import pytest
import scipy.io

from sdch_tf.data.dataset import ArrayImages
from sdch_tf.data.mat import (
    MatFileError,
    list_variables,
    mat_version,
    read_array,
    write_mat_v5,
    write_mat_v73,
)
from sdch_tf.data.mat_images import HDF5Images, image_layout, read_images


def asymmetric_images(n=4, height=8, width=6):
    """uint8 (n, H, W, 3), every (sample, row, column, channel) a different value.

    Non-square and different along H and W, so that any H/W swap or flip changes the array.
    """
    s, h, w, c = np.meshgrid(np.arange(n), np.arange(height), np.arange(width), np.arange(3), indexing="ij")
    return ((s * 109 + h * 18 + w * 3 + c) % 256).astype(np.uint8)


def test_fixture_is_asymmetric():
    images = asymmetric_images()
    assert len(np.unique(images[0])) == images[0].size
    assert images[0, 1, 0, 0] == 18 and images[0, 0, 1, 0] == 3 and images[1, 0, 0, 0] == 109


# ------------------------------------------------------------------------------ version detection


def test_v73_file_has_matlab_user_block(tmp_path):
    path = tmp_path / "a.mat"
    write_mat_v73(path, {"x": np.ones((2, 3))})
    raw = path.read_bytes()
    assert raw.startswith(b"MATLAB 7.3 MAT-file, ")
    assert raw[512:520] == b"\x89HDF\r\n\x1a\n"
    assert raw[124:128] == b"\x00\x02IM"  # version 0x0200, endian indicator
    assert h5py.is_hdf5(path)
    assert mat_version(path) == "v7.3"


def test_v5_file_is_detected(tmp_path):
    path = tmp_path / "b.mat"
    write_mat_v5(path, {"x": np.ones((2, 3))})
    assert path.read_bytes().startswith(b"MATLAB 5.0 MAT-file")
    assert mat_version(path) == "v5"


def test_v5_detection_ignores_the_file_name(tmp_path):
    path = tmp_path / "looks-like-v73.h5"
    scipy.io.savemat(path, {"x": np.ones(2)})
    assert mat_version(path) == "v5"


def test_plain_hdf5_without_user_block_reads_as_v73(tmp_path):
    path = tmp_path / "plain.mat"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(6.0).reshape(3, 2)  # MATLAB sees (2, 3)
    assert mat_version(path) == "v7.3"
    np.testing.assert_array_equal(read_array(path, "x"), np.arange(6.0).reshape(3, 2).T)


def test_other_files_are_rejected_naming_the_file(tmp_path):
    path = tmp_path / "notes.mat"
    path.write_bytes(b"just some text, not MATLAB")
    with pytest.raises(MatFileError, match=r"notes\.mat.*not a MATLAB MAT-file"):
        mat_version(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.mat"):
        mat_version(tmp_path / "nothing.mat")


# ------------------------------------------------------------------------------ arrays


def test_v73_arrays_are_stored_reversed_with_matlab_class(tmp_path):
    path = tmp_path / "a.mat"
    labels = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=np.float64)  # (N=5, C=3)
    texts = np.arange(10, dtype=np.float32).reshape(5, 2)
    write_mat_v73(path, {"LAll": labels, "YAll": texts, "u": np.arange(4, dtype=np.uint8), "b": labels > 0})
    with h5py.File(path, "r") as f:
        assert f["LAll"].shape == (3, 5)  # what h5py shows: MATLAB's dimensions reversed
        np.testing.assert_array_equal(f["LAll"][()], labels.T)
        assert f["LAll"].attrs["MATLAB_class"] == b"double"
        assert f["YAll"].attrs["MATLAB_class"] == b"single"
        assert f["u"].attrs["MATLAB_class"] == b"uint8"
        assert f["u"].shape == (4, 1)  # a 1-D array is a MATLAB row (1, 4), as savemat writes it
        assert f["b"].attrs["MATLAB_class"] == b"logical"
    got = read_array(path, "LAll")
    assert got.shape == (5, 3) and got.dtype == np.float64
    np.testing.assert_array_equal(got, labels)
    np.testing.assert_array_equal(read_array(path, "YAll"), texts)
    assert read_array(path, "YAll").dtype == np.float32
    np.testing.assert_array_equal(read_array(path, "u"), [[0, 1, 2, 3]])
    np.testing.assert_array_equal(read_array(path, "b"), labels.astype(np.uint8))


def test_v5_arrays_round_trip(tmp_path):
    path = tmp_path / "b.mat"
    labels = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.uint8)
    texts = np.array([[0.5, 2.0, 0.0], [1.0, 0.0, 3.25], [0.0, 0.0, 1.0]])
    write_mat_v5(path, {"LAll": labels, "YAll": texts})
    np.testing.assert_array_equal(read_array(path, "LAll"), labels)
    np.testing.assert_array_equal(read_array(path, "YAll"), texts)
    assert read_array(path, "LAll").dtype == np.uint8


def test_list_variables_in_matlab_order(tmp_path):
    write_mat_v73(tmp_path / "a.mat", {"IAll": ArrayImages(asymmetric_images(4, 8, 6)), "LAll": np.zeros((4, 3))})
    write_mat_v5(tmp_path / "b.mat", {"LAll": np.zeros((4, 3), np.uint8)})
    assert list_variables(tmp_path / "a.mat") == {"IAll": ((8, 6, 3, 4), "uint8"), "LAll": ((4, 3), "double")}
    assert list_variables(tmp_path / "b.mat") == {"LAll": ((4, 3), "uint8")}


@pytest.mark.parametrize("writer", [write_mat_v5, write_mat_v73])
def test_missing_key_lists_the_keys_present(tmp_path, writer):
    path = tmp_path / "x.mat"
    writer(path, {"LAll": np.zeros((4, 3)), "YAll": np.zeros((4, 2))})
    with pytest.raises(MatFileError, match=r"x\.mat: no variable 'IAll'; variables present: LAll \(4, 3\) double, "
                                           r"YAll \(4, 2\) double"):
        read_array(path, "IAll")


def test_v73_sparse_matrix_is_read_dense(tmp_path):
    # MATLAB v7.3 sparse (CSC): data, ir (row indices), jc (column starts); rows in MATLAB_sparse.
    dense = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 0.0], [0.0, 3.0, 4.0], [0.0, 0.0, 0.0]])
    path = tmp_path / "s.mat"
    with h5py.File(path, "w", userblock_size=512) as f:
        g = f.create_group("YAll")
        g.attrs["MATLAB_class"] = np.bytes_("double")
        g.attrs["MATLAB_sparse"] = np.uint64(4)
        g["data"] = np.array([1.0, 2.0, 3.0, 4.0])
        g["ir"] = np.array([1, 0, 2, 2], dtype=np.uint64)
        g["jc"] = np.array([0, 1, 3, 4], dtype=np.uint64)
    assert list_variables(path) == {"YAll": ((4, 3), "double")}
    np.testing.assert_array_equal(read_array(path, "YAll"), dense)


def test_v5_sparse_matrix_is_read_dense(tmp_path):
    import scipy.sparse

    dense = np.array([[0.0, 2.0], [1.0, 0.0], [0.0, 3.0]])
    path = tmp_path / "s.mat"
    scipy.io.savemat(path, {"YAll": scipy.sparse.csc_matrix(dense)})
    np.testing.assert_array_equal(read_array(path, "YAll"), dense)


def test_unsupported_dtype_is_refused(tmp_path):
    with pytest.raises(TypeError, match="complex128"):
        write_mat_v73(tmp_path / "c.mat", {"z": np.ones(2, dtype=complex)})


# ------------------------------------------------------------------------------ images


def test_image_layout_permutations():
    assert image_layout((8, 6, 3, 4), 4) == (3, 0, 1, 2)  # DCMH: MATLAB (H, W, 3, N)
    assert image_layout((4, 8, 6, 3), 4) == (0, 1, 2, 3)  # MATLAB (N, H, W, 3)
    # Channel-sized axes at both candidate positions: the sample count decides.
    assert image_layout((5, 4, 3, 3), 3) == (3, 0, 1, 2)
    assert image_layout((5, 4, 3, 3), 5) == (0, 1, 2, 3)
    with pytest.raises(ValueError, match=r"N = 7.*found MATLAB shape \(8, 6, 3, 4\)"):
        image_layout((8, 6, 3, 4), 7)
    with pytest.raises(ValueError, match=r"4-D.*\(8, 6, 4\)"):
        image_layout((8, 6, 4), 4)


def test_dcmh_layout_as_written_by_hand_reads_upright(tmp_path):
    images = asymmetric_images(5, 8, 6)
    path = tmp_path / "iall.mat"
    with h5py.File(path, "w", userblock_size=512) as f:
        f["IAll"] = images.transpose(0, 3, 2, 1)  # h5py (N, 3, W, H), as in the DCMH files
    source = read_images(path, "IAll", num_samples=5)
    assert source.shape == (5, 8, 6, 3)
    np.testing.assert_array_equal(source.read(np.arange(5)), images)


def test_matlab_nhwc_layout_reads_upright(tmp_path):
    images = asymmetric_images(5, 8, 6)
    path = tmp_path / "iall.mat"
    with h5py.File(path, "w", userblock_size=512) as f:
        f["IAll"] = images.transpose(3, 2, 1, 0)  # h5py (3, W, H, N) = MATLAB N×H×W×3
    source = read_images(path, "IAll", num_samples=5)
    assert source.shape == (5, 8, 6, 3)
    np.testing.assert_array_equal(source.read(np.array([4, 0, 4, 2])), images[[4, 0, 4, 2]])


def test_v73_image_writer_uses_dcmh_layout(tmp_path):
    images = asymmetric_images(4, 8, 6)
    path = tmp_path / "iall.mat"
    write_mat_v73(path, {"IAll": ArrayImages(images)})
    with h5py.File(path, "r") as f:
        stored = f["IAll"]
        assert stored.shape == (4, 3, 6, 8) and stored.dtype == np.uint8
        assert stored.attrs["MATLAB_class"] == b"uint8"
        # h5py [n, c, w, h] is pixel (row h, column w) of image n.
        assert stored[2, 1, 5, 7] == images[2, 7, 5, 1]
        assert stored[0, 0, 1, 0] == images[0, 0, 1, 0] == 3


def test_lazy_source_reads_unsorted_repeated_indices(tmp_path):
    images = asymmetric_images(6, 8, 6)
    path = tmp_path / "iall.mat"
    write_mat_v73(path, {"IAll": ArrayImages(images)})
    source = read_images(path, "IAll", num_samples=6)
    assert isinstance(source, HDF5Images)
    assert isinstance(source.dataset, h5py.Dataset)  # not an ndarray: nothing loaded up front
    assert len(source) == 6
    for order in ([5, 1, 5, 0, 1], [3], [2, 2, 2], [0, 1, 2, 3, 4, 5]):
        got = source.read(np.array(order))
        assert got.dtype == np.uint8 and got.shape == (len(order), 8, 6, 3)
        np.testing.assert_array_equal(got, images[order])
    assert source.read(np.array([], dtype=np.int64)).shape == (0, 8, 6, 3)
    source.close()


def test_h5py_reader_asks_for_the_requested_samples_only(tmp_path):
    images = asymmetric_images(6, 8, 6)
    path = tmp_path / "iall.mat"
    write_mat_v73(path, {"IAll": ArrayImages(images)})
    source = HDF5Images(path, "IAll", num_samples=6, pread=False)
    assert source.reader == "h5py"
    selections = []

    class Recording:
        def __init__(self, dataset):
            self.dataset = dataset

        def __getitem__(self, selection):
            selections.append(selection)
            return self.dataset[selection]

    source.dataset = Recording(source.dataset)
    np.testing.assert_array_equal(source.read(np.array([4, 1, 4])), images[[4, 1, 4]])
    assert len(selections) == 1  # one h5py call per batch
    np.testing.assert_array_equal(selections[0][0], [1, 4])  # sorted, deduplicated
    np.testing.assert_array_equal(source.read(np.array([3, 2, 4, 3])), images[[3, 2, 4, 3]])
    assert selections[1][0] == slice(2, 5)  # a contiguous run is read as one slice
    source.close()


def test_lazy_source_rejects_out_of_range_indices(tmp_path):
    path = tmp_path / "iall.mat"
    write_mat_v73(path, {"IAll": ArrayImages(asymmetric_images(3, 8, 6))})
    source = read_images(path, "IAll", num_samples=3)
    with pytest.raises(IndexError, match=r"\[0, 3\)"):
        source.read(np.array([0, 3]))
    with pytest.raises(IndexError):
        source.read(np.array([-1]))
    source.close()


def test_v73_images_written_in_bounded_chunks(tmp_path):
    images = asymmetric_images(7, 8, 6)

    class CountingSource(ArrayImages):
        requests = []

        def read(self, indices):
            self.requests.append(np.asarray(indices).copy())
            return super().read(indices)

    source = CountingSource(images)
    path = tmp_path / "iall.mat"
    write_mat_v73(path, {"IAll": source}, chunk_samples=3)
    assert [len(r) for r in source.requests] == [3, 3, 1]
    np.testing.assert_array_equal(read_images(path, "IAll", 7).read(np.arange(7)), images)


def test_v5_images_round_trip_in_memory(tmp_path):
    images = asymmetric_images(4, 8, 6)
    path = tmp_path / "iall.mat"
    write_mat_v5(path, {"IAll": ArrayImages(images)})
    assert list_variables(path) == {"IAll": ((8, 6, 3, 4), "uint8")}  # MATLAB (H, W, 3, N), DCMH layout
    source = read_images(path, "IAll", num_samples=4)
    assert isinstance(source, ArrayImages)
    np.testing.assert_array_equal(source.read(np.array([3, 0, 3])), images[[3, 0, 3]])


def test_v5_matlab_nhwc_images(tmp_path):
    images = asymmetric_images(4, 8, 6)
    path = tmp_path / "iall.mat"
    write_mat_v5(path, {"IAll": images})  # a plain ndarray is written as the MATLAB array (N, H, W, 3)
    np.testing.assert_array_equal(read_images(path, "IAll", num_samples=4).read(np.arange(4)), images)


@pytest.mark.parametrize("writer", [write_mat_v5, write_mat_v73])
def test_image_errors_name_file_key_and_shapes(tmp_path, writer):
    path = tmp_path / "iall.mat"
    writer(path, {"IAll": np.zeros((8, 6, 4, 5), np.uint8), "F": np.zeros((8, 6, 3, 5))})
    with pytest.raises(MatFileError, match=r"iall\.mat: variable 'IAll'.*\(H, W, 3, N\).*found MATLAB shape "
                                           r"\(8, 6, 4, 5\)"):
        read_images(path, "IAll", num_samples=5)
    with pytest.raises(MatFileError, match=r"iall\.mat: variable 'F' must be a uint8 image array"):
        read_images(path, "F", num_samples=5)


# ------------------------------------------------------------------------------ the pread reader


def random_images(n, height=8, width=6, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, height, width, 3), dtype=np.uint8)


BATCHES = ([5, 1, 5, 0, 1], [3], [2, 2, 2], [0, 1, 2, 3, 4, 5], [39, 38, 37, 0, 12, 13, 14, 13, 39], [20, 21, 22])


def test_pread_reader_equals_h5py_reader_on_the_dcmh_layout(tmp_path):
    images = random_images(40)
    path = tmp_path / "iall.mat"
    write_mat_v73(path, {"IAll": ArrayImages(images)})
    fast = read_images(path, "IAll", num_samples=40)
    slow = HDF5Images(path, "IAll", num_samples=40, pread=False)
    assert (fast.reader, slow.reader) == ("pread", "h5py")
    fast.dataset = None  # the pread reader must not go through h5py at all
    rng = np.random.default_rng(1)
    for order in list(BATCHES) + [rng.integers(0, 40, size=64) for _ in range(5)]:
        got, want = fast.read(np.array(order)), slow.read(np.array(order))
        assert got.dtype == want.dtype == np.uint8 and got.flags.c_contiguous
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(got, images[order])
    fast.close()
    slow.close()


def test_pread_reader_reads_one_run_per_call(tmp_path, monkeypatch):
    import sdch_tf.data.mat as mat

    images = random_images(12)
    path = tmp_path / "iall.mat"
    write_mat_v73(path, {"IAll": ArrayImages(images)})
    source = read_images(path, "IAll", num_samples=12)
    calls = []
    preadv = mat.os.preadv

    def recording(fd, buffers, offset):
        calls.append((offset, sum(len(b) for b in buffers)))
        return preadv(fd, buffers, offset)

    monkeypatch.setattr(mat.os, "preadv", recording)
    order = [7, 3, 4, 7, 5, 10, 9]  # runs 3..5 and 9..10 and 7, in any request order
    np.testing.assert_array_equal(source.read(np.array(order)), images[order])
    size = 3 * 8 * 6
    start = source._offset
    assert calls == [(start + 3 * size, 3 * size), (start + 7 * size, size), (start + 9 * size, 2 * size)]
    source.close()


def test_pread_reader_without_user_block(tmp_path):
    images = random_images(6)
    path = tmp_path / "plain.mat"
    with h5py.File(path, "w") as f:
        f["IAll"] = images.transpose(0, 3, 2, 1)
    source = read_images(path, "IAll", num_samples=6)
    assert source.reader == "pread"
    first = path.read_bytes()[source._offset:source._offset + 3 * 8 * 6]
    assert first == images[0].transpose(2, 1, 0).tobytes()  # h5py (3, W, H) of sample 0, at the offset found
    np.testing.assert_array_equal(source.read(np.array([5, 0, 5])), images[[5, 0, 5]])
    source.close()


def test_chunked_gzip_images_use_h5py_with_a_chunk_cache(tmp_path):
    images = random_images(40)
    path = tmp_path / "iall.mat"
    with h5py.File(path, "w", userblock_size=512) as f:  # as MATLAB may write v7.3: chunked + gzip
        f.create_dataset("IAll", data=images.transpose(0, 3, 2, 1), chunks=(4, 3, 6, 8), compression="gzip",
                         shuffle=True)
    source = read_images(path, "IAll", num_samples=40)
    assert source.reader == "h5py"
    slots, nbytes, _ = source.dataset.id.get_access_plist().get_chunk_cache()
    assert nbytes == 16 * 2**20  # HDF5's default is 1 MiB
    assert slots >= 2**16 and all(slots % d for d in range(2, int(slots ** 0.5) + 1))  # prime, many chunks fit
    for order in BATCHES + ([29, 0, 17, 17, 3],):
        np.testing.assert_array_equal(source.read(np.array(order)), images[order])
    source.close()


@pytest.mark.parametrize("chunks", [None, (3, 6, 8, 5)])
def test_matlab_nhwc_layout_keeps_the_h5py_reader(tmp_path, chunks):
    images = random_images(10)
    path = tmp_path / "iall.mat"
    with h5py.File(path, "w", userblock_size=512) as f:
        f.create_dataset("IAll", data=images.transpose(3, 2, 1, 0), chunks=chunks)
    source = read_images(path, "IAll", num_samples=10)
    assert source.reader == "h5py"  # a sample is not one run of bytes in this layout
    np.testing.assert_array_equal(source.read(np.array([9, 2, 9, 3, 4])), images[[9, 2, 9, 3, 4]])
    source.close()


def test_an_unwritten_image_dataset_is_refused_not_read_as_its_fill_value(tmp_path):
    # It once read as the fill value: training on uniform images without a word.
    path = tmp_path / "iall.mat"
    with h5py.File(path, "w") as f:
        f.create_dataset("IAll", shape=(4, 3, 6, 8), dtype=np.uint8, fillvalue=7)  # no storage allocated
    with pytest.raises(MatFileError, match=r"'IAll' is declared .* but never written: .*fill value 7"):
        read_images(path, "IAll", num_samples=4)


def test_pread_reader_names_the_sample_of_a_file_truncated_after_opening(tmp_path):
    images = random_images(10)
    path = tmp_path / "iall.mat"
    write_mat_v73(path, {"IAll": ArrayImages(images)})
    source = read_images(path, "IAll", num_samples=10)
    size = 3 * 8 * 6
    with open(path, "r+b") as f:
        f.truncate(source._offset + 6 * size + 10)
    np.testing.assert_array_equal(source.read(np.array([5, 0])), images[[5, 0]])
    with pytest.raises(MatFileError, match=r"iall\.mat: variable 'IAll'.*inside sample 6.*truncated"):
        source.read(np.array([2, 8, 7, 6]))
    source.close()


@pytest.mark.parametrize("pread", [True, False])
def test_parallel_reads_from_threads(tmp_path, pread):
    from concurrent.futures import ThreadPoolExecutor

    images = random_images(200, 16, 12)
    path = tmp_path / "iall.mat"
    write_mat_v73(path, {"IAll": ArrayImages(images)})
    source = HDF5Images(path, "IAll", num_samples=200, pread=pread)
    batches = [np.random.default_rng(seed).integers(0, 200, size=64) for seed in range(64)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(source.read, batches))
    for batch, got in zip(batches, results):
        np.testing.assert_array_equal(got, images[batch])
    source.close()


def test_closing_releases_the_file_descriptor(tmp_path):
    import os

    path = tmp_path / "iall.mat"
    write_mat_v73(path, {"IAll": ArrayImages(random_images(3))})
    source = read_images(path, "IAll", num_samples=3)
    fd = source._fd
    os.fstat(fd)
    source.close()
    with pytest.raises(OSError):
        os.fstat(fd)
    source.close()  # twice is harmless


# ------------------------------------------------------------------------------ arrays in blocks, cast


@pytest.mark.parametrize("dense_dtype", [np.float64, np.float32, np.uint8])
def test_blocked_float32_read_equals_the_whole_read_cast(tmp_path, monkeypatch, dense_dtype):
    import sdch_tf.data.mat as mat

    rng = np.random.default_rng(0)
    values = rng.normal(scale=3.0, size=(37, 11)) * (rng.random((37, 11)) < 0.3)  # float32 rounding matters
    values = values.astype(dense_dtype) if dense_dtype != np.uint8 else (values != 0).astype(np.uint8)
    path = tmp_path / "yall.mat"
    write_mat_v73(path, {"YAll": values})
    whole = read_array(path, "YAll")
    monkeypatch.setattr(mat, "_READ_BLOCK_BYTES", 3 * 37 * values.itemsize)  # 3 h5py rows a block, 4 blocks
    blocked = read_array(path, "YAll", dtype=np.float32)
    assert whole.dtype == dense_dtype and blocked.dtype == np.float32
    assert blocked.shape == (37, 11) and blocked.flags.c_contiguous
    np.testing.assert_array_equal(blocked.view(np.uint32), whole.astype(np.float32).view(np.uint32))
    np.testing.assert_array_equal(read_array(path, "YAll"), values)  # the blocked stored-dtype read
    if dense_dtype == np.float64:
        assert not np.array_equal(whole, blocked.astype(np.float64))  # the cast did round something


def test_float32_read_of_sparse_and_v5_variables(tmp_path):
    import scipy.sparse

    rng = np.random.default_rng(2)
    dense = rng.normal(size=(9, 5)) * (rng.random((9, 5)) < 0.4)
    v5 = tmp_path / "v5.mat"
    scipy.io.savemat(v5, {"S": scipy.sparse.csc_matrix(dense), "D": dense})
    for key in ("S", "D"):
        got = read_array(v5, key, dtype=np.float32)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, dense.astype(np.float32))
    v73 = tmp_path / "v73.mat"
    matrix = scipy.sparse.csc_matrix(dense)
    with h5py.File(v73, "w", userblock_size=512) as f:
        g = f.create_group("S")
        g.attrs["MATLAB_class"] = np.bytes_("double")
        g.attrs["MATLAB_sparse"] = np.uint64(9)
        g["data"], g["ir"], g["jc"] = matrix.data, matrix.indices.astype(np.uint64), matrix.indptr.astype(np.uint64)
    got = read_array(v73, "S", dtype=np.float32)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, dense.astype(np.float32))
    np.testing.assert_array_equal(read_array(v73, "S"), dense)


def test_pread_reader_survives_short_reads_and_long_runs(tmp_path, monkeypatch):
    import sdch_tf.data.mat as mat
    import sdch_tf.data.mat_images as mat_images

    images = random_images(30)
    path = tmp_path / "iall.mat"
    write_mat_v73(path, {"IAll": ArrayImages(images)})
    source = read_images(path, "IAll", num_samples=30)
    preadv = mat.os.preadv
    calls = []

    def short(fd, buffers, offset):  # at most 100 bytes per call: stops inside samples and buffers
        calls.append(len(buffers))
        return preadv(fd, [buffers[0][:100]], offset)

    monkeypatch.setattr(mat.os, "preadv", short)
    monkeypatch.setattr(mat_images, "_IOV_MAX", 2)
    order = [0, 1, 2, 3, 4, 29, 4, 10, 11, 12, 13, 14, 15, 16]  # runs longer than _IOV_MAX buffers
    np.testing.assert_array_equal(source.read(np.array(order)), images[order])
    assert max(calls) <= 2 and len(calls) >= 13 * 144 // 100
    source.close()
