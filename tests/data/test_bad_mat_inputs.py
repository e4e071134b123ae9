"""More bad MAT-files, each made here in the real formats: malformed v7.3 sparse matrices, image and
array variables declared but never written, corrupt compressed chunks, MATLAB v4 files, things that
are not regular files where a dataset file should be, dangling HDF5 external links and arrays written
transposed. Each gives an ``InputError`` naming the file, the key (and the samples where relevant),
what was found and what was expected — never a crash, a traceback or silently wrong data."""
import errno
import os
import threading

import h5py
import numpy as np
import pytest
import scipy.io

from sdch_tf.data.dataset import ArrayImages
from sdch_tf.data.datasets import DatasetNotFoundError, load_dataset
from sdch_tf.data.mat import (
    MatFileError,
    list_variables,
    mat_version,
    read_array,
    write_mat_v73,
)
from sdch_tf.data.mat_images import read_images
from sdch_tf.input_errors import InputError
from tests.data.test_bad_inputs import N, images, labels, load_error, texts, write_nuswide

README_HINT = "h5py writes arrays reversed, so write array.T (see README, Training on the real datasets)"


# ------------------------------------------------------------------------------ 1. v7.3 sparse matrices

DENSE = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 0.0], [0.0, 3.0, 4.0], [0.0, 0.0, 0.0]])
SPARSE = {"rows": 4, "data": [1.0, 2.0, 3.0, 4.0], "ir": [1, 0, 2, 2], "jc": [0, 1, 3, 4]}  # DENSE in CSC


def write_sparse(path, rows, data, ir, jc, key="YAll", ir_dtype=np.uint64, cls="double"):
    """A MATLAB v7.3 sparse variable as MATLAB writes it: a group with the row count in the
    MATLAB_sparse attribute and the CSC arrays data, ir (0-based row indices), jc (column starts)."""
    with h5py.File(path, "w", userblock_size=512) as f:
        g = f.create_group(key)
        g.attrs["MATLAB_class"] = np.bytes_(cls)
        g.attrs["MATLAB_sparse"] = rows if isinstance(rows, np.ndarray) else np.uint64(rows)
        g["data"] = np.asarray(data, dtype=np.uint8 if cls == "logical" else np.float64)
        g["ir"] = np.asarray(ir, dtype=ir_dtype)
        g["jc"] = np.asarray(jc, dtype=np.uint64)
    return path


def sparse_error(path, key="YAll") -> str:
    with pytest.raises(MatFileError) as info:
        read_array(path, key)
    message = str(info.value)
    assert message.startswith(f"{path}: sparse variable {key!r} is malformed: ")
    return message


def test_a_valid_sparse_matrix_reads_as_its_dense_matrix(tmp_path):
    path = write_sparse(tmp_path / "s.mat", **SPARSE)
    np.testing.assert_array_equal(read_array(path, "YAll"), DENSE)
    np.testing.assert_array_equal(read_array(path, "YAll", dtype=np.float32), DENSE.astype(np.float32))
    assert list_variables(path) == {"YAll": ((4, 3), "double")}


def test_sparse_storage_longer_than_its_nonzeros_is_read_up_to_jc(tmp_path):
    # MATLAB may store nzmax >= nnz entries: only the first jc[-1] of ir and data are nonzeros.
    path = write_sparse(tmp_path / "s.mat", 4, [1.0, 2.0, 3.0, 4.0, 9.0, 9.0], [1, 0, 2, 2, 77, 3], [0, 1, 3, 4])
    np.testing.assert_array_equal(read_array(path, "YAll"), DENSE)


def test_a_sparse_logical_matrix_reads_as_uint8(tmp_path):
    path = write_sparse(tmp_path / "s.mat", 4, [1, 1, 1, 1], [1, 0, 2, 2], [0, 1, 3, 4], cls="logical")
    result = read_array(path, "YAll")
    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result, DENSE != 0)


def test_sparse_texts_load_as_their_dense_matrix(tmp_path):
    paths = write_nuswide(tmp_path)
    dense = texts()
    dense[dense > 10] = 0
    rows, columns = np.nonzero(dense.T)  # CSC: column-major order of the nonzeros
    jc = np.r_[0, np.cumsum(np.bincount(rows, minlength=dense.shape[1]))]
    write_sparse(paths["texts"], dense.shape[0], dense.T[rows, columns], columns, jc)
    np.testing.assert_array_equal(load_dataset("nuswide", tmp_path).texts, dense)


def test_a_negative_sparse_row_index(tmp_path):
    path = write_sparse(tmp_path / "s.mat", 4, SPARSE["data"], [1, -1, 2, 2], SPARSE["jc"], ir_dtype=np.int64)
    assert "row index -1 at nonzero 1 (column 1) is outside 0..3 (MATLAB_sparse says 4 rows)" in sparse_error(path)


def test_a_sparse_row_index_past_the_row_count(tmp_path):
    path = write_sparse(tmp_path / "s.mat", 4, SPARSE["data"], [1, 0, 57, 2], SPARSE["jc"])
    message = sparse_error(path)
    assert "row index 57 at nonzero 2 (column 1) is outside 0..3 (MATLAB_sparse says 4 rows)" in message


def test_a_sparse_row_index_that_wraps_around_as_uint64(tmp_path):
    path = write_sparse(tmp_path / "s.mat", 4, SPARSE["data"], [1, 0, 2**64 - 1, 2], SPARSE["jc"])
    assert f"row index {2**64 - 1} at nonzero 2 (column 1) is outside 0..3" in sparse_error(path)


def test_a_sparse_row_count_smaller_than_the_largest_row_index(tmp_path):
    path = write_sparse(tmp_path / "s.mat", 2, **{k: v for k, v in SPARSE.items() if k != "rows"})
    message = sparse_error(path)
    assert "row index 2 at nonzero 2 (column 1) is outside 0..1 (MATLAB_sparse says 2 rows), and 1 more" in message


@pytest.mark.parametrize("rows, found", [(np.array([-3], np.int64), "-3"), (np.array([2.5]), "2.5"),
                                         (np.array([4, 4], np.uint64), "[4 4]")],
                         ids=["negative", "fractional", "two-values"])
def test_a_sparse_row_count_that_is_not_a_count(tmp_path, rows, found):
    path = write_sparse(tmp_path / "s.mat", rows, **{k: v for k, v in SPARSE.items() if k != "rows"})
    assert f"the row count (attribute MATLAB_sparse) is {found}; expected a non-negative integer" in \
        sparse_error(path)


@pytest.mark.parametrize("jc, found", [
    ([0, 3, 1, 4], "the column starts 'jc' decrease at column 2: jc[2] = 1 < jc[1] = 3; expected non-decreasing"),
    ([1, 1, 3, 4], "jc[0] = 1; expected 0"),
    ([], "'jc' has 0 entries; expected the number of columns + 1"),
    ([0, 1, 3, 6], "jc[-1] = 6 nonzeros, but 'ir' has 4 entries and 'data' 4"),
], ids=["decreasing", "not-from-zero", "empty", "longer-than-ir"])
def test_malformed_sparse_column_starts(tmp_path, jc, found):
    path = write_sparse(tmp_path / "s.mat", 4, SPARSE["data"], SPARSE["ir"], jc)
    assert found in sparse_error(path)


def test_a_two_dimensional_jc(tmp_path):
    path = write_sparse(tmp_path / "s.mat", 4, SPARSE["data"], SPARSE["ir"], [[0, 1], [3, 4]])
    assert "'jc' has shape (2, 2); expected a vector of the number of columns + 1" in sparse_error(path)


def test_a_malformed_sparse_label_matrix_through_the_loader(tmp_path):
    paths = write_nuswide(tmp_path)
    write_sparse(paths["labels"], 4, SPARSE["data"], [1, 0, 9, 2], SPARSE["jc"], key="LAll")
    message = load_error(tmp_path)
    assert f"{paths['labels']}: sparse variable 'LAll' is malformed: row index 9 at nonzero 2 (column 1)" in message
    assert "expected 'LAll': MATLAB (N, C)" in message


# ------------------------------------------------------------------------------ 2. declared, never written


def declare_images(path, n=N, height=8, width=6, chunks=None, written=None, **kwargs):
    """DCMH-layout image variable h5py (n, 3, W, H), declared; ``written``: the samples actually written."""
    with h5py.File(path, "w", userblock_size=512) as f:
        ds = f.create_dataset("IAll", shape=(n, 3, width, height), dtype=np.uint8, chunks=chunks, **kwargs)
        ds.attrs["MATLAB_class"] = np.bytes_("uint8")
        if written is not None:
            ds[written] = np.transpose(images(n, height, width)[written], (0, 3, 2, 1))
    return path


@pytest.mark.parametrize("chunks", [None, (2, 3, 6, 8)], ids=["contiguous", "chunked"])
def test_an_image_variable_declared_but_never_written(tmp_path, chunks):
    paths = write_nuswide(tmp_path)
    declare_images(paths["images"], chunks=chunks)
    expected = (f"{paths['images']}: variable 'IAll' is declared MATLAB (8, 6, 3, 12) uint8 but never written: no "
                "data is stored, every image would read as the fill value 0")
    with pytest.raises(MatFileError) as info:
        read_images(paths["images"], "IAll", num_samples=N)
    assert str(info.value) == expected
    assert expected in load_error(tmp_path)


def test_an_unwritten_image_variable_names_its_fill_value(tmp_path):
    path = declare_images(tmp_path / "iall.mat", fillvalue=7)
    with pytest.raises(MatFileError, match="every image would read as the fill value 7"):
        read_images(path, "IAll", num_samples=N)


def test_an_image_variable_with_unwritten_chunks(tmp_path):
    paths = write_nuswide(tmp_path)
    declare_images(paths["images"], chunks=(2, 3, 6, 8), written=slice(0, 4), compression="gzip")
    message = load_error(tmp_path)
    assert (f"{paths['images']}: variable 'IAll' MATLAB (8, 6, 3, 12) uint8 is only partly written: 4 of its 6 "
            "chunks were never written (no data is stored), so images 4..11 would read as the fill value 0") in message


def test_scattered_unwritten_chunks_name_the_samples(tmp_path):
    path = declare_images(tmp_path / "iall.mat", chunks=(2, 3, 6, 8), written=[0, 1, 4, 5, 6, 7, 10, 11])
    with pytest.raises(MatFileError, match=r"2 of its 6 chunks were never written .* so images 2\.\.3, 8\.\.9 would"):
        read_images(path, "IAll", num_samples=N)


def test_one_unwritten_sample_is_named(tmp_path):
    path = declare_images(tmp_path / "iall.mat", chunks=(1, 3, 6, 8), written=[i for i in range(N) if i != 7])
    with pytest.raises(MatFileError, match=r"1 of its 12 chunks were never written \(no data is stored\), so image 7 "
                                           r"would read as the fill value 0$"):
        read_images(path, "IAll", num_samples=N)


def test_a_fully_written_chunked_image_variable_reads(tmp_path):
    path = declare_images(tmp_path / "iall.mat", chunks=(5, 3, 6, 8), written=slice(0, N))  # last chunk partial
    source = read_images(path, "IAll", num_samples=N)
    np.testing.assert_array_equal(source.read(np.arange(N)), images())
    source.close()


def test_an_empty_image_variable_is_not_called_unwritten(tmp_path):
    path = declare_images(tmp_path / "iall.mat", n=0)
    assert len(read_images(path, "IAll")) == 0


@pytest.mark.parametrize("role, key, shape, cls", [("labels", "LAll", (12, 5), "double"),
                                                   ("texts", "YAll", (12, 7), "double")])
def test_an_array_variable_declared_but_never_written(tmp_path, role, key, shape, cls):
    paths = write_nuswide(tmp_path)
    with h5py.File(paths[role], "w", userblock_size=512) as f:
        f.create_dataset(key, shape=shape[::-1], dtype=np.float64).attrs["MATLAB_class"] = np.bytes_(cls)
    message = load_error(tmp_path)
    assert (f"{paths[role]}: variable {key!r} is declared MATLAB {shape} {cls} but never written: no data is "
            "stored, every value would read as the fill value 0.0") in message


def test_an_array_variable_with_some_unwritten_chunks_reads_them_as_zeros(tmp_path):
    """Unlike images, a partly written label or text matrix is read: MATLAB's matfile() writes only the
    chunks it is given and means zeros elsewhere, and the loader reports all-zero rows anyway (dropped
    unlabelled samples, all-zero texts)."""
    path = tmp_path / "yall.mat"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("YAll", shape=(7, 12), dtype=np.float64, chunks=(7, 4))  # MATLAB (12, 7)
        ds[:, :4] = 1.0
    expected = np.zeros((12, 7))
    expected[:4] = 1.0
    np.testing.assert_array_equal(read_array(path, "YAll"), expected)


# ------------------------------------------------------------------------------ 3. corrupt compressed chunks


def corrupt_gzip_images(path, n=N, chunk=2, bad_chunk=1):
    """gzip-compressed chunked DCMH images, ``chunk`` samples a chunk; chunk ``bad_chunk``'s bytes overwritten."""
    write = np.transpose(images(n), (0, 3, 2, 1))
    with h5py.File(path, "w", userblock_size=512) as f:
        ds = f.create_dataset("IAll", data=write, chunks=(chunk,) + write.shape[1:], compression="gzip")
        ds.attrs["MATLAB_class"] = np.bytes_("uint8")
        info = ds.id.get_chunk_info(bad_chunk)
    assert info.chunk_offset[0] == bad_chunk * chunk
    with open(path, "r+b") as f:
        f.seek(info.byte_offset)
        f.write(b"\xff" * info.size)
    return path


CORRUPT = "Can't synchronously read data (filter returned failure during read)"


def test_a_corrupt_gzip_chunk_names_the_samples_of_the_batch(tmp_path):
    path = corrupt_gzip_images(tmp_path / "iall.mat")
    source = read_images(path, "IAll", num_samples=N)
    assert source.reader == "h5py"
    np.testing.assert_array_equal(source.read(np.array([0, 1, 4])), images()[[0, 1, 4]])
    with pytest.raises(InputError) as info:
        source.read(np.array([3, 2]))
    assert str(info.value) == f"cannot read images 2..3 of 'IAll' in {path}: {CORRUPT}; the file may be corrupt"
    with pytest.raises(InputError, match=r"cannot read images 0\.\.3, 7 of 'IAll' in .*iall\.mat: "):
        source.read(np.array([7, 0, 1, 2, 3, 3]))
    with pytest.raises(InputError, match=r"^cannot read image 2 of 'IAll' in "):
        source.read(np.array([2, 2]))
    source.close()


def test_a_corrupt_gzip_chunk_in_the_tf_data_pipeline(tmp_path):
    """Inside tf.numpy_function, TensorFlow wraps the InputError: its message keeps 'InputError: <ours>' on a line."""
    import tensorflow as tf

    path = corrupt_gzip_images(tmp_path / "iall.mat")
    source = read_images(path, "IAll", num_samples=N)
    batches = tf.data.Dataset.range(0, N, 2).map(
        lambda start: tf.numpy_function(lambda s: source.read(np.arange(s, s + 2)), [start], tf.uint8))
    with pytest.raises(tf.errors.OpError) as info:
        for _ in batches:
            pass
    ours = f"cannot read images 2..3 of 'IAll' in {path}: {CORRUPT}; the file may be corrupt"
    assert f"InputError: {ours}\n" in str(info.value)
    source.close()


def test_an_os_error_of_the_pread_reader_names_the_samples(tmp_path, monkeypatch):
    path = tmp_path / "iall.mat"
    write_mat_v73(path, {"IAll": ArrayImages(images())})
    source = read_images(path, "IAll", num_samples=N)
    assert source.reader == "pread"

    def failing(*args):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "preadv", failing, raising=False)
    monkeypatch.setattr(os, "pread", failing)
    with pytest.raises(InputError) as info:
        source.read(np.array([5, 4, 9]))
    assert str(info.value) == (f"cannot read images 4..5, 9 of 'IAll' in {path}: [Errno 5] Input/output error; the "
                               "file may be corrupt")
    source.close()


# ------------------------------------------------------------------------------ 4. MATLAB v4


def test_a_matlab_v4_file_is_called_so(tmp_path):
    paths = write_nuswide(tmp_path)
    scipy.io.savemat(paths["labels"], {"LAll": labels().astype(np.float64)}, format="4")
    expected = (f"{paths['labels']}: a MATLAB v4 MAT-file, which is not supported; save it again in MATLAB as v7.3 "
                "(save(..., '-v7.3')) or v7 (save(..., '-v7'))")
    with pytest.raises(MatFileError) as info:
        mat_version(paths["labels"])
    assert str(info.value) == expected
    assert expected in load_error(tmp_path)


def test_bytes_starting_with_a_zero_are_not_called_v4(tmp_path):
    path = tmp_path / "x.mat"
    path.write_bytes(b"\x00\x00\x00\x00 but nothing like a MATLAB v4 header follows" * 3)
    with pytest.raises(MatFileError, match="not a MATLAB MAT-file"):
        mat_version(path)


# ------------------------------------------------------------------------------ 5. not regular files


def not_found(directory) -> str:
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("nuswide", directory)
    return str(info.value)


def test_a_directory_where_a_file_should_be(tmp_path):
    paths = write_nuswide(tmp_path)
    paths["labels"].unlink()
    paths["labels"].mkdir()
    message = not_found(tmp_path)
    assert f"{paths['labels'].resolve()} [a directory, not a file]" in message
    assert f"{paths['texts'].resolve()} [present]" in message


def test_a_fifo_where_a_file_should_be_is_not_opened(tmp_path):
    paths = write_nuswide(tmp_path)
    paths["texts"].unlink()
    os.mkfifo(paths["texts"])
    outcome = {}

    def load():
        try:
            load_dataset("nuswide", tmp_path)
        except Exception as e:  # noqa: BLE001 - inspected below
            outcome["error"] = e

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(60)
    if thread.is_alive():  # blocked opening the FIFO: a writer unblocks it
        with open(paths["texts"], "wb"):
            pass
        thread.join(60)
        pytest.fail("load_dataset blocked opening a FIFO")
    assert isinstance(outcome.get("error"), DatasetNotFoundError)
    assert f"{paths['texts'].resolve()} [not a regular file]" in str(outcome["error"])
    with pytest.raises(MatFileError, match=r"yall\.mat: not a regular file \(a FIFO \(named pipe\)\)"):
        mat_version(paths["texts"])


def test_a_symlink_loop_where_a_file_should_be(tmp_path):
    paths = write_nuswide(tmp_path)
    paths["labels"].unlink()
    os.symlink(tmp_path / "b.mat", paths["labels"])
    os.symlink(paths["labels"], tmp_path / "b.mat")
    message = not_found(tmp_path)
    assert f"{paths['labels']} [inaccessible: Too many levels of symbolic links]" in message
    with pytest.raises(MatFileError, match=r"lall\.mat: cannot open the file: .*Too many levels of symbolic links"):
        read_array(paths["labels"], "LAll")


def test_a_dangling_symlink_names_its_target(tmp_path):
    paths = write_nuswide(tmp_path)
    paths["texts"].unlink()
    os.symlink(tmp_path / "elsewhere" / "yall.mat", paths["texts"])
    assert f"[MISSING: a symbolic link to {tmp_path / 'elsewhere' / 'yall.mat'}, which does not exist]" in \
        not_found(tmp_path)


def test_an_unreadable_file_names_the_os_reason(tmp_path, monkeypatch):
    import builtins

    paths = write_nuswide(tmp_path)
    real_open = builtins.open

    def denying_open(file, *args, **kwargs):
        if os.fspath(file) == os.fspath(paths["labels"]):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", denying_open)
    message = load_error(tmp_path)
    assert f"{paths['labels']}: cannot open the file: Permission denied" in message
    assert "expected 'LAll'" in message


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="chmod 000 does not stop root (nor non-POSIX systems) from reading; "
                           "test_an_unreadable_file_names_the_os_reason covers the message with a refused open")
def test_an_unreadable_file_without_permission(tmp_path):
    paths = write_nuswide(tmp_path)
    paths["labels"].chmod(0)
    assert f"{paths['labels']}: cannot open the file: Permission denied" in load_error(tmp_path)


def test_a_dangling_external_link_names_its_target(tmp_path):
    paths = write_nuswide(tmp_path)
    with h5py.File(paths["images"], "w", userblock_size=512) as f:
        f["IAll"] = h5py.ExternalLink("missing.h5", "/x")
    message = load_error(tmp_path)
    assert (f"{paths['images']}: variable 'IAll' is an HDF5 external link to '/x' in the file 'missing.h5' "
            f"({tmp_path / 'missing.h5'}: no such file), which cannot be opened") in message
    assert list_variables(paths["images"]) == {}  # not a variable MATLAB could read either


def test_an_external_link_to_contiguous_images_reads_the_target_file(tmp_path):
    write_mat_v73(tmp_path / "pixels.mat", {"IAll": ArrayImages(images())})
    path = tmp_path / "iall.mat"
    with h5py.File(path, "w", userblock_size=512) as f:
        f["padding"] = np.zeros(5000, np.uint8)  # the link's file has other bytes where the target's pixels are
        f["IAll"] = h5py.ExternalLink("pixels.mat", "/IAll")
    source = read_images(path, "IAll", num_samples=N)
    np.testing.assert_array_equal(source.read(np.array([3, 0, 11])), images()[[3, 0, 11]])
    source.close()


# ------------------------------------------------------------------------------ 6. arrays written transposed


def write_the_h5py_way(path, key, array, cls="double"):
    """What a user of h5py writes without thinking of MATLAB's order: MATLAB sees the array reversed."""
    with h5py.File(path, "w", userblock_size=512) as f:
        f.create_dataset(key, data=array).attrs["MATLAB_class"] = np.bytes_(cls)


def test_labels_written_transposed_get_a_hint(tmp_path):
    paths = write_nuswide(tmp_path)
    write_the_h5py_way(paths["labels"], "LAll", labels().astype(np.float64))  # MATLAB (5, 12)
    message = load_error(tmp_path)
    assert "row counts disagree" in message
    assert f"{paths['labels']} 'LAll': it looks transposed: MATLAB sees (5, 12); {README_HINT}" in message
    assert "'YAll': it looks transposed" not in message


def test_texts_written_transposed_get_a_hint(tmp_path):
    paths = write_nuswide(tmp_path)
    write_the_h5py_way(paths["texts"], "YAll", texts().astype(np.float64))  # MATLAB (7, 12)
    message = load_error(tmp_path)
    assert f"{paths['texts']} 'YAll': it looks transposed: MATLAB sees (7, 12); {README_HINT}" in message
    assert "'LAll': it looks transposed" not in message


def test_labels_and_texts_both_written_transposed(tmp_path):
    paths = write_nuswide(tmp_path)
    write_the_h5py_way(paths["labels"], "LAll", labels().astype(np.float64))
    write_the_h5py_way(paths["texts"], "YAll", texts().astype(np.float64))
    message = load_error(tmp_path)
    assert f"{paths['labels']} 'LAll': it looks transposed: MATLAB sees (5, 12)" in message
    assert f"{paths['texts']} 'YAll': it looks transposed: MATLAB sees (7, 12)" in message


def test_images_written_in_numpy_order_get_a_hint(tmp_path):
    paths = write_nuswide(tmp_path)
    write_the_h5py_way(paths["images"], "IAll", images(), cls="uint8")  # h5py (N, H, W, 3): MATLAB (3, 6, 8, 12)
    message = load_error(tmp_path)
    assert "found MATLAB shape (3, 6, 8, 12)" in message
    assert f"{paths['images']} 'IAll': it looks transposed: MATLAB sees (3, 6, 8, 12); {README_HINT}" in message


def test_v5_labels_saved_transposed_get_a_hint_without_h5py(tmp_path):
    paths = write_nuswide(tmp_path)
    scipy.io.savemat(paths["labels"], {"LAll": labels().T.astype(np.float64)})
    message = load_error(tmp_path)
    assert (f"{paths['labels']} 'LAll': it looks transposed: MATLAB sees (5, 12); save its transpose (array.T in "
            "Python, x.' in MATLAB)") in message
    assert "h5py" not in message


def test_a_mismatch_that_is_not_a_transpose_gets_no_hint(tmp_path):
    write_nuswide(tmp_path, texts_=texts(N - 2))
    assert "transposed" not in load_error(tmp_path)
