"""Readers (and a writer) for the DCMH-style dataset files, docs/reproduction.md §2.

``load_dataset(name, data_dir)`` reads MIRFlickr-25K, IAPR TC-12 or NUS-WIDE from the
MAT-files users actually hold, whatever MATLAB version each file is (``mat.mat_version``):

============== ========================================================== ===================
name           files (first complete layout wins)                         keys
============== ========================================================== ===================
mirflickr      mirflickr25k-iall.mat, mirflickr25k-lall.mat,               IAll, LAll, YAll
               mirflickr25k-yall.mat
               or the merged FLICKR-25K.mat                               images, LAll, YAll
iapr           IAPR-TC12.mat                                              IAll, LAll, YAll
nuswide        nus-wide-tc21-{iall,lall,yall}.mat                         IAll, LAll, YAll
nuswide-tc10   nus-wide-tc10-{iall,lall,yall}.mat                         IAll, LAll, YAll
coco           coco2014-{iall,lall,yall}.mat (``python -m sdch_tf.prepare  IAll, LAll, YAll
               coco`` writes them; no DCMH release exists)
============== ========================================================== ===================

Labels are MATLAB (N, C) in {0, 1}, texts (N, d) bag-of-words, images uint8 in the DCMH
layout (h5py (N, 3, W, H)). Nothing is ever downloaded: a missing file raises
``DatasetNotFoundError`` saying what was looked for and how to run the embedded synthetic set.

The files are checked as they are read; a ``DatasetFormatError`` names the file, the key and
(for bad values) the samples, what was found and what was expected. Two properties of the
data are not errors: samples with no label at all are dropped (the DCMH protocol) and
samples whose text vector is all zero are kept (NUS-WIDE has items with none of the 1000
vocabulary words); both are counted in ``CrossModalData.report`` and logged as warnings
(logger ``sdch_tf.data.datasets``; without logging configured Python prints them on stderr).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sdch_tf.data import mat, mat_images
from sdch_tf.data.dataset import ArrayImages, CrossModalData, ImageSource
from sdch_tf.input_errors import InputError

_log = logging.getLogger(__name__)

SYNTHETIC_HINT = "python -m sdch_tf.train --dataset synthetic"


class DatasetNotFoundError(InputError, FileNotFoundError):
    """The dataset's files are not in ``data_dir``; the message lists every path looked for."""


class DatasetFormatError(InputError):
    """A dataset file is unreadable, lacks / mis-shapes a variable or holds bad values; names the
    file, the key, the samples (for values), what was found and what was expected."""


@dataclass(frozen=True)
class _Layout:
    """One way a dataset is distributed: which file holds which variable."""

    description: str
    images: tuple[str, str]  # (file name, key)
    labels: tuple[str, str]
    texts: tuple[str, str]


@dataclass(frozen=True)
class _Spec:
    """A dataset: its layouts in order of preference and its usual sizes (for messages only)."""

    title: str
    layouts: tuple[_Layout, ...]
    num_samples: int   # usual N of the DCMH release
    num_labels: str    # usual C (IAPR releases differ)
    text_dim: int      # usual d


def _split_files(prefix: str, description: str) -> _Layout:
    return _Layout(
        description,
        images=(f"{prefix}-iall.mat", "IAll"),
        labels=(f"{prefix}-lall.mat", "LAll"),
        texts=(f"{prefix}-yall.mat", "YAll"),
    )


def _one_file(file: str, image_key: str, description: str) -> _Layout:
    return _Layout(description, images=(file, image_key), labels=(file, "LAll"), texts=(file, "YAll"))


# The sizes only document what a user should expect: the loader accepts any N, C, d, so that
# smaller files (tests, the synthetic set written with write_mirflickr) read the same way.
DATASETS: dict[str, _Spec] = {
    "mirflickr": _Spec(
        "MIRFlickr-25K",
        (_split_files("mirflickr25k", "split files"), _one_file("FLICKR-25K.mat", "images", "merged file")),
        num_samples=20015, num_labels="24", text_dim=1386,
    ),
    "iapr": _Spec(
        "IAPR TC-12",
        (_one_file("IAPR-TC12.mat", "IAll", "single file"),),
        num_samples=20000, num_labels="22, or 255 in some releases (use num_labels=22, SDCH §4.1)", text_dim=2912,
    ),
    "nuswide": _Spec(
        "NUS-WIDE, 21 most frequent concepts",
        (_split_files("nus-wide-tc21", "split files"),),
        num_samples=195834, num_labels="21", text_dim=1000,
    ),
    "nuswide-tc10": _Spec(
        "NUS-WIDE, 10 most frequent concepts",
        (_split_files("nus-wide-tc10", "split files"),),
        num_samples=186577, num_labels="10", text_dim=1000,
    ),
    # No DCMH-style COCO file is distributed: `python -m sdch_tf.prepare coco` builds these from
    # the official 2014 release (docs/data-preparation.md, "MS-COCO").
    "coco": _Spec(
        "MS-COCO 2014 (train + val)",
        (_split_files("coco2014", "split files (python -m sdch_tf.prepare coco)"),),
        num_samples=122218, num_labels="80", text_dim=2000,
    ),
}


@dataclass(frozen=True, eq=False)
class LoadReport:
    """What ``load_dataset`` dropped and noticed, in terms of the files (rows are 0-based).

    Attributes:
        dataset: the dataset name.
        labels_source, texts_source: ``"<path> '<key>'"`` of the label and text variables.
        num_file_samples: N in the files.
        rows: int64 (N',) the file row of each returned sample, ascending.
        unlabelled: int64 file rows dropped because they have no label at all (the DCMH
            protocol keeps only labelled samples: similarity is "share a label", SDCH §4.1).
        no_top_concept: int64 file rows dropped by ``num_labels``: all their labels are
            outside the C most frequent concepts (SDCH §4.1, IAPR TC-12).
        zero_text: int64 indices into the returned data of the samples whose text vector is
            all zero; they are kept (legitimate items with none of the vocabulary words).
    """

    dataset: str
    labels_source: str
    texts_source: str
    num_file_samples: int
    rows: np.ndarray
    unlabelled: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    no_top_concept: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    num_labels: int | None = None
    zero_text: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # int64 (C',) the file's label column of each returned one (all columns unless num_labels),
    # so that concept names (concepts.txt) follow the kept columns.
    label_columns: np.ndarray | None = None

    @property
    def num_unlabelled_dropped(self) -> int:
        return len(self.unlabelled)

    @property
    def num_zero_text(self) -> int:
        return len(self.zero_text)

    def lines(self) -> list[str]:
        """One line per event (none when the files were used as they are)."""
        lines = []
        if len(self.unlabelled):
            lines.append(
                f"{self.dataset}: dropped {len(self.unlabelled)} of {self.num_file_samples} samples that have no "
                f"label (an all-zero row in {self.labels_source}; the DCMH protocol keeps labelled samples "
                f"only): file rows {_first(self.unlabelled)} (0-based)"
            )
        if len(self.no_top_concept):
            lines.append(
                f"{self.dataset}: dropped {len(self.no_top_concept)} more samples with none of the "
                f"{self.num_labels} most frequent concepts (num_labels={self.num_labels}, SDCH §4.1): "
                f"file rows {_first(self.no_top_concept)} (0-based)"
            )
        if len(self.zero_text):
            where = f"samples {_first(self.zero_text)}"
            file_rows = self.rows[self.zero_text]
            if not np.array_equal(file_rows, self.zero_text):
                where += f" (file rows {_first(file_rows)})"
            lines.append(
                f"{self.dataset}: warning: {len(self.zero_text)} of {len(self.rows)} samples have an all-zero "
                f"text vector in {self.texts_source} (no vocabulary word); kept: {where}"
            )
        return lines


def _first(indices: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(i)) for i in indices[:limit])
    return shown + (", ..." if len(indices) > limit else "")  # each line states the count


def load_dataset(name: str, data_dir, *, num_labels: int | None = None) -> CrossModalData:
    """Reads dataset ``name`` from the MAT-files in ``data_dir`` (docs/reproduction.md §2).

    Samples with no label at all are dropped (the DCMH protocol); samples whose text vector is
    all zero are kept. Both are counted in the returned data's ``report`` (``LoadReport``) and
    logged as one warning line each, naming the dataset, the file and the count.

    Args:
        name: ``mirflickr``, ``iapr``, ``nuswide`` or ``nuswide-tc10``.
        data_dir: directory holding the files (see the module docstring).
        num_labels: keep only the C most frequent concepts and the samples that still have a
            label (SDCH §4.1 for IAPR TC-12: "We used 22 most frequent concepts, and selected
            the corresponding samples"); None keeps all labels.

    Returns:
        ``CrossModalData`` with images (N', H, W, 3) uint8 RGB (lazy for v7.3 files: dropped
        samples are skipped by index, never copied), texts float32 (N', d), labels uint8
        (N', C) in {0, 1}, in file order, and ``report``.

    Raises:
        DatasetNotFoundError: a file is missing (the message lists every path looked for).
        DatasetFormatError: a file is unreadable (truncated, not a MAT-file), a variable is
            missing or has the wrong dtype / rank, the sample counts disagree, labels are not
            in {0, 1} or texts not finite (naming the samples), or no sample has a label.
        InputError: an unknown ``name``, or ``num_labels`` outside [1, C].
    """
    if name not in DATASETS:
        raise InputError(
            f"unknown dataset {name!r}; file datasets are {sorted(DATASETS)} "
            f"(the embedded synthetic set needs no files: {SYNTHETIC_HINT})"
        )
    spec = DATASETS[name]
    directory = Path(data_dir)
    layout = _find_layout(name, spec, directory)

    labels_path, labels_key = directory / layout.labels[0], layout.labels[1]
    texts_path, texts_key = directory / layout.texts[0], layout.texts[1]
    images_path, images_key = directory / layout.images[0], layout.images[1]

    labels = _read_labels(labels_path, labels_key, _expected_shape("labels", spec))
    if num_labels is not None and not 1 <= num_labels <= labels.shape[1]:
        raise InputError(
            f"num_labels={num_labels} is outside [1, {labels.shape[1]}]: {labels_path} {labels_key!r} has "
            f"shape {labels.shape}, i.e. {labels.shape[1]} concepts"
        )
    texts = _read_texts(texts_path, texts_key, _expected_shape("texts", spec))
    n = labels.shape[0]
    if texts.shape[0] != n:
        transposed = _rows_transposed_hint((labels_path, labels_key, labels.shape),
                                           (texts_path, texts_key, texts.shape), (images_path, images_key))
        raise DatasetFormatError(
            f"{name}: row counts disagree: {labels_path} {labels_key!r} has shape {labels.shape} "
            f"(N = {n}) but {texts_path} {texts_key!r} has shape {texts.shape}; expected ({n}, d), "
            f"one row per sample in both{_row_vector_hint(labels.shape, texts.shape)}{transposed}"
        )
    try:
        images = mat_images.read_images(images_path, images_key, num_samples=n)
    except mat.MatFileError as e:
        raise DatasetFormatError(
            f"{e} (N = {n} from {labels_path} {labels_key!r}); expected {images_key!r}: "
            f"{_expected_shape('images', spec)}"
            f"{_images_transposed_hint(images_path, images_key, labels_path, labels_key, labels.shape)}"
        ) from e

    labels_source, texts_source = f"{labels_path} {labels_key!r}", f"{texts_path} {texts_key!r}"
    labelled = np.flatnonzero(labels.any(axis=1))
    if not len(labelled):
        raise DatasetFormatError(
            f"{labels_source}: none of the {n} samples has a label (every row of the {labels.shape} matrix "
            f"is zero); expected {_expected_shape('labels', spec)}, samples without labels being dropped"
        )
    if num_labels is None:
        columns, rows = None, labelled
    else:
        # Samples without any label count for no concept: selecting on all rows gives the same
        # columns, and rows within ``labelled``.
        columns, rows = top_concepts(labels, num_labels)
    data = _subset(CrossModalData(name=name, images=images, texts=texts, labels=labels), rows, columns)
    report = LoadReport(
        dataset=name, labels_source=labels_source, texts_source=texts_source, num_file_samples=n, rows=rows,
        unlabelled=np.setdiff1d(np.arange(n), labelled).astype(np.int64),
        no_top_concept=np.setdiff1d(labelled, rows).astype(np.int64), num_labels=num_labels,
        label_columns=np.arange(labels.shape[1], dtype=np.int64) if columns is None else np.asarray(columns, np.int64),
        zero_text=_zero_rows(data.texts),
    )
    for line in report.lines():
        _log.warning(line)
    return CrossModalData(name=name, images=data.images, texts=data.texts, labels=data.labels, report=report)


def _row_vector_hint(*shapes: tuple) -> str:
    """MATLAB has no 1-D arrays: a vector saved from Python or MATLAB becomes one row (1, n)."""
    rows = [shape for shape in shapes if shape[0] == 1]
    if len(rows) == 1:
        return f" (a {rows[0]} variable is a single row: a 1-D vector saved as a MATLAB row?)"
    return ""


# --------------------------------------------------------------------------------------------
# Hints for arrays written transposed: h5py writes a C-order array as it is, and MATLAB (and
# read_array) sees it with its dimensions reversed — labels (N, C) written from numpy read as (C, N).


def _transposed_hint(path: Path, key: str, matlab_shape: tuple) -> str:
    try:
        v73 = mat.mat_version(path) == mat.V73
    except (InputError, OSError):
        v73 = True
    fix = ("h5py writes arrays reversed, so write array.T (see README, Training on the real datasets)" if v73 else
           "save its transpose (array.T in Python, x.' in MATLAB)")
    return f"; {path} {key!r}: it looks transposed: MATLAB sees {tuple(matlab_shape)}; {fix}"


def _image_shape(path: Path, key: str) -> tuple | None:
    """MATLAB-order shape of the image variable, read from the file's header only; None if unknown."""
    try:
        shape = mat.list_variables(path).get(key, (None,))[0]
    except (InputError, OSError, KeyError, ValueError):
        return None
    return tuple(shape) if shape is not None and len(shape) == 4 else None


def _image_counts(path: Path, key: str) -> set[int]:
    """The possible N of the image variable (its axis next to or opposite the size-3 channel axis,
    in either dimension order); empty if unknown."""
    shape = _image_shape(path, key)
    counts = set()
    for s in ([] if shape is None else [shape, shape[::-1]]):
        if s[2] == 3:
            counts.add(int(s[3]))
        if s[3] == 3:
            counts.add(int(s[0]))
    return counts


def _looks_transposed(shape: tuple, counts: set[int]) -> bool:
    return len(shape) == 2 and shape[0] != shape[1] and shape[0] not in counts and shape[1] in counts


def _rows_transposed_hint(labels: tuple, texts: tuple, images: tuple) -> str:
    """For labels and texts whose row counts disagree, given as (path, key, MATLAB shape) and images as
    (path, key): which looks transposed, judged by the number of images (or, when that is unknown, by
    the other array)."""
    (labels_path, labels_key, labels_shape), (texts_path, texts_key, texts_shape) = labels, texts
    counts = _image_counts(*images)
    if counts:
        labels_t, texts_t = _looks_transposed(labels_shape, counts), _looks_transposed(texts_shape, counts)
    else:
        labels_t = _looks_transposed(labels_shape, {texts_shape[0]}) or (
            _looks_transposed(labels_shape, {texts_shape[1]}) and _looks_transposed(texts_shape, {labels_shape[1]}))
        texts_t = _looks_transposed(texts_shape, {labels_shape[0]}) or (
            _looks_transposed(texts_shape, {labels_shape[1]}) and _looks_transposed(labels_shape, {texts_shape[1]}))
    return ((_transposed_hint(labels_path, labels_key, labels_shape) if labels_t else "")
            + (_transposed_hint(texts_path, texts_key, texts_shape) if texts_t else ""))


def _images_transposed_hint(images_path, images_key, labels_path, labels_key, labels_shape) -> str:
    """For images that do not fit N: the labels look transposed (their column count is the image count),
    or the images do (their reversed shape is a layout that fits N)."""
    if _looks_transposed(labels_shape, _image_counts(images_path, images_key)):
        return _transposed_hint(labels_path, labels_key, labels_shape)
    shape = _image_shape(images_path, images_key)
    if shape is None:
        return ""
    try:
        mat_images.image_layout(shape[::-1], labels_shape[0])
    except ValueError:
        return ""
    return _transposed_hint(images_path, images_key, shape)


def _zero_rows(texts: np.ndarray, block: int = 16384) -> np.ndarray:
    """int64 indices of the all-zero rows of ``texts``, scanned in row blocks (bounded temporaries)."""
    found = [start + np.flatnonzero(~texts[start:start + block].any(axis=1))
             for start in range(0, texts.shape[0], block)]
    return np.concatenate(found).astype(np.int64) if found else np.zeros(0, np.int64)


def _bad_entries(array: np.ndarray, bad, limit: int = 3, block: int = 16384) -> tuple[int, str]:
    """(count, description of the first ``limit``) of the entries where ``bad(block)`` is True,
    e.g. ``"[3, 2] = nan, [9, 0] = inf"`` as 0-based [sample row, column], scanned in row blocks."""
    count, shown = 0, []
    for start in range(0, array.shape[0], block):
        part = array[start:start + block]
        mask = bad(part)
        hits = int(mask.sum())
        if hits and len(shown) < limit:
            for r, c in np.argwhere(mask)[:limit - len(shown)]:
                shown.append(f"[{start + r}, {c}] = {part[r, c].item()!r}")
        count += hits
    return count, ", ".join(shown)


def _find_layout(name: str, spec: _Spec, directory: Path) -> _Layout:
    for layout in spec.layouts:
        files = {layout.images[0], layout.labels[0], layout.texts[0]}
        if all(_file_state(directory / f) == _PRESENT for f in files):
            return layout
    raise DatasetNotFoundError(_not_found_message(name, spec, directory))


_PRESENT = "present"


def _file_state(path: Path) -> str:
    """'present' for a regular file (after symbolic links), else what is there instead, as listed in
    the files-looked-for message (``mat.path_kind``: never opens the file)."""
    kind, detail = mat.path_kind(path)
    return {"file": _PRESENT, "directory": "a directory, not a file", "other": "not a regular file",
            "inaccessible": f"inaccessible: {detail}",
            "missing": f"MISSING: a symbolic link to {detail}, which does not exist" if detail else "MISSING"}[kind]


def _absolute(path: Path) -> Path:
    """``path.resolve()``, or absolute when symbolic links cannot be resolved (a loop)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # Python < 3.13 raises RuntimeError for a loop
        return path.absolute()


def _not_found_message(name: str, spec: _Spec, directory: Path) -> str:
    missing_dir = "" if directory.is_dir() else " (the directory does not exist)"
    lines = [f"{spec.title} ({name!r}) not found in {_absolute(directory)}{missing_dir}. Looked for:"]
    for i, layout in enumerate(spec.layouts):
        lines.append(f"  {'or ' if i else ''}{layout.description}:")
        by_file: dict[str, list[str]] = {}
        for role, (file, key) in (("images", layout.images), ("labels", layout.labels), ("texts", layout.texts)):
            by_file.setdefault(file, []).append(f"{key!r} ({_expected_shape(role, spec)})")
        for file, keys in by_file.items():
            path = directory / file
            lines.append(f"    {_absolute(path)} [{_file_state(path)}]")
            lines.extend(f"      {key}" for key in keys)
    lines.append(
        "Each file may be MATLAB v5 or v7.3 (detected from the file). Nothing is downloaded: put the "
        "files there, or point --data-dir at their directory. To run without them, use the embedded "
        f"synthetic dataset: {SYNTHETIC_HINT}"
    )
    return "\n".join(lines)


def _expected_shape(role: str, spec: _Spec) -> str:
    if role == "images":
        return "uint8, h5py (N, 3, W, H) = MATLAB (H, W, 3, N), any H×W; MATLAB (N, H, W, 3) also accepted"
    if role == "labels":
        return f"MATLAB (N, C) in {{0, 1}}; usually N = {spec.num_samples}, C = {spec.num_labels}"
    return f"MATLAB (N, d) bag-of-words; usually d = {spec.text_dim}"


def _read(path: Path, key: str, expected: str) -> np.ndarray:
    try:
        return mat.read_array(path, key)
    except mat.MatFileError as e:
        raise DatasetFormatError(f"{e}; expected {key!r}: {expected}") from e


def _read_labels(path: Path, key: str, expected: str) -> np.ndarray:
    labels = _read(path, key, expected)
    if labels.ndim != 2:
        raise DatasetFormatError(
            f"{path}: {key!r} must be a 2-D label matrix MATLAB (N, C); found shape {labels.shape}"
        )
    if labels.shape[0] == 0 or labels.shape[1] == 0:
        raise DatasetFormatError(f"{path}: {key!r} is empty: shape {labels.shape}; expected {expected}")
    binary = (labels == 0) | (labels == 1)
    if not binary.all():
        bad = np.unique(labels[~binary])[:5]
        count, first = _bad_entries(labels, lambda part: (part != 0) & (part != 1))
        raise DatasetFormatError(
            f"{path}: {key!r} (shape {labels.shape}) must hold labels in {{0, 1}}; found values {bad.tolist()} "
            f"in {count} entries, first at [sample row, column] (0-based) {first}"
        )
    return labels.astype(np.uint8)


def _read_texts(path: Path, key: str, expected: str) -> np.ndarray:
    # Cast while reading: v7.3 texts are read in row blocks, so NUS-WIDE's 195,834 × 1000
    # MATLAB doubles (1.5 GB) never exist whole as float64; v5 files are loaded whole by scipy.
    try:
        texts = mat.read_array(path, key, dtype=np.float32)
    except mat.MatFileError as e:
        raise DatasetFormatError(f"{e}; expected {key!r}: {expected}") from e
    if texts.ndim != 2:
        raise DatasetFormatError(
            f"{path}: {key!r} must be a 2-D bag-of-words matrix MATLAB (N, d); found shape {texts.shape}"
        )
    if texts.shape[1] == 0:
        raise DatasetFormatError(f"{path}: {key!r} has no columns: shape {texts.shape}; expected {expected}")
    count, first = _bad_entries(texts, lambda part: ~np.isfinite(part))
    if count:
        raise DatasetFormatError(
            f"{path}: {key!r} (shape {texts.shape}) holds non-finite values (NaN or ±inf): {count} of them, first "
            f"at [sample row, column] (0-based) {first}; expected finite word counts or weights"
        )
    return texts


# --------------------------------------------------------------------------------------------
# Concept selection (IAPR TC-12, SDCH §4.1)


class SubsetImages:
    """``ImageSource`` over the samples ``rows`` of another source (stays lazy)."""

    def __init__(self, source: ImageSource, rows: np.ndarray):
        rows = np.asarray(rows, dtype=np.int64)
        if rows.ndim != 1 or (rows.size and (rows.min() < 0 or rows.max() >= len(source))):
            raise ValueError(f"rows must be a 1-D array of indices into {len(source)} images")
        self.source = source
        self.rows = rows
        self.shape = (len(rows),) + tuple(source.shape[1:])

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, indices: np.ndarray) -> np.ndarray:
        return self.source.read(self.rows[np.asarray(indices, dtype=np.int64)])


def top_concepts(labels: np.ndarray, num_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``num_labels`` most frequent label columns and the rows that keep a label.

    Args:
        labels: (N, C) in {0, 1}.
        num_labels: how many concepts to keep, 1 <= num_labels <= C.

    Returns:
        ``(columns, rows)``: int64 column indices in their original order (ties in frequency
        go to the lower column index) and int64 indices of the samples with at least one of
        the kept concepts, ascending.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be (N, C), got shape {labels.shape}")
    if not 1 <= num_labels <= labels.shape[1]:
        raise ValueError(f"num_labels must be in [1, {labels.shape[1]}] for {labels.shape[1]} concepts, "
                         f"got {num_labels}")
    counts = labels.sum(axis=0, dtype=np.int64)
    by_frequency = np.argsort(-counts, kind="stable")
    columns = np.sort(by_frequency[:num_labels]).astype(np.int64)
    rows = np.flatnonzero(labels[:, columns].any(axis=1)).astype(np.int64)
    return columns, rows


def keep_top_concepts(data: CrossModalData, num_labels: int) -> CrossModalData:
    """``data`` restricted to its ``num_labels`` most frequent concepts and the samples that keep one."""
    columns, rows = top_concepts(data.labels, num_labels)
    return _subset(data, rows, columns)


def _subset(data: CrossModalData, rows: np.ndarray, columns: np.ndarray | None = None) -> CrossModalData:
    """The samples ``rows`` (ascending) and label ``columns`` (None: all) of ``data``, images kept lazy;
    ``data`` itself when nothing is left out. Never modifies ``data``."""
    if len(rows) == data.num_samples and columns is None:
        return data
    if len(rows) == data.num_samples:
        images, texts = data.images, data.texts
    else:
        if isinstance(data.images, ArrayImages):
            images = ArrayImages(data.images.read(rows))
        else:
            images = SubsetImages(data.images, rows)
        texts = data.texts[rows]
    labels = data.labels[rows] if columns is None else data.labels[np.ix_(rows, columns)]
    names = data.label_names
    if names is not None and columns is not None:
        names = tuple(names[c] for c in columns)
    return CrossModalData(name=data.name, images=images, texts=texts, labels=labels, label_names=names,
                          vocabulary=data.vocabulary)


# --------------------------------------------------------------------------------------------
# Writing


def write_mirflickr(data: CrossModalData, directory, merged: bool = False) -> tuple[Path, ...]:
    """Writes ``data`` in the MIRFlickr-25K DCMH layout; returns the paths written.

    Split files (default): ``mirflickr25k-iall.mat`` (v7.3, ``IAll``, h5py (N, 3, W, H) uint8),
    ``mirflickr25k-lall.mat`` (v5, ``LAll``, (N, C)) and ``mirflickr25k-yall.mat`` (v5,
    ``YAll``, (N, d)). ``merged=True``: ``FLICKR-25K.mat`` (v7.3: ``images``, ``LAll``,
    ``YAll``). Labels and texts are written as MATLAB double, as in the DCMH files; the texts
    are float32 values, so ``load_dataset('mirflickr', directory)`` reads ``data`` back exactly.
    Images are copied in chunks (bounded memory). ``label_names`` are not written: the DCMH
    files hold none. Creates ``directory`` if needed; overwrites existing files.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    labels = np.asarray(data.labels, dtype=np.float64)
    texts = np.asarray(data.texts, dtype=np.float64)
    if merged:
        path = directory / "FLICKR-25K.mat"
        mat.write_mat_v73(path, {"images": data.images, "LAll": labels, "YAll": texts})
        return (path,)
    layout = DATASETS["mirflickr"].layouts[0]
    paths = tuple(directory / file for file in (layout.images[0], layout.labels[0], layout.texts[0]))
    mat.write_mat_v73(paths[0], {"IAll": data.images})
    mat.write_mat_v5(paths[1], {"LAll": labels})
    mat.write_mat_v5(paths[2], {"YAll": texts})
    return paths

