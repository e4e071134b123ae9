"""Image features of a cross-modal dataset, with its texts, labels and split, in one file: what the
shallow baselines read with ``--features FILE`` (docs/features.md).

SDCH §4.2 trains the shallow rows of its tables (CCA, SCM, SePH, …) on "CNN feature with 4096
dimensions extracted from the trained Alexnet". ``python -m sdch_tf.features`` writes such a file
from any dataset; users of other cross-modal hashing code already hold MATLAB collections of
pre-extracted features, and ``load_features`` reads those too.

The features file (HDF5, ``write_features``; ``read_features`` checks everything it reads):

    image_features  float32 (N, d)   one row per sample
    texts           float32 (N, t)   bag-of-words vectors
    labels          uint8   (N, c)   {0, 1}
    query           int64   (n_q,)   row indices; query and database partition range(N)
    database        int64   (n_db,)  in retrieval order (ties in the ranking go to the earlier)
    train           int64   (n_tr,)  a subset of database (the DCMH protocol, docs/reproduction.md §2.2)

plus root attributes: ``format`` = "sdch_tf.features", ``format_version`` = 1, and whatever the
writer records (the command: backbone, weights, dataset, preset, seed, …; docs/features.md).

Foreign layouts (``read_mat_features``; MATLAB v5 or v7.3, rows are samples) — ``MAT_LAYOUTS``:

    tr-te-db  I_tr T_tr L_tr, I_te T_te L_te, I_db T_db L_db   query te, database db, train tr
    tr-te     I_tr T_tr L_tr, I_te T_te L_te                   query te, database = train = tr
    dlfh      XTest|VTest YTest testL, XDatabase|VDatabase YDatabase databaseL
                                                               query test, database = train = database

No TensorFlow here: the shallow methods read features without it.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import h5py
import numpy as np

from sdch_tf.atomic import atomic_write_path
from sdch_tf.data import mat
from sdch_tf.input_errors import InputError

FORMAT = "sdch_tf.features"
FORMAT_VERSION = 1

MATRICES = ("image_features", "texts", "labels")
INDICES = ("query", "database", "train")
KEYS = MATRICES + INDICES
# The dtype each array is stored and returned with.
DTYPES = {"image_features": np.float32, "texts": np.float32, "labels": np.uint8,
          "query": np.int64, "database": np.int64, "train": np.int64}


class FeatureFileError(InputError):
    """A features file (ours or a foreign .mat) that cannot be used: names the file, the key, the
    shape or value found and what was expected."""


class FeaturesNotFoundError(FeatureFileError, FileNotFoundError):
    """No file at the path given."""


@dataclass(frozen=True, eq=False)
class FeatureData:
    """N samples' image features, texts and labels, and the retrieval split.

    Attributes:
        image_features: float32 (N, d).
        texts: float32 (N, t).
        labels: uint8 (N, c), entries in {0, 1}.
        query: int64 (n_query,) row indices.
        database: int64 (n_database,) row indices; with ``query`` a partition of range(N).
        train: int64 (n_train,) row indices, a subset of ``database``, no repeats.
        attrs: what the file records about itself (str, int, float or bool values): for our
            files the command's ``backbone``, ``weights``, …, ``config`` (JSON); for a foreign
            .mat its ``layout``, ``layout_source`` and the variables read.
    """

    image_features: np.ndarray
    texts: np.ndarray
    labels: np.ndarray
    query: np.ndarray
    database: np.ndarray
    train: np.ndarray
    attrs: dict = field(default_factory=dict)

    @property
    def num_samples(self) -> int:
        return int(self.image_features.shape[0])

    @property
    def feature_dim(self) -> int:
        return int(self.image_features.shape[1])


# --------------------------------------------------------------------------------------------
# Checks shared by the writer and the readers


def _shape(array) -> str:
    return str(tuple(int(s) for s in np.shape(array)))


def _first(indices, limit: int = 5) -> str:
    indices = [int(i) for i in np.asarray(indices).reshape(-1)]
    return ", ".join(map(str, indices[:limit])) + (", ..." if len(indices) > limit else "")


def _problem(matrices: Mapping[str, np.ndarray], indices: Mapping[str, np.ndarray],
             finite: tuple[str, ...] = ("image_features", "texts")) -> str | None:
    """What is wrong with these arrays as a features file (keys of ``KEYS``), or None.

    Shapes and dtype kinds first, then row counts, then the split: indices in range, query and
    database a partition of range(N), train a subset of database without repeats; labels in
    {0, 1} and the ``finite`` matrices free of NaN and ±inf last (the checks that read every value)."""
    for key in MATRICES:
        array = matrices[key]
        if array.ndim != 2:
            return f"{key!r} has shape {_shape(array)}; expected a matrix (N, {'d' if key != 'labels' else 'c'})"
        kinds = "fiub" if key == "labels" else "f"
        if array.dtype.kind not in kinds:
            return f"{key!r} has dtype {array.dtype}; expected {'floating point' if kinds == 'f' else 'numbers'}"
        if array.shape[1] < 1:
            return f"{key!r} has shape {_shape(array)}; expected at least one column"
    rows = {key: int(matrices[key].shape[0]) for key in MATRICES}
    if len(set(rows.values())) != 1:
        found = ", ".join(f"{key!r} {_shape(matrices[key])}" for key in MATRICES)
        return f"the matrices disagree on the number of samples N (one row each): {found}"
    n = rows["image_features"]
    if n < 2:
        return f"{n} samples (shape {_shape(matrices['image_features'])}); a split needs at least 2"
    for key in INDICES:
        array = indices[key]
        if array.ndim != 1 or array.dtype.kind not in "iu":
            return (f"{key!r} has shape {_shape(array)} and dtype {array.dtype}; expected a vector of row indices "
                    "(integers)")
        if array.size == 0:
            return f"{key!r} is empty; expected at least one row index"
        outside = np.flatnonzero((array < 0) | (array >= n))
        if outside.size:
            return (f"{key!r} holds row indices outside [0, {n}) (N = {n} rows of 'image_features'): "
                    f"{_first(array[outside])} at positions {_first(outside)}")
    query, database, train = (indices[key].astype(np.int64) for key in INDICES)
    counts = np.bincount(np.concatenate([query, database]), minlength=n)
    both = np.intersect1d(query, database)
    if both.size:
        return f"rows {_first(both)} ({both.size} in all) are in both 'query' and 'database'; expected disjoint sets"
    repeated = np.flatnonzero(counts > 1)
    if repeated.size:
        where = "query" if np.isin(repeated[0], query) else "database"
        return f"{where!r} lists rows {_first(repeated)} more than once ({repeated.size} rows in all)"
    missing = np.flatnonzero(counts == 0)
    if missing.size:
        return (f"rows {_first(missing)} ({missing.size} of {n}) are in neither 'query' nor 'database'; "
                "expected the two to cover every row")
    if np.unique(train).size != train.size:
        values, times = np.unique(train, return_counts=True)
        return f"'train' lists rows {_first(values[times > 1])} more than once"
    outside = np.setdiff1d(train, database)
    if outside.size:
        return (f"'train' holds rows {_first(outside)} ({outside.size} of {train.size}) that are not in 'database'; "
                "expected the training set to be drawn from the database (docs/reproduction.md §2.2)")
    labels = matrices["labels"]
    bad = np.flatnonzero(~np.isin(labels, (0, 1)).all(axis=1))
    if bad.size:
        values = np.unique(labels[bad[0]])
        return (f"'labels' rows {_first(bad)} hold values other than 0 and 1 (row {bad[0]}: {values[:8].tolist()}); "
                "expected a 0/1 indicator matrix")
    for key in finite:
        bad = np.flatnonzero(~np.isfinite(matrices[key]).all(axis=1))
        if bad.size:
            return f"{key!r} rows {_first(bad)} ({bad.size} in all) hold NaN or infinite values"
    return None


# --------------------------------------------------------------------------------------------
# Writing


def write_features(path, data: FeatureData) -> None:
    """``data`` as a features file at ``path``, atomically (``write_feature_blocks``)."""
    write_feature_blocks(path, [data.image_features], data.feature_dim, texts=data.texts, labels=data.labels,
                         query=data.query, database=data.database, train=data.train, attrs=data.attrs)


def write_feature_blocks(path, blocks: Iterable[np.ndarray], feature_dim: int, *, texts, labels, query, database,
                         train, attrs: Mapping | None = None) -> None:
    """A features file whose image features arrive in row blocks, so that they are never all in memory.

    Args:
        path: the file to write; replaced atomically (a temporary file beside it, then a rename), so an
            interruption leaves the old file or none, never half of one.
        blocks: float (b_i, feature_dim) arrays in row order, with Σ b_i = N = len(texts); consumed once.
        feature_dim: d.
        texts: float (N, t); labels: (N, c) in {0, 1}; query, database, train: integer row indices
            (query and database a partition of range(N), train a subset of database).
        attrs: root attributes to record (str, int, float or bool values); ``format`` and
            ``format_version`` are added.

    Raises:
        ValueError: the texts, labels and split do not form a features file (a bug of the caller).
        FeatureFileError: a block holds NaN or infinite values, or the blocks do not add up to N.
    """
    texts, labels = np.asarray(texts), np.asarray(labels)
    n = int(texts.shape[0]) if texts.ndim else 0
    placeholder = np.broadcast_to(np.zeros((), np.float32), (n, int(feature_dim)))  # shape only: no memory
    split = {key: np.asarray(value) for key, value in zip(INDICES, (query, database, train))}
    # The image features are checked block by block as they are written.
    problem = _problem({"image_features": placeholder, "texts": texts, "labels": labels}, split, finite=("texts",))
    if problem:
        raise ValueError(f"cannot write {path}: {problem}")
    stored = {**dict(attrs or {}), "format": FORMAT, "format_version": FORMAT_VERSION}
    unstorable = {key: type(value).__name__ for key, value in stored.items()
                  if not isinstance(value, (str, int, float, bool, np.integer, np.floating, np.bool_))}
    if unstorable:
        raise ValueError(f"cannot write {path}: attributes must be str, int, float or bool, got {unstorable}")

    def fill(f: h5py.File) -> None:
        features = f.create_dataset("image_features", shape=(n, int(feature_dim)), dtype=np.float32)
        done = 0
        for block in blocks:
            block = np.asarray(block, dtype=np.float32)
            if block.ndim != 2 or block.shape[1] != feature_dim or done + block.shape[0] > n:
                raise FeatureFileError(f"cannot write {path}: a block of image features of shape {_shape(block)} "
                                       f"after {done} rows; expected ({feature_dim} columns, {n} rows in all)")
            bad = np.flatnonzero(~np.isfinite(block).all(axis=1))
            if bad.size:
                raise FeatureFileError(f"cannot write {path}: the image features of rows {_first(bad + done)} hold "
                                       "NaN or infinite values (do the weights hold any?)")
            features[done:done + block.shape[0]] = block
            done += block.shape[0]
        if done != n:
            raise FeatureFileError(f"cannot write {path}: {done} rows of image features for {n} samples")
        f.create_dataset("texts", data=texts.astype(np.float32, copy=False))
        f.create_dataset("labels", data=labels.astype(np.uint8, copy=False))
        for key, value in split.items():
            f.create_dataset(key, data=value.astype(np.int64, copy=False))
        for key, value in stored.items():
            f.attrs[key] = value

    # By name, not atomic_write's file object: HDF5 reads back what it has written.
    atomic_write_path(os.fspath(path), lambda tmp: _write_hdf5(tmp, fill))


def _write_hdf5(path: str, fill) -> None:
    """``fill(h5py.File)`` on a new HDF5 file at ``path``."""
    with h5py.File(path, "w") as f:
        fill(f)


# --------------------------------------------------------------------------------------------
# Reading our files


def _check_file(path: str) -> None:
    kind, detail = mat.path_kind(path)
    if kind == "missing":
        raise FeaturesNotFoundError(f"{path}: no such file" + (f" (a dangling link to {detail})" if detail else ""))
    if kind == "directory":
        raise FeatureFileError(f"{path}: a directory, not a features file")
    if kind in ("other", "inaccessible"):
        raise FeatureFileError(f"{path}: cannot read it as a features file: {detail}")


def _attr_value(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def is_features_file(path) -> bool:
    """True if ``path`` is an HDF5 file carrying our ``format`` attribute (``write_features``)."""
    path = os.fspath(path)
    if mat.path_kind(path)[0] != "file" or not h5py.is_hdf5(path):
        return False
    try:
        with h5py.File(path, "r") as f:
            return _attr_value(f.attrs.get("format")) == FORMAT
    except OSError:
        return False


def read_features(path) -> FeatureData:
    """The features file at ``path`` (``write_features``), checked: every key present with its shape,
    row counts equal, the split a partition with train ⊆ database, labels in {0, 1}, finite numbers.

    Raises:
        FeaturesNotFoundError: no file at ``path``.
        FeatureFileError: not one of our features files (a MATLAB collection of another repository
            is read by ``load_features``), or a key missing, mis-shaped or out of range; the message
            names the file, the key and the shape or rows found against what was expected.
    """
    path = os.fspath(path)
    _check_file(path)
    if not h5py.is_hdf5(path):
        hint = ""
        try:
            if mat.mat_version(path) == mat.V5:
                hint = "; it is a MATLAB v5 MAT-file: load_features reads the layouts of docs/features.md"
        except (InputError, OSError):
            pass
        raise FeatureFileError(f"{path}: not an HDF5 file; expected a features file of python -m "
                               f"sdch_tf.features{hint}")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise FeatureFileError(f"{path}: cannot open the HDF5 file: {e}") from e
    with f:
        attrs = {key: _attr_value(value) for key, value in f.attrs.items()}
        if attrs.get("format") != FORMAT:
            found = f"'format' = {attrs['format']!r}" if "format" in attrs else "no 'format' attribute"
            raise FeatureFileError(
                f"{path}: not a features file of python -m sdch_tf.features ({found}; expected {FORMAT!r}); "
                "a MATLAB collection of another repository is read by load_features (docs/features.md)")
        version = attrs.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION or version < 1:
            raise FeatureFileError(f"{path}: 'format_version' = {version!r}; this sdch_tf reads versions 1 to "
                                   f"{FORMAT_VERSION} (a newer file needs a newer sdch_tf)")
        arrays = {}
        for key in KEYS:
            obj = f.get(key)
            if not isinstance(obj, h5py.Dataset):
                what = (f"no dataset {key!r}" if obj is None
                        else f"{key!r} is an HDF5 {type(obj).__name__}, not a dataset")
                found = ", ".join(f"{name} {_shape(value)}" if isinstance(value, h5py.Dataset) else name
                                  for name, value in f.items()) or "nothing"
                raise FeatureFileError(f"{path}: {what}; expected the datasets {', '.join(KEYS)} (found: {found})")
            try:
                arrays[key] = np.asarray(obj[()])
            except (OSError, TypeError, ValueError) as e:
                raise FeatureFileError(f"{path}: cannot read {key!r} {_shape(obj)}: {e}") from e
    problem = _problem({key: arrays[key] for key in MATRICES}, {key: arrays[key] for key in INDICES})
    if problem:
        raise FeatureFileError(f"{path}: {problem}")
    return FeatureData(**{key: arrays[key].astype(DTYPES[key], copy=False) for key in KEYS}, attrs=attrs)


# --------------------------------------------------------------------------------------------
# Foreign layouts: the MATLAB collections of other cross-modal hashing code


@dataclass(frozen=True)
class MatLayout:
    """One way other code distributes pre-extracted features: the variables of each split.

    Each split is (image keys, text key, label key); image keys are alternatives, the first
    present is read. ``train`` None: the training set is the whole database.
    """

    name: str
    source: str       # the repository and file whose code reads this layout
    convention: str   # how that code uses the splits
    query: tuple[tuple[str, ...], str, str]
    database: tuple[tuple[str, ...], str, str]
    train: tuple[tuple[str, ...], str, str] | None = None

    def splits(self) -> list[tuple[str, tuple[tuple[str, ...], str, str]]]:
        parts = [("query", self.query), ("database", self.database)]
        return parts + ([("train", self.train)] if self.train else [])

    def keys(self) -> list[tuple[str, ...]]:
        """Every variable as its alternatives."""
        return [alternatives for _, (images, text, label) in self.splits()
                for alternatives in (images, (text,), (label,))]

    def describe(self) -> str:
        return f"{self.name} ({' '.join('|'.join(k) for k in self.keys())}; {self.source})"


MAT_LAYOUTS = (
    # The shallow baselines collected in BMC-SDNU/Cross-Modal-Hashing-Retrieval (CMFH/code/demo_CMFH.m,
    # SePH/code/demo_SePH.m, CVH/code/demo_CVH.m; files mir_cnn.mat, nus_cnn.mat, coco_cnn.mat): rows are
    # samples; they train on *_tr, query with *_te and retrieve from *_db.
    MatLayout("tr-te-db", "BMC-SDNU/Cross-Modal-Hashing-Retrieval, CMFH/code/demo_CMFH.m and SePH/code/demo_SePH.m",
              "queries *_te, database *_db, training set *_tr (each row found in *_db)",
              query=(("I_te",), "T_te", "L_te"), database=(("I_db",), "T_db", "L_db"),
              train=(("I_tr",), "T_tr", "L_tr")),
    # LSSH's own demo as kept in lixiangpengcs/KLSSH (KLSSH_wiki.m with its rand_wiki.mat: I_tr (2149, 128),
    # L_tr (2149, 1) class indices 1..10, …): trains on *_tr and ranks *_tr for each *_te query
    # (mAP(sim, L_tr, L_te)). yxinwang/FCMH-TCyb2021 main_demo.m reads the same names but re-splits them
    # at random; here the file's split is kept.
    MatLayout("tr-te", "lixiangpengcs/KLSSH, KLSSH_wiki.m (rand_wiki.mat)",
              "queries *_te, database and training set *_tr",
              query=(("I_te",), "T_te", "L_te"), database=(("I_tr",), "T_tr", "L_tr")),
    # DLFH, jiangqy/DLFH-TIP2019 matlab_version/load_data.m (flickr-25k.mat, iapr-tc12.mat,
    # nus-wide-tc10.mat): XTest/XDatabase hand-crafted image features, VTest/VDatabase VGG ones (read
    # first when present: the shallow rows of SDCH use CNN features); DLFH_algo.m trains on the whole
    # database (trainL = databaseL).
    MatLayout("dlfh", "jiangqy/DLFH-TIP2019, matlab_version/load_data.m",
              "queries *Test/testL, database and training set *Database/databaseL",
              query=(("VTest", "XTest"), "YTest", "testL"),
              database=(("VDatabase", "XDatabase"), "YDatabase", "databaseL")),
)


def _describe_variables(variables: dict) -> str:
    if not variables:
        return "none"
    return ", ".join(f"{name} {shape} {cls}" for name, (shape, cls) in variables.items())


def _pick_layout(path: str, variables: dict) -> tuple[MatLayout, dict[tuple[str, ...], str]]:
    """The layout the file's variables match, with the variable chosen for each key.

    The layout with the most variables present is taken, a complete one on a tie (a tr-te file also
    holds six of tr-te-db's nine), and it must be complete: a tr-te-db file missing T_db is refused,
    not read as tr-te with its I_db ignored."""
    accepted = "; ".join(layout.describe() for layout in MAT_LAYOUTS)

    def score(layout):
        present = [any(k in variables for k in alternatives) for alternatives in layout.keys()]
        return sum(present), all(present)

    best = max(MAT_LAYOUTS, key=score)  # max keeps the first of equals: MAT_LAYOUTS' order
    best_found = score(best)[0]
    if best_found == 0:
        raise FeatureFileError(f"{path}: no known layout of pre-extracted features; variables found: "
                               f"{_describe_variables(variables)}. Accepted layouts: {accepted}; or a features file "
                               "of python -m sdch_tf.features (docs/features.md)")
    missing = [alternatives for alternatives in best.keys() if not any(k in variables for k in alternatives)]
    if missing:
        names = ", ".join(" or ".join(alternatives) for alternatives in missing)
        raise FeatureFileError(f"{path}: looks like the {best.name} layout ({best.source}) but has no {names}; "
                               f"variables found: {_describe_variables(variables)}. Accepted layouts: {accepted}")
    chosen = {alternatives: next(k for k in alternatives if k in variables) for alternatives in best.keys()}
    return best, chosen


def _read_matrix(path: str, key: str, dtype) -> np.ndarray:
    array = mat.read_array(path, key, dtype=dtype)
    if array.ndim != 2:
        raise FeatureFileError(f"{path}: variable {key!r} has MATLAB shape {_shape(array)}; expected a matrix "
                               "(samples, dimensions)")
    return array


def _to_indicators(path: str, labels: list[tuple[str, np.ndarray]], rows: list[int]) -> list[np.ndarray]:
    """Each split's labels as uint8 (n, c) {0, 1}. A single column (or row) of n values is a class index
    1..C per sample (Wiki's L_tr), made one-hot over C = the largest index of all splits, as
    yxinwang/FCMH-TCyb2021 main_demo.m does (``sparse(1:n, L, 1)``); otherwise a 0/1 matrix."""
    def is_vector(array, n):
        return array.shape in ((n, 1), (1, n))

    vectors = [is_vector(array, n) for (_, array), n in zip(labels, rows)]
    if all(vectors):
        classes = []
        for (key, array), n in zip(labels, rows):
            values = array.reshape(-1)
            bad = np.flatnonzero((values != np.round(values)) | (values < 1))
            if bad.size:
                raise FeatureFileError(
                    f"{path}: {key!r} {_shape(array)} is one value per sample, read as class indices 1..C (as in "
                    f"Wiki's L_tr), but rows {_first(bad)} hold {values[bad][:5].tolist()}; expected integers ≥ 1")
            classes.append(values.astype(np.int64) - 1)
        count = int(max(c.max() for c in classes)) + 1
        return [np.eye(count, dtype=np.uint8)[c] for c in classes]
    out = []
    for (key, array), n in zip(labels, rows):
        if array.shape[0] != n:
            raise FeatureFileError(f"{path}: {key!r} has MATLAB shape {_shape(array)}; expected ({n}, C) like the "
                                   "other splits' labels, one row per sample")
        bad = np.flatnonzero(~np.isin(array, (0, 1)).all(axis=1))
        if bad.size:
            raise FeatureFileError(f"{path}: {key!r} {_shape(array)} rows {_first(bad)} hold values other than 0 and "
                                   f"1 (row {bad[0]}: {np.unique(array[bad[0]])[:8].tolist()}); expected a 0/1 matrix")
        out.append(array.astype(np.uint8))
    return out


def _row_digests(images: np.ndarray, texts: np.ndarray, labels: np.ndarray) -> list[bytes]:
    return [hashlib.blake2b(images[i].tobytes() + texts[i].tobytes() + labels[i].tobytes(), digest_size=16).digest()
            for i in range(images.shape[0])]


def _find_rows(path: str, keys: str, where: str, part: tuple, within: tuple) -> np.ndarray:
    """The row of ``within`` (images, texts, labels) equal to each row of ``part``, each used once.

    The tr-te-db files hold the training samples twice, as *_tr and inside *_db; the features
    file indexes rows, so each training row is looked up in the database by its values."""
    slots: dict[bytes, list[int]] = {}
    for index, digest in enumerate(_row_digests(*within)):
        slots.setdefault(digest, []).append(index)
    found = np.full(part[0].shape[0], -1, np.int64)
    for row, digest in enumerate(_row_digests(*part)):
        candidates = slots.get(digest)
        if candidates:
            found[row] = candidates.pop(0)
    missing = np.flatnonzero(found < 0)
    if missing.size:
        raise FeatureFileError(
            f"{path}: {missing.size} of the {found.size} training rows ({keys}) are not rows of the database "
            f"({where}): rows {_first(missing)} (0-based). A features file draws its training set from the database "
            "(docs/reproduction.md §2.2, docs/features.md); this file's training set is not")
    return found


def read_mat_features(path) -> FeatureData:
    """A MATLAB collection of pre-extracted features in one of ``MAT_LAYOUTS`` (v5 or v7.3), as FeatureData.

    Rows are the query split's, then the database's (their order in the file); ``query`` and
    ``database`` index them. The training set is the layout's: the database itself, or (tr-te-db)
    the database rows equal to the *_tr rows. Image features and texts become float32, labels uint8
    (class-index vectors one-hot). ``attrs``: layout, layout_source, layout_convention, source_file and
    the variable read for each part (e.g. ``query_image_key``).

    Raises:
        FeaturesNotFoundError: no file at ``path``.
        FeatureFileError (an InputError): not a MAT-file, no known layout (listing the variables found and
            the layouts accepted), a variable missing, splits that disagree in rows or dimensions, labels
            that are neither 0/1 nor class indices, training rows absent from the database.
    """
    path = os.fspath(path)
    _check_file(path)
    try:
        variables = mat.list_variables(path)
    except mat.MatFileError as e:
        raise FeatureFileError(f"{e} (expected a features file of python -m sdch_tf.features or a MAT-file in a "
                               "layout of docs/features.md)") from e
    layout, chosen = _pick_layout(path, variables)
    parts, attrs = {}, {"layout": layout.name, "layout_source": layout.source, "layout_convention": layout.convention,
                        "source_file": path}
    for name, (image_keys, text_key, label_key) in layout.splits():
        image_key = chosen[image_keys]
        images = _read_matrix(path, image_key, np.float32)
        texts = _read_matrix(path, text_key, np.float32)
        labels = _read_matrix(path, label_key, None)
        n = images.shape[0]
        if texts.shape[0] != n:
            hint = (" (saved transposed? the variables hold one row per sample)"
                    if texts.shape[1] == n or images.shape[1] == texts.shape[0] else "")
            raise FeatureFileError(f"{path}: {image_key!r} {_shape(images)} and {text_key!r} {_shape(texts)} disagree "
                                   f"on the number of samples (rows){hint}")
        parts[name] = {"keys": (image_key, text_key, label_key), "arrays": [images, texts, labels]}
        attrs.update({f"{name}_image_key": image_key, f"{name}_text_key": text_key, f"{name}_label_key": label_key})
    names = list(parts)
    indicators = _to_indicators(path, [(parts[p]["keys"][2], parts[p]["arrays"][2]) for p in names],
                                [parts[p]["arrays"][0].shape[0] for p in names])
    for name, labels in zip(names, indicators):
        parts[name]["arrays"][2] = labels
    for column, what in ((0, "image feature"), (1, "text"), (2, "label")):
        widths = {parts[p]["keys"][column]: parts[p]["arrays"][column] for p in names}
        if len({array.shape[1] for array in widths.values()}) != 1:
            shown = ", ".join(f"{key!r} {_shape(array)}" for key, array in widths.items())
            raise FeatureFileError(f"{path}: the splits disagree on the {what} dimension (columns): {shown}")
    query, database = parts["query"]["arrays"], parts["database"]["arrays"]
    n_query, n_database = query[0].shape[0], database[0].shape[0]
    if "train" in parts:
        train = n_query + _find_rows(path, "/".join(parts["train"]["keys"]), "/".join(parts["database"]["keys"]),
                                     tuple(parts["train"]["arrays"]), tuple(database))
    else:
        train = np.arange(n_query, n_query + n_database, dtype=np.int64)
    matrices = {key: np.concatenate([query[i], database[i]], axis=0) for i, key in enumerate(MATRICES)}
    split = {"query": np.arange(n_query, dtype=np.int64),
             "database": np.arange(n_query, n_query + n_database, dtype=np.int64), "train": train}
    problem = _problem(matrices, split)
    if problem:
        raise FeatureFileError(f"{path} ({layout.name} layout): {problem}")
    return FeatureData(**matrices, **split, attrs=attrs)


def load_features(path) -> FeatureData:
    """What ``--features FILE`` reads: a features file of ``python -m sdch_tf.features``
    (``read_features``) or a MATLAB collection in one of ``MAT_LAYOUTS`` (``read_mat_features``),
    told apart by the file's contents. Raises ``FeatureFileError`` / ``FeaturesNotFoundError``."""
    path = os.fspath(path)
    _check_file(path)
    if is_features_file(path):
        return read_features(path)
    return read_mat_features(path)
