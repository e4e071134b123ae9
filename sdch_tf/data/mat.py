"""MATLAB MAT-files, v5 and v7.3, told apart from the file itself.

The DCMH-style distributions of MIRFlickr-25K, IAPR TC-12 and NUS-WIDE (docs/reproduction.md §2)
mix both versions, sometimes within one dataset, so nothing here trusts a file name:

- v7.3 is HDF5 behind a 512-byte user block that carries the MATLAB header text. HDF5 is
  row-major and MATLAB column-major, so h5py returns every array with its dimensions
  reversed; ``read_array`` undoes that, and every array leaves this module in MATLAB's own
  dimension order.
- v5 (and v6/v7, the same container) starts with the text ``MATLAB 5.0 MAT-file`` and is
  read with ``scipy.io.loadmat``, which already returns MATLAB order.

Images are the exception to "read fully": NUS-WIDE is ~29 GB as uint8. ``read_images``
returns an ``ImageSource``: lazy for v7.3 (``HDF5Images``: the requested samples only, by
``os.preadv`` when the storage allows, else by h5py), in memory (``ArrayImages``) for v5,
where scipy loads the variable whole anyway. Other v7.3 arrays are read in blocks of h5py
rows, cast to the requested dtype block by block (``read_array(..., dtype=)``), so that
NUS-WIDE's 195,834 × 1000 double texts never exist whole as float64.
"""
from __future__ import annotations

import os
import re
import stat
import time
from typing import Mapping, Union

import h5py
import numpy as np
import scipy.io
import scipy.sparse

from sdch_tf.data.dataset import ImageSource
from sdch_tf.input_errors import InputError

PathLike = Union[str, "os.PathLike[str]"]

V5 = "v5"
V73 = "v7.3"

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_USERBLOCK_SIZE = 512  # MATLAB's v7.3 user block; the HDF5 superblock starts right after it
_V5_MAGIC = b"MATLAB 5.0 MAT-file"

# numpy dtype -> MATLAB class name stored in the MATLAB_class attribute (v7.3).
_MATLAB_CLASS = {
    np.dtype(np.float64): "double",
    np.dtype(np.float32): "single",
    np.dtype(np.uint8): "uint8",
    np.dtype(np.int8): "int8",
    np.dtype(np.uint16): "uint16",
    np.dtype(np.int16): "int16",
    np.dtype(np.uint32): "uint32",
    np.dtype(np.int32): "int32",
    np.dtype(np.uint64): "uint64",
    np.dtype(np.int64): "int64",
}

# DCMH files hold images so that MATLAB sees (H, W, 3, N); MATLAB-written N×H×W×3 arrays
# also occur. Both as (sample axis, channel axis) in MATLAB order.
_DCMH_LAYOUT = "MATLAB (H, W, 3, N), i.e. h5py (N, 3, W, H) [DCMH]"
_NHWC_LAYOUT = "MATLAB (N, H, W, 3), i.e. h5py (3, W, H, N)"


class MatFileError(InputError):
    """A file that is not a readable MAT-file, or lacks / mis-shapes a variable. Names the file."""


# --------------------------------------------------------------------------------------------
# Version detection and listing


def mat_version(path: PathLike) -> str:
    """``"v7.3"`` or ``"v5"``, decided from the file's bytes; ``MatFileError`` otherwise.

    v7.3: the HDF5 signature at offset 512 (MATLAB's user block), or any other HDF5 file
    (h5py.is_hdf5; e.g. written by h5py without a user block). v5: the text header
    ``MATLAB 5.0 MAT-file`` (also used by v6 and v7 files, which scipy reads too). A MATLAB v4
    file (no text header, a 20-byte binary one) is recognised and refused, saying how to convert
    it. Only regular files are opened: a directory, FIFO or device is refused without opening
    it (opening a FIFO would block), and an unreadable path gives the OS's reason.
    """
    path = os.fspath(path)
    _check_regular_file(path)
    try:
        with open(path, "rb") as f:
            head = f.read(_USERBLOCK_SIZE + len(_HDF5_SIGNATURE))
    except OSError as e:
        raise MatFileError(f"{path}: cannot open the file: {e.strerror or e}") from e
    if head[_USERBLOCK_SIZE:] == _HDF5_SIGNATURE:
        return V73
    if head.startswith(_V5_MAGIC):
        return V5
    if h5py.is_hdf5(path):
        return V73
    if _is_v4_header(head):
        raise MatFileError(
            f"{path}: a MATLAB v4 MAT-file, which is not supported; save it again in MATLAB as v7.3 "
            f"(save(..., '-v7.3')) or v7 (save(..., '-v7'))"
        )
    raise MatFileError(
        f"{path}: not a MATLAB MAT-file: neither v7.3 (HDF5 signature at byte 512) nor v5 "
        f"(text header {_V5_MAGIC.decode()!r}); the file starts with {head[:40]!r}"
    )


_FILE_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def path_kind(path) -> tuple[str, str]:
    """What is at ``path``, found without opening it (a FIFO would block), as (kind, detail):
    ("file", ""), ("directory", ""), ("other", what it is, e.g. "a FIFO (named pipe)"),
    ("missing", the target of a dangling symbolic link or ""), ("inaccessible", the OS's reason,
    e.g. for a symbolic-link loop). Symbolic links are followed."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "missing", os.readlink(path) if os.path.islink(path) else ""
    except OSError as e:
        return "inaccessible", e.strerror or str(e)
    if stat.S_ISREG(mode):
        return "file", ""
    if stat.S_ISDIR(mode):
        return "directory", ""
    return "other", next((name for test, name in _FILE_KINDS if test(mode)), "not a file")


def _check_regular_file(path: str) -> None:
    """FileNotFoundError if nothing is at ``path``; MatFileError if it is not a regular file
    (after symbolic links) or cannot be examined (e.g. a symbolic-link loop), with the OS's reason."""
    kind, detail = path_kind(path)
    if kind == "missing":
        raise FileNotFoundError(f"{path}: no such file")
    if kind == "inaccessible":
        raise MatFileError(f"{path}: cannot open the file: {detail}")
    if kind == "directory":
        raise MatFileError(f"{path}: a directory, not a file; expected a MAT-file")
    if kind == "other":
        raise MatFileError(f"{path}: not a regular file ({detail}); expected a MAT-file")


_V4_NAME = re.compile(rb"[A-Za-z][A-Za-z0-9_]*\x00")


def _is_v4_header(head: bytes) -> bool:
    """True if ``head`` starts like a MATLAB v4 MAT-file: five int32 (MOPT type, rows, columns,
    imaginary flag, name length; either byte order) followed by the first variable's name.

    MOPT is M·1000 + O·100 + P·10 + T with M (machine) 0..4, O = 0, P (precision) 0..5 and T
    (full, text, sparse) 0..2. scipy's own test (a zero among the first 4 bytes) also matches
    any other file starting with a zero byte, so the whole header is checked here.
    """
    if len(head) < 22:
        return False
    for order in "<>":
        mopt, rows, cols, imagf, namlen = (int(v) for v in np.frombuffer(head[:20], dtype=f"{order}i4"))
        machine, rest = divmod(mopt, 1000)
        if not (0 <= mopt and machine <= 4 and rest // 100 == 0 and rest % 100 // 10 <= 5 and rest % 10 <= 2):
            continue
        if rows < 0 or cols < 0 or imagf not in (0, 1) or not 2 <= namlen <= 64:
            continue
        if _V4_NAME.fullmatch(head[20:20 + namlen]):
            return True
    return False


def list_variables(path: PathLike) -> dict[str, tuple[tuple[int, ...], str]]:
    """Variables of a MAT-file without loading them: name -> (MATLAB-order shape, MATLAB class)."""
    path = os.fspath(path)
    if mat_version(path) == V5:
        try:
            return {name: (tuple(int(s) for s in shape), cls) for name, shape, cls in scipy.io.whosmat(path)}
        except Exception as e:  # scipy raises several types for corrupt files
            raise MatFileError(_v5_unreadable(path, e)) from e
    out = {}
    with _open_h5(path) as f:
        for name in f:
            if name.startswith("#"):  # '#refs#', '#subsystem#': MATLAB's internals, not variables
                continue
            obj = f.get(name)  # None: a dangling soft or external link, which no reader can open
            if obj is not None:
                out[name] = (_h5_matlab_shape(obj), _h5_class(obj))
    return out


def _describe_text(path: str) -> str:
    """'IAll (224, 224, 3, 20015) uint8, LAll ...' for error messages."""
    try:
        variables = list_variables(path)
    except (MatFileError, OSError) as e:
        return f"(could not list the variables: {e})"
    if not variables:
        return "none"
    return ", ".join(f"{name} {shape} {cls}" for name, (shape, cls) in variables.items())


def _open_h5(path: str, **kwargs) -> h5py.File:
    try:
        return h5py.File(path, "r", **kwargs)
    except OSError as e:
        raise MatFileError(f"{path}: cannot open the MATLAB v7.3 (HDF5) file: {e}") from e


def _h5_class(obj) -> str:
    cls = obj.attrs.get("MATLAB_class", b"")
    return cls.decode() if isinstance(cls, bytes) else str(cls)


def _h5_matlab_shape(obj) -> tuple[int, ...]:
    if isinstance(obj, h5py.Dataset):
        return tuple(int(s) for s in reversed(obj.shape))
    if "MATLAB_sparse" in obj.attrs:  # sparse: rows in the attribute, columns from jc (-1: unreadable)
        try:
            rows = _sparse_rows(obj, "")
        except MatFileError:
            rows = -1
        return (rows, int(obj["jc"].size) - 1 if isinstance(obj.get("jc"), h5py.Dataset) else -1)
    return ()


# --------------------------------------------------------------------------------------------
# Reading


def read_array(path: PathLike, key: str, dtype=None) -> np.ndarray:
    """The whole numeric variable ``key`` in MATLAB dimension order (sparse becomes dense).

    Use for the small arrays (labels, bag-of-words texts); images go through ``read_images``.
    ``dtype=None`` keeps the stored dtype (MATLAB double -> float64, logical -> uint8 as
    scipy does); otherwise values are cast to ``dtype`` as ``ndarray.astype`` does.

    A v7.3 variable declared but never written (no storage: every value would be the fill value)
    is refused (``check_written``); sparse ones are checked entry by entry (``_read_h5_sparse``).

    Memory: v7.3 dense variables are read ``_READ_BLOCK_BYTES`` of h5py rows at a time into
    the (C-contiguous) result, so the peak is the result plus one block, whatever the stored
    dtype; v7.3 sparse ones are built from their nonzeros directly in ``dtype``. v5 files are
    loaded whole by scipy in the stored dtype and then cast: the peak is both copies.
    """
    path = os.fspath(path)
    if mat_version(path) == V5:
        array = _read_v5(path, key)
        return array if dtype is None else array.astype(dtype, copy=False)
    with _open_h5(path) as f:
        obj = _h5_get(f, path, key)
        return _read_h5(obj, path, key, dtype)


def _v5_unreadable(path: str, error: Exception) -> str:
    return (f"{path}: cannot read the MATLAB v5 file ({os.path.getsize(path):,} bytes; it may be truncated or "
            f"corrupt): {error}")


def _read_v5(path: str, key: str) -> np.ndarray:
    try:
        contents = scipy.io.loadmat(path, variable_names=[key])
    except Exception as e:  # scipy raises several types for corrupt files
        raise MatFileError(_v5_unreadable(path, e)) from e
    if key not in contents:
        raise MatFileError(f"{path}: no variable {key!r}; variables present: {_describe_text(path)}")
    value = contents[key]
    if scipy.sparse.issparse(value):
        value = value.toarray()
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        raise MatFileError(
            f"{path}: variable {key!r} is not a numeric array (found {type(value).__name__} "
            f"of dtype {getattr(value, 'dtype', None)})"
        )
    return value


def _h5_get(f: h5py.File, path: str, key: str):
    if key.startswith("#") or key not in f:
        raise MatFileError(f"{path}: no variable {key!r}; variables present: {_describe_text(path)}")
    try:
        return f[key]
    except (KeyError, OSError) as e:  # a dangling soft or external link, or a damaged object header
        raise MatFileError(_unopenable(f, path, key, e)) from e


def _unopenable(f: h5py.File, path: str, key: str, error: Exception) -> str:
    """Why ``f[key]`` failed, naming the link's target when ``key`` is a link."""
    reason = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    link = f.get(key, getlink=True)
    if isinstance(link, h5py.ExternalLink):
        target = link.filename if os.path.isabs(link.filename) else \
            os.path.join(os.path.dirname(os.path.abspath(path)), link.filename)
        where = f"{target}: no such file" if not os.path.exists(target) else target
        return (f"{path}: variable {key!r} is an HDF5 external link to {link.path!r} in the file {link.filename!r} "
                f"({where}), which cannot be opened: {reason}; expected the variable's data in {path} itself, or "
                f"the linked file next to it")
    if isinstance(link, h5py.SoftLink):
        return (f"{path}: variable {key!r} is an HDF5 soft link to {link.path!r}, which does not exist in the "
                f"file: {reason}")
    return f"{path}: cannot open variable {key!r}: {reason}; the file may be corrupt"


def check_written(dataset: h5py.Dataset, path: str, key: str, what: str = "value",
                  sample_axis: int | None = None) -> None:
    """MatFileError if HDF5 would return the fill value for data never written to ``dataset``.

    A dataset can be declared (shape, dtype) without any data: then every read returns the fill
    value, silently (black images, zero texts). Refused when no storage at all is allocated and,
    with ``sample_axis`` (the h5py axis of the samples), when a chunked dataset lacks some of its
    chunks (an interrupted write), naming the samples they hold. ``what``: "image", "value".
    Empty, virtual and external-file datasets are not checked (they store nothing here).
    """
    if dataset.size == 0 or dataset.is_virtual or dataset.external:
        return
    declared = f"MATLAB {_h5_matlab_shape(dataset)} {_h5_class(dataset) or dataset.dtype}"
    fill = dataset.fillvalue
    fill = fill.item() if isinstance(fill, np.generic) else fill
    if dataset.id.get_storage_size() == 0:
        raise MatFileError(
            f"{path}: variable {key!r} is declared {declared} but never written: no data is stored, every "
            f"{what} would read as the fill value {fill}"
        )
    if dataset.chunks is None or sample_axis is None:
        return
    grid = tuple(-(-int(s) // int(c)) for s, c in zip(dataset.shape, dataset.chunks))
    needed = int(np.prod(grid, dtype=np.int64))
    stored = dataset.id.get_num_chunks()
    if stored >= needed:
        return
    samples = _unwritten_samples(dataset, grid, sample_axis)
    raise MatFileError(
        f"{path}: variable {key!r} {declared} is only partly written: {needed - stored} of its {needed} chunks "
        f"were never written (no data is stored), so {what}{samples} would read as the fill value {fill}"
    )


def _unwritten_samples(dataset: h5py.Dataset, grid: tuple[int, ...], sample_axis: int) -> str:
    """'s 4..11, 20' or ' 7' (after 'image'): the samples (along h5py ``sample_axis``) in chunks never
    written; 's' if unknown."""
    offsets = []
    if hasattr(dataset.id, "chunk_iter"):  # HDF5 >= 1.12.3 / 1.14: one pass over the chunk index
        dataset.id.chunk_iter(lambda info: offsets.append(info.chunk_offset))
    elif dataset.id.get_num_chunks() <= 2000:  # each call walks the index: quadratic
        offsets = [dataset.id.get_chunk_info(i).chunk_offset for i in range(dataset.id.get_num_chunks())]
    else:
        return "s"
    stored = np.zeros(grid, bool)
    for offset in offsets:
        stored[tuple(int(o) // int(c) for o, c in zip(offset, dataset.chunks))] = True
    others = tuple(a for a in range(len(grid)) if a != sample_axis)
    incomplete = np.flatnonzero(~stored.all(axis=others))
    if not incomplete.size:
        return "s"
    step, n = int(dataset.chunks[sample_axis]), int(dataset.shape[sample_axis])
    samples = np.concatenate([np.arange(g * step, min((g + 1) * step, n)) for g in incomplete])
    return ("s " if samples.size > 1 else " ") + describe_indices(samples)


def describe_indices(indices, limit: int = 5) -> str:
    """'2..3, 7, 10..12' for the sorted distinct ``indices``: runs of consecutive ones as a..b; after
    ``limit`` runs, '..., (k in all)'."""
    unique = np.unique(np.asarray(indices, dtype=np.int64))
    if not unique.size:
        return "none"
    breaks = np.flatnonzero(np.diff(unique) != 1) + 1
    runs = [(int(r[0]), int(r[-1])) for r in np.split(unique, breaks)]
    text = ", ".join(f"{a}..{b}" if b > a else f"{a}" for a, b in runs[:limit])
    return text + (f", ... ({unique.size} in all)" if len(runs) > limit else "")


# v7.3 dense reads go through blocks of this many bytes (in the stored dtype).
_READ_BLOCK_BYTES = 32 * 2**20


def _read_h5(obj, path: str, key: str, dtype=None) -> np.ndarray:
    if isinstance(obj, h5py.Group):
        if "MATLAB_sparse" in obj.attrs:
            return _read_h5_sparse(obj, path, key, dtype)
        raise MatFileError(
            f"{path}: variable {key!r} is a MATLAB {_h5_class(obj) or 'group'}, expected a numeric array"
        )
    if obj.dtype.kind not in "biuf":
        raise MatFileError(
            f"{path}: variable {key!r} is not a numeric array (HDF5 dtype {obj.dtype}, "
            f"MATLAB class {_h5_class(obj)!r})"
        )
    check_written(obj, path, key)
    if obj.ndim == 0:
        return np.asarray(obj[()], dtype=dtype)
    # h5py dims are MATLAB's reversed: fill the MATLAB-order result through its transpose.
    out = np.empty(obj.shape[::-1], dtype=obj.dtype if dtype is None else dtype)
    target = out.T
    row_bytes = max(1, int(np.prod(obj.shape[1:], dtype=np.int64)) * obj.dtype.itemsize)
    rows = max(1, _READ_BLOCK_BYTES // row_bytes)
    for start in range(0, obj.shape[0], rows):
        target[start:start + rows] = obj[start:start + rows]  # numpy's cast: same as astype
    return out


def _read_h5_sparse(group: h5py.Group, path: str, key: str, dtype=None) -> np.ndarray:
    """MATLAB v7.3 sparse matrix: CSC with ``data``, ``ir`` (row indices), ``jc`` (column starts).

    Everything is checked before scipy builds the matrix (it does not check indices, and a row
    index out of range then corrupts memory): the row count attribute, ``jc`` (columns + 1
    entries from 0, non-decreasing, its last entry — the number of nonzeros — within ``ir`` and
    ``data``), every row index within the rows. MATLAB may store more entries than nonzeros
    (nzmax >= nnz): only the first ``jc[-1]`` of ``ir`` and ``data`` are read.
    """
    bad = f"{path}: sparse variable {key!r} is malformed: "
    rows = _sparse_rows(group, bad)
    jc = _sparse_vector(group, "jc", bad)
    if jc is None or jc.ndim != 1:
        found = "no 'jc'" if jc is None else f"'jc' has shape {jc.shape}"
        raise MatFileError(f"{bad}{found}; expected a vector of the number of columns + 1 column starts")
    if jc.size == 0:
        raise MatFileError(f"{bad}'jc' has 0 entries; expected the number of columns + 1 column starts (offsets "
                           f"into 'ir' and 'data'), at least 1")
    if jc.dtype.kind == "u" and int(jc.max()) > np.iinfo(np.int64).max:
        i = int(np.argmax(jc))
        raise MatFileError(f"{bad}jc[{i}] = {int(jc[i])} is not a possible number of nonzeros")
    jc = jc.astype(np.int64)
    if jc[0] != 0:
        raise MatFileError(f"{bad}jc[0] = {int(jc[0])}; expected 0 (the first column starts at the first nonzero)")
    down = np.flatnonzero(np.diff(jc) < 0)
    if down.size:
        c = int(down[0]) + 1
        raise MatFileError(f"{bad}the column starts 'jc' decrease at column {c}: jc[{c}] = {int(jc[c])} < "
                           f"jc[{c - 1}] = {int(jc[c - 1])}; expected non-decreasing offsets into 'ir' and 'data'")
    cols, nnz = jc.size - 1, int(jc[-1])
    ir = _sparse_vector(group, "ir", bad, flat=True)
    data = _sparse_vector(group, "data", bad, flat=True)
    ir = np.zeros(0, np.int64) if ir is None else ir
    data = np.zeros(0) if data is None else data
    if nnz > ir.size or nnz > data.size:
        raise MatFileError(f"{bad}jc[-1] = {nnz} nonzeros, but 'ir' has {ir.size} entries and 'data' {data.size}; "
                           f"expected at least jc[-1] of each")
    ir, data = ir[:nnz], data[:nnz]
    if data.dtype.kind not in "biuf":
        raise MatFileError(f"{bad}'data' has dtype {data.dtype}; expected real numbers")
    ir = ir.astype(np.uint64) if ir.dtype.kind == "u" else ir.astype(np.int64)
    outside = np.flatnonzero(ir >= np.uint64(rows)) if ir.dtype.kind == "u" else \
        np.flatnonzero((ir < 0) | (ir >= rows))
    if outside.size:
        i = int(outside[0])
        column = int(np.searchsorted(jc, i, side="right")) - 1
        more = f", and {outside.size - 1} more" if outside.size > 1 else ""
        raise MatFileError(
            f"{bad}row index {int(ir[i])} at nonzero {i} (column {column}) is outside 0..{rows - 1} (MATLAB_sparse "
            f"says {rows} rows){more}; expected 0-based row indices in 'ir' below the row count"
        )
    if _h5_class(group) == "logical":
        data = data.astype(np.uint8)
    try:
        matrix = scipy.sparse.csc_matrix((data, ir.astype(np.int64), jc), shape=(rows, cols))
        matrix.check_format(full_check=True)
    except ValueError as e:
        raise MatFileError(f"{bad}{e}") from e
    if dtype is not None:  # cast the nonzeros (summed in the stored dtype first), never a dense copy
        matrix.sum_duplicates()
        matrix = matrix.astype(dtype)
    return matrix.toarray()


def _sparse_rows(group: h5py.Group, bad: str) -> int:
    """The row count of a v7.3 sparse variable: its MATLAB_sparse attribute, a non-negative integer."""
    raw = np.asarray(group.attrs["MATLAB_sparse"])
    value = raw.reshape(-1)[0].item() if raw.size == 1 else None
    if raw.dtype.kind in "iu" or (raw.dtype.kind == "f" and value is not None and float(value).is_integer()):
        if value is not None and value >= 0:
            return int(value)
    found = raw if value is None else value
    raise MatFileError(f"{bad}the row count (attribute MATLAB_sparse) is {found}; expected a non-negative integer")


def _sparse_vector(group: h5py.Group, name: str, bad: str, flat: bool = False) -> np.ndarray | None:
    """``group[name]`` (None if absent) as an array of integers ('jc', 'ir') or numbers ('data');
    ``flat``: a vector, or an array with one non-singleton dimension, flattened."""
    if name not in group:
        return None
    obj = group[name]
    if not isinstance(obj, h5py.Dataset):
        raise MatFileError(f"{bad}{name!r} is an HDF5 {type(obj).__name__}; expected a dataset")
    if flat and sum(s != 1 for s in obj.shape) > 1:
        raise MatFileError(f"{bad}{name!r} has shape {obj.shape}; expected a vector")
    if name != "data" and obj.dtype.kind not in "iu":
        raise MatFileError(f"{bad}{name!r} has dtype {obj.dtype}; expected integers")
    value = np.asarray(obj[()])
    return value.reshape(-1) if flat else value


# --------------------------------------------------------------------------------------------
# Writing

ArrayOrImages = Union[np.ndarray, ImageSource]


def _matlab_array(value, path: str, key: str) -> np.ndarray:
    """MATLAB has no 1-D or 0-D arrays: they become a (1, n) row / (1, 1), as scipy's savemat does."""
    array = np.asarray(value)
    if array.dtype != np.bool_ and array.dtype not in _MATLAB_CLASS:
        raise TypeError(f"{path}: cannot write {key!r}: dtype {array.dtype} has no MATLAB numeric class")
    return np.atleast_2d(array)


def _as_image_source(value) -> ImageSource | None:
    return value if isinstance(value, ImageSource) and not isinstance(value, np.ndarray) else None


def write_mat_v5(path: PathLike, arrays: Mapping[str, ArrayOrImages]) -> None:
    """Writes a MATLAB v5 MAT-file with ``scipy.io.savemat``.

    ndarray values are MATLAB-order arrays written as they are. ``ImageSource`` values are
    written in the DCMH image layout, MATLAB (H, W, 3, N); v5 holds a variable in memory
    whole, so the source is read at once (v5 variables are limited to 2 GB anyway).
    """
    path = os.fspath(path)
    contents = {}
    for key, value in arrays.items():
        source = _as_image_source(value)
        if source is not None:
            images = source.read(np.arange(len(source)))
            contents[key] = np.transpose(images, (1, 2, 3, 0))  # (N, H, W, 3) -> MATLAB (H, W, 3, N)
        else:
            contents[key] = _matlab_array(value, path, key)
    scipy.io.savemat(path, contents, format="5", oned_as="row", do_compression=False)


def matlab_v73_header(created: float | None = None) -> bytes:
    """The 128-byte header MATLAB puts at the start of a v7.3 file's 512-byte user block.

    116 bytes of text padded with spaces, 8 bytes of (unused) subsystem offset, version 0x0200
    and the endian indicator 'IM', as MATLAB and hdf5storage write it.
    """
    stamp = time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(created))
    text = f"MATLAB 7.3 MAT-file, Platform: Python-sdch_tf, Created on: {stamp} HDF5 schema 1.00 ."
    return text.encode("ascii").ljust(116, b" ")[:116] + b"\x00" * 8 + b"\x00\x02" + b"IM"


def write_mat_v73(path: PathLike, arrays: Mapping[str, ArrayOrImages], *, chunk_samples: int = 256) -> None:
    """Writes a MATLAB v7.3 MAT-file: HDF5 behind a 512-byte user block with MATLAB's header.

    ndarray values are MATLAB-order arrays; they are stored with their dimensions reversed
    (HDF5 is row-major), so that MATLAB — and ``read_array`` — see the array as given, with
    the ``MATLAB_class`` attribute ('double', 'single', 'uint8', ...; bool is 'logical').
    ``ImageSource`` values are written in the DCMH layout, h5py (N, 3, W, H), i.e. MATLAB
    (H, W, 3, N), ``chunk_samples`` images at a time so that memory stays bounded.
    """
    path = os.fspath(path)
    with h5py.File(path, "w", userblock_size=_USERBLOCK_SIZE, libver="earliest") as f:
        for key, value in arrays.items():
            source = _as_image_source(value)
            if source is not None:
                _write_h5_images(f, key, source, chunk_samples)
                continue
            write_h5_array(f, key, value)
    stamp_v73_header(path)


def stamp_v73_header(path: PathLike) -> None:
    """Write MATLAB's header into the user block of an HDF5 file made with ``userblock_size=512``:
    h5py leaves the block zero-filled, and MATLAB recognises a v7.3 file by this header."""
    with open(os.fspath(path), "r+b") as f:
        f.write(matlab_v73_header())


def write_h5_array(f: h5py.File, key: str, value) -> None:
    """Store the MATLAB-order array ``value`` as variable ``key`` of an open v7.3 file, with its
    dimensions reversed (HDF5 is row-major) and its ``MATLAB_class``; replaces an existing one."""
    array = _matlab_array(value, f.filename, key)
    if key in f:
        del f[key]
    if array.dtype == np.bool_:
        ds = f.create_dataset(key, data=array.astype(np.uint8).T)
        ds.attrs.create("MATLAB_class", np.bytes_("logical"))
        ds.attrs.create("MATLAB_int_decode", np.int32(1))
    else:
        ds = f.create_dataset(key, data=array.T)
        ds.attrs.create("MATLAB_class", np.bytes_(_MATLAB_CLASS[array.dtype]))


def _write_h5_images(f: h5py.File, key: str, source: ImageSource, chunk_samples: int) -> None:
    n, h, w, c = source.shape
    if c != 3:
        raise ValueError(f"{f.filename}: cannot write {key!r}: images must be (N, H, W, 3), got {source.shape}")
    ds = f.create_dataset(key, shape=(n, 3, w, h), dtype=np.uint8)
    ds.attrs.create("MATLAB_class", np.bytes_("uint8"))
    for start in range(0, n, chunk_samples):
        stop = min(start + chunk_samples, n)
        block = np.asarray(source.read(np.arange(start, stop)), dtype=np.uint8)
        ds[start:stop] = np.transpose(block, (0, 3, 2, 1))  # (k, H, W, 3) -> h5py (k, 3, W, H)
