"""Images in MAT-files, read by index: ``read_images`` and the lazy ``HDF5Images``.

Split from ``sdch_tf.data.mat`` (which re-exports these names): the rest of that module reads
whole arrays; this one never does for v7.3 files, where NUS-WIDE's images are ~29 GB as uint8
(docs/reproduction.md §2). Layouts, versions and errors are those of ``sdch_tf.data.mat``.
"""
from __future__ import annotations

import os
import weakref

import h5py
import numpy as np

from sdch_tf.data.dataset import ArrayImages, ImageSource
from sdch_tf.data.mat import (
    _DCMH_LAYOUT,
    _NHWC_LAYOUT,
    V73,
    MatFileError,
    PathLike,
    _h5_class,
    _h5_get,
    _h5_matlab_shape,
    _open_h5,
    _read_v5,
    check_written,
    describe_indices,
    mat_version,
)
from sdch_tf.input_errors import InputError


def image_layout(matlab_shape: tuple[int, ...], num_samples: int | None) -> tuple[int, int, int, int]:
    """Permutation taking a MATLAB-order image array to (N, H, W, 3).

    Returns ``axes`` such that ``np.transpose(matlab_array, axes)`` is (N, H, W, 3). The
    sample axis is recognised by its size ``num_samples`` (the number of label rows) and the
    channel axis by size 3. When both layouts fit (only possible if N == 3), DCMH's wins.
    Raises ``ValueError`` (without a file name; callers add it).
    """
    shape = tuple(matlab_shape)
    expected = f"{_DCMH_LAYOUT} or {_NHWC_LAYOUT}"
    if len(shape) != 4:
        raise ValueError(f"expected a 4-D image array, {expected}; found MATLAB shape {shape}")
    n_ok = (lambda size: True) if num_samples is None else (lambda size: size == num_samples)
    if shape[2] == 3 and n_ok(shape[3]):  # MATLAB (H, W, 3, N)
        return (3, 0, 1, 2)
    if shape[3] == 3 and n_ok(shape[0]):  # MATLAB (N, H, W, 3)
        return (0, 1, 2, 3)
    n_text = "N" if num_samples is None else f"N = {num_samples}"
    raise ValueError(f"expected images as {expected} with {n_text}; found MATLAB shape {shape}")


class HDF5Images:
    """Lazy ``ImageSource`` over a v7.3 image variable: reads only the requested samples.

    Keeps the file open; ``dataset`` is the h5py dataset (never an ndarray). Two readers,
    chosen once from the dataset's storage (``reader`` says which), with identical results:

    - ``"pread"``: the DCMH layout, h5py (N, 3, W, H), stored contiguous and unfiltered
      (h5py's default; what the DCMH files and ``write_mat_v73`` hold). Sample i is then one
      run of 3·W·H bytes at ``offset + i·3·W·H``: the requested samples are read with
      ``os.preadv`` straight into their rows of a numpy buffer, in the requested order, one
      call per run of consecutive indices; a repeated sample is read once and copied. pread
      takes no lock and releases the GIL, so parallel tf.data calls read in parallel, and it
      does not map the file (the page cache holds the pages, not this process's RSS).
    - ``"h5py"``: any other storage — chunked and/or compressed (MATLAB's own v7.3 files may
      be chunked + gzip), or the MATLAB (N, H, W, 3) layout, where a sample is not one run of
      bytes. One h5py call per request, on sorted deduplicated indices (a contiguous run is
      one hyperslab). Serialised: h5py holds its global lock for every call, so the reads and
      gzip inflations of concurrent tf.data calls run one at a time; only the reordering
      into (k, H, W, 3) runs in parallel. Chunked datasets get a chunk cache of a few chunks
      (``_chunk_cache``, 16–256 MiB): HDF5's default 1 MiB holds less than one chunk of a
      few 224×224 images, so a chunk shared by consecutive requests was inflated for each.

    Either way the block is then turned upright, (k, H, W, 3), by ``_upright``. ``read`` may
    be called from several threads at once. ``pread=False`` forces the h5py reader.

    Bad files are refused when opened where possible: a variable declared but never written,
    or chunked with chunks never written (HDF5 would return the fill value: black images). A
    read that fails later (a corrupt compressed chunk, an I/O error) raises ``InputError`` naming
    the file, the key and the samples of the request, "cannot read images 2..3 of 'IAll' in
    <file>: <reason>; the file may be corrupt"; inside ``tf.numpy_function`` TensorFlow wraps it
    in an ``OpError`` whose message holds the line "InputError: <that message>".
    A variable that is an HDF5 external link is read from the linked file (by pread too).
    """

    def __init__(self, path: PathLike, key: str, num_samples: int | None = None, *, pread: bool = True):
        self.path = os.fspath(path)
        self.key = key
        self._fd = None
        self._file = _open_h5(self.path)
        try:
            dataset = _h5_get(self._file, self.path, key)
            if not isinstance(dataset, h5py.Dataset) or dataset.dtype != np.uint8:
                raise MatFileError(
                    f"{self.path}: variable {key!r} must be a uint8 image array, found "
                    f"{getattr(dataset, 'dtype', 'a MATLAB ' + _h5_class(dataset))}"
                )
            try:
                axes = image_layout(_h5_matlab_shape(dataset), num_samples)
            except ValueError as e:
                raise MatFileError(f"{self.path}: variable {key!r}: {e}") from None
            # h5py axes are MATLAB's reversed: MATLAB axis a is h5py axis 3 - a.
            self._sample_axis_h5 = 3 - axes[0]
            check_written(dataset, self.path, key, "image", self._sample_axis_h5)
            # The file holding the pixels: another one when the variable is an HDF5 external link.
            self._data_path = dataset.file.filename
            self._offset = _contiguous_offset(dataset, self._data_path, key) if pread else None
            if self._offset is not None and self._sample_axis_h5 == 0 and hasattr(os, "pread"):
                self._fd = os.open(self._data_path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
                self._closer = weakref.finalize(self, os.close, self._fd)
            elif dataset.chunks is not None:
                # HDF5 shares one open dataset object (and its chunk cache): reopen the file with the cache.
                cache = _chunk_cache(dataset)
                dataset = None
                self._file.close()
                self._file = _open_h5(self.path, **cache)
                dataset = self._file[key]
        except BaseException:
            self._file.close()
            raise
        self.dataset = dataset
        self.reader = "pread" if self._fd is not None else "h5py"
        # After reading, the h5py-order block is reversed back to MATLAB order, then permuted.
        self._axes = axes
        h5_shape = dataset.shape
        self._sample_shape_h5 = tuple(h5_shape[1:])  # pread: one sample, (3, W, H)
        self._sample_bytes = int(np.prod(h5_shape[1:], dtype=np.int64))
        matlab_shape = tuple(int(s) for s in reversed(h5_shape))
        self.shape = tuple(matlab_shape[a] for a in axes)

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, indices: np.ndarray) -> np.ndarray:
        """uint8 (len(indices), H, W, 3) in the order of ``indices`` (repeats allowed)."""
        indices = np.asarray(indices)
        if indices.ndim != 1 or (indices.size and indices.dtype.kind not in "iu"):
            raise ValueError(f"{self.path}:{self.key}: indices must be a 1-D integer array, got {indices.dtype} "
                             f"{indices.shape}")
        n = self.shape[0]
        if indices.size == 0:
            return np.zeros((0,) + self.shape[1:], np.uint8)
        if indices.min() < 0 or indices.max() >= n:
            raise IndexError(
                f"{self.path}:{self.key}: indices must lie in [0, {n}), got [{indices.min()}, {indices.max()}]"
            )
        if self._fd is not None:
            block = self._checked_io(self._pread, indices)
        else:
            unique, inverse = np.unique(indices, return_inverse=True)
            block = np.take(self._checked_io(self._h5py_read, unique), inverse.reshape(-1), axis=self._sample_axis_h5)
        return _upright(block, self._axes)

    def _checked_io(self, read, indices: np.ndarray) -> np.ndarray:
        """``read(indices)``, its I/O and decompression errors as one-line ``InputError``s naming the samples.

        ``InputError`` itself, not a subclass: TensorFlow names the class in the message it wraps this
        into ("InputError: ..."). Our own errors (a file truncated after opening) pass unchanged.
        """
        try:
            return read(indices)
        except InputError:
            raise
        except (OSError, ValueError) as e:  # h5py: OSError (filter / checksum / read), some ValueError
            reason = " ".join(str(e).split())
            noun = "image" if np.unique(indices).size == 1 else "images"
            raise InputError(
                f"cannot read {noun} {describe_indices(indices)} of {self.key!r} in {self.path}: {reason}; the file "
                f"may be corrupt"
            ) from e

    def _h5py_read(self, unique: np.ndarray) -> np.ndarray:
        selection = [slice(None)] * 4
        if unique[-1] - unique[0] + 1 == len(unique):  # a contiguous run: one hyperslab, h5py's fast path
            selection[self._sample_axis_h5] = slice(int(unique[0]), int(unique[-1]) + 1)
        else:
            selection[self._sample_axis_h5] = unique
        return self.dataset[tuple(selection)]

    def _pread(self, indices: np.ndarray) -> np.ndarray:
        """h5py-order (k, 3, W, H) block of the samples ``indices``, in that order.

        One ``preadv`` per run of consecutive sample indices (after sorting), scattering the
        run's samples straight to their rows; a repeated sample is read once and copied.
        """
        block = np.empty((len(indices),) + self._sample_shape_h5, np.uint8)
        rows = block.reshape(len(indices), -1)
        unique, first, inverse = np.unique(indices, return_index=True, return_inverse=True)
        breaks = np.flatnonzero(np.diff(unique) != 1) + 1
        for start, stop in zip(np.r_[0, breaks], np.r_[breaks, len(unique)]):
            self._pread_into([memoryview(rows[p]) for p in first[start:stop]], int(unique[start]))
        source = first[inverse.reshape(-1)]
        repeats = np.flatnonzero(source != np.arange(len(indices)))
        rows[repeats] = rows[source[repeats]]
        return block

    def _pread_into(self, buffers: list[memoryview], first_sample: int) -> None:
        """Fills ``buffers`` (whole samples) from the file's bytes of samples first_sample, first_sample + 1, ..."""
        position = self._offset + first_sample * self._sample_bytes
        i = 0
        while i < len(buffers):
            if _HAS_PREADV:
                got = os.preadv(self._fd, buffers[i:i + _IOV_MAX], position)
            else:
                chunk = os.pread(self._fd, len(buffers[i]), position)
                buffers[i][:len(chunk)] = chunk
                got = len(chunk)
            if got == 0:
                sample = (position - self._offset) // self._sample_bytes
                raise MatFileError(
                    f"{self._data_path}: variable {self.key!r}: the file ends at byte {position} inside sample "
                    f"{sample}, which should span bytes [{self._offset + sample * self._sample_bytes}, "
                    f"{self._offset + (sample + 1) * self._sample_bytes}); the file is truncated"
                )
            position += got
            while got:  # a read may stop short (Linux caps one call at ~2 GiB): skip what is filled
                if got >= len(buffers[i]):
                    got -= len(buffers[i])
                    i += 1
                else:
                    buffers[i] = buffers[i][got:]
                    got = 0

    def close(self) -> None:
        if self._fd is not None:
            self._closer()
            self._fd = None
        self._file.close()


_HAS_PREADV = hasattr(os, "preadv")
# Buffers per preadv call (POSIX IOV_MAX; Linux: 1024).
_IOV_MAX = os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") and "SC_IOV_MAX" in os.sysconf_names else 16


def _upright(block: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """The C-contiguous (k, H, W, 3) copy of an h5py-order block (h5py axes are MATLAB's
    reversed; ``axes`` then permutes MATLAB order to (k, H, W, 3)).

    Copied one channel at a time: numpy moves a transposed (W, H) plane several times faster
    than the whole 4-D permutation with its 1-byte innermost steps (≈3× for 224×224 images).
    """
    view = np.transpose(block.T, axes)
    out = np.empty(view.shape, np.uint8)
    for channel in range(view.shape[3]):
        out[..., channel] = view[..., channel]
    return out

# The h5py reader's chunk cache, per image dataset: a few chunks at least, within these bounds.
_CHUNK_CACHE_MIN_BYTES = 16 * 2**20
_CHUNK_CACHE_MAX_BYTES = 256 * 2**20


def _contiguous_offset(dataset: h5py.Dataset, path: str, key: str) -> int | None:
    """File offset of the dataset's raw bytes when they are stored as one plain run, else None.

    Plain: contiguous layout, no filters, no external file, storage allocated (a dataset never
    written has no bytes; ``check_written`` refuses it before this is asked). ``path``: the file
    that holds the dataset (the target file of an HDF5 external link).
    """
    plist = dataset.id.get_create_plist()
    if plist.get_layout() != h5py.h5d.CONTIGUOUS or plist.get_nfilters() or plist.get_external_count():
        return None
    nbytes = int(np.prod(dataset.shape, dtype=np.int64)) * dataset.dtype.itemsize
    if nbytes == 0 or dataset.id.get_storage_size() != nbytes:
        return None
    offset = dataset.id.get_offset()  # absolute: includes MATLAB's 512-byte user block
    if offset is None:
        return None
    file_size = os.path.getsize(path)
    if offset + nbytes > file_size:
        raise MatFileError(
            f"{path}: variable {key!r} {tuple(reversed(dataset.shape))} needs bytes [{offset}, {offset + nbytes}) "
            f"but the file has {file_size} bytes; the file is truncated"
        )
    return int(offset)


def _chunk_cache(dataset: h5py.Dataset) -> dict:
    """h5py.File chunk-cache arguments for reading ``dataset``: a few chunks, within bounds
    (HDF5's default is 1 MiB), ~100 hash slots per chunk that fits (at most ~65k), a prime number of them
    (HDF5's advice for H5Pset_chunk_cache)."""
    chunk_bytes = int(np.prod(dataset.chunks, dtype=np.int64)) * dataset.dtype.itemsize
    nbytes = _chunk_cache_bytes(chunk_bytes)
    slots = _next_prime(min(100 * max(1, nbytes // chunk_bytes), 2**16))
    return {"rdcc_nbytes": nbytes, "rdcc_nslots": slots}


def _chunk_cache_bytes(chunk_bytes: int) -> int:
    return int(min(max(4 * chunk_bytes, _CHUNK_CACHE_MIN_BYTES), _CHUNK_CACHE_MAX_BYTES))


def _next_prime(n: int) -> int:
    n = max(int(n), 2)
    while any(n % d == 0 for d in range(2, int(n ** 0.5) + 1)):
        n += 1
    return n


def read_images(path: PathLike, key: str, num_samples: int | None = None) -> ImageSource:
    """The uint8 images under ``key`` as an ``ImageSource`` of shape (N, H, W, 3), upright.

    v7.3: ``HDF5Images`` (lazy). v5: ``ArrayImages`` (scipy loads the variable whole).
    ``num_samples`` identifies the sample axis (see ``image_layout``); the DCMH layout, h5py
    (N, 3, W, H), becomes N×H×W×3 by ``transpose(0, 3, 2, 1)``. Any image size.
    """
    path = os.fspath(path)
    if mat_version(path) == V73:
        return HDF5Images(path, key, num_samples)
    array = _read_v5(path, key)
    if array.dtype != np.uint8:
        raise MatFileError(f"{path}: variable {key!r} must be a uint8 image array, found {array.dtype}")
    try:
        axes = image_layout(array.shape, num_samples)
    except ValueError as e:
        raise MatFileError(f"{path}: variable {key!r}: {e}") from None
    return ArrayImages(np.ascontiguousarray(np.transpose(array, axes)))
