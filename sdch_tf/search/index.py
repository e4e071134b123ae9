"""The search index on disk: a run's database codes, packed, with the dataset rows they stand for.

Layout of an index directory (default ``RUN_DIR/index``), written as a whole and renamed into
place (``atomic.replace_directory``), so that a reader sees either the old index or the new one:

    index.json          the manifest: format, run id and directory, method, dataset, bits, how the
                        codes were made ("codes.npz": the run's own evaluation codes; "encoded":
                        the database encoded again with the restored networks), and per modality
                        the list of its shard files with their item counts
    image-00000.npz     the image database: codes uint8 (n, ceil(bits / 8)) = np.packbits(codes > 0,
                        axis=1) as in codes.npz, codes_shape int64 [n, bits], rows int64 (n,) the
                        dataset rows (loaded sample indices) of the items, file_rows int64 (n,) the
                        rows of the dataset files (they differ when the loader dropped unlabelled
                        samples, ``LoadReport.rows``)
    text-00000.npz      the text database, the same arrays

The database order — the order ties are ranked in — is the shards' order, then the rows' order
within each shard.

Sharded indexing (``index --shards N [--shard I]``) splits the database order into N contiguous
parts; each part is encoded by its own process (or one after the other by one process) into
``INDEX_DIR.parts/<modality>-<I>.npz`` beside the index, each written atomically, so that an
interrupted part is redone and a finished one is kept. When the last part is written, the parts
are moved into the index (``merge_parts``): shard I of the index is part I, so the database order
— and every ranking — is the one-process index's.
"""
from __future__ import annotations

import dataclasses
import datetime
import os
import shutil
import tempfile
import zipfile

import numpy as np

from sdch_tf import atomic
from sdch_tf.input_errors import InputError

FORMAT = "sdch_tf.search.index/1"
MANIFEST = "index.json"
MODALITIES = ("image", "text")
INDEX_DIR = "index"  # the default index directory inside a run directory


@dataclasses.dataclass(frozen=True)
class Database:
    """One modality's database of an index, shards concatenated in order.

    Attributes:
        modality: "image" or "text".
        bits: code length r.
        codes: uint8 (N, ceil(r / 8)) packed codes.
        rows: int64 (N,) dataset rows (loaded sample indices).
        file_rows: int64 (N,) rows of the dataset files.
    """

    modality: str
    bits: int
    codes: np.ndarray
    rows: np.ndarray
    file_rows: np.ndarray

    def __post_init__(self):
        n = self.codes.shape[0]
        if self.codes.ndim != 2 or self.codes.shape[1] != -(-self.bits // 8) or self.codes.dtype != np.uint8:
            raise ValueError(f"{self.modality} codes must be uint8 (n, {-(-self.bits // 8)}), got "
                             f"{self.codes.dtype} {self.codes.shape}")
        if self.rows.shape != (n,) or self.file_rows.shape != (n,):
            raise ValueError(f"{self.modality}: {n} codes but rows {self.rows.shape}, file rows {self.file_rows.shape}")

    @property
    def size(self) -> int:
        return int(self.codes.shape[0])


@dataclasses.dataclass(frozen=True)
class Index:
    """A loaded index: its manifest and a ``Database`` per modality."""

    directory: str
    manifest: dict
    databases: dict

    @property
    def bits(self) -> int:
        return int(self.manifest["bits"])


def write_index(directory: str, databases: list[Database], run: dict) -> str:
    """Write ``databases`` (one per modality) as an index at ``directory``, replacing any index there.

    ``run``: what the manifest records of the run (run_id, run_dir, method, dataset, source, …).
    The index is built in a hidden sibling directory and renamed into place at the end, so an
    interruption leaves the previous index (or none) and never a partial one. Returns ``directory``.
    """
    bits = {db.bits for db in databases}
    if len(bits) != 1:
        raise ValueError(f"databases of one index must share the code length, got {sorted(bits)}")
    directory = os.path.abspath(directory)
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    atomic.finish_replace(directory, atomic.sibling(directory, "new"))
    staging = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(directory)}.{atomic.TEMP_PREFIX}")
    try:
        write_part(staging, 0, databases)  # a one-shard index: its only part
        modalities = {db.modality: {"count": db.size, "shards": [{"file": _part_file(db.modality, 0), "count": db.size}]}
                      for db in databases}
        manifest = {"format": FORMAT, "bits": bits.pop(), **run, "modalities": modalities,
                    "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        atomic.atomic_write_json(os.path.join(staging, MANIFEST), manifest)
        os.chmod(staging, 0o777 & ~atomic.umask())
        atomic.replace_directory(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


PARTS_SUFFIX = ".parts"
PARTS_MANIFEST = "parts.json"


def parts_dir(directory: str) -> str:
    """Where the parts of a sharded index at ``directory`` are written until they are merged."""
    return os.path.abspath(directory).rstrip(os.sep) + PARTS_SUFFIX


def part_bounds(total: int, shards: int) -> list[slice]:
    """The N contiguous slices of a database of ``total`` items, as equal as they come
    (the first ``total % N`` one item longer), in order."""
    if shards < 1:
        raise InputError(f"--shards {shards}: give at least 1")
    sizes = [total // shards + (1 if i < total % shards else 0) for i in range(shards)]
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    return [slice(int(a), int(b)) for a, b in zip(starts[:-1], starts[1:])]


def _part_file(modality: str, shard: int) -> str:
    return f"{modality}-{shard:05d}.npz"


def start_parts(directory: str, shards: int, run: dict, bits: int) -> str:
    """The parts directory of a sharded index, created (with its manifest) or checked: parts of
    another run, shard count or code source are refused rather than mixed."""
    parts = parts_dir(directory)
    expected = {"format": FORMAT, "shards": shards, "bits": bits, **run}
    path = os.path.join(parts, PARTS_MANIFEST)
    with _parts_lock(directory):  # the shards' processes start together
        os.makedirs(parts, exist_ok=True)
        if not os.path.exists(path):
            atomic.atomic_write_json(path, expected)
    found = atomic.read_json(path)
    keys = ("shards", "bits", "run_id", "source")
    if {k: found.get(k) for k in keys} != {k: expected.get(k) for k in keys}:
        differ = ", ".join(f"{k} {found.get(k)!r} there, {expected.get(k)!r} now" for k in keys
                           if found.get(k) != expected.get(k))
        raise InputError(f"{parts} holds the parts of another sharded index ({differ}); finish that one with "
                         f"the same options, or delete {parts}")
    return parts


def part_written(parts: str, shard: int) -> bool:
    return all(os.path.isfile(os.path.join(parts, _part_file(m, shard))) for m in MODALITIES)


def write_part(parts: str, shard: int, databases: list[Database]) -> None:
    """Part ``shard`` of every modality, each file written atomically."""
    for db in databases:
        arrays = {"codes": db.codes, "codes_shape": np.asarray([db.size, db.bits], np.int64),
                  "rows": np.asarray(db.rows, np.int64), "file_rows": np.asarray(db.file_rows, np.int64)}
        atomic.atomic_write(os.path.join(parts, _part_file(db.modality, shard)), lambda f, a=arrays: np.savez(f, **a))


def merge_parts(directory: str) -> str | None:
    """Move every part into the index at ``directory`` when all are written; None while some are
    missing. Under a lock: when two shards finish together, one merges and the other sees the
    index already there."""
    parts = parts_dir(directory)
    with _parts_lock(directory):
        manifest_path = os.path.join(parts, PARTS_MANIFEST)
        if not os.path.exists(manifest_path):
            return directory if os.path.exists(os.path.join(directory, MANIFEST)) else None
        info = atomic.read_json(manifest_path)
        shards = int(info["shards"])
        if not all(part_written(parts, i) for i in range(shards)):
            return None
        modalities = {}
        for modality in MODALITIES:
            entries = []
            for i in range(shards):
                with np.load(os.path.join(parts, _part_file(modality, i))) as f:
                    entries.append({"file": _part_file(modality, i), "count": int(f["codes_shape"][0])})
            modalities[modality] = {"count": sum(e["count"] for e in entries), "shards": entries}
        manifest = {k: v for k, v in info.items() if k != "shards"}
        manifest.update(modalities=modalities,
                        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
        os.remove(manifest_path)
        atomic.atomic_write_json(os.path.join(parts, MANIFEST), manifest)
        os.chmod(parts, 0o777 & ~atomic.umask())
        atomic.replace_directory(parts, os.path.abspath(directory))
    return directory


def _parts_lock(directory: str):
    # Beside the parts, not in them: the parts directory is renamed into the index.
    return atomic.exclusive_lock(parts_dir(directory) + ".lock", f"the sharded index {directory}", wait=True)


def read_manifest(directory: str) -> dict:
    """The manifest of the index at ``directory``; ``InputError`` naming the file when it is not one."""
    path = os.path.join(directory, MANIFEST)
    if not os.path.isfile(path):
        raise InputError(f"{directory} is not a search index: it has no {MANIFEST} (write one with "
                         "python -m sdch_tf.search index --run RUN_DIR)")
    manifest = atomic.read_json(path)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise InputError(f"{path}: not a {FORMAT} manifest (format {found!r}); write the index again")
    return manifest


def load_index(directory: str) -> Index:
    """The index at ``directory`` (``write_index``), every shard read and checked against the manifest."""
    manifest = read_manifest(directory)
    bits = int(manifest["bits"])
    databases = {}
    for modality, entry in manifest["modalities"].items():
        parts = [_read_shard(os.path.join(directory, shard["file"]), int(shard["count"]), bits)
                 for shard in entry["shards"]]
        databases[modality] = Database(
            modality=modality, bits=bits, codes=np.concatenate([p["codes"] for p in parts]),
            rows=np.concatenate([p["rows"] for p in parts]), file_rows=np.concatenate([p["file_rows"] for p in parts]))
    return Index(directory=os.path.abspath(directory), manifest=manifest, databases=databases)


def _read_shard(path: str, count: int, bits: int) -> dict:
    try:
        with np.load(path) as f:
            shard = {k: f[k] for k in ("codes", "codes_shape", "rows", "file_rows")}
    except FileNotFoundError:
        raise InputError(f"index shard {path} is missing; write the index again") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise InputError(f"index shard {path} cannot be read ({e}); write the index again") from None
    if [int(v) for v in shard["codes_shape"]] != [count, bits] or shard["codes"].shape != (count, -(-bits // 8)):
        raise InputError(f"index shard {path} holds codes {tuple(shard['codes'].shape)} (shape "
                         f"{shard['codes_shape'].tolist()}); its manifest says {count} codes of {bits} bits. "
                         "Write the index again")
    return shard


def describe(manifest: dict) -> str:
    """One line: what an index holds."""
    parts = ", ".join(f"{m} {e['count']} items" for m, e in manifest["modalities"].items())
    return f"{manifest['bits']}-bit codes of run {manifest.get('run_id')} ({manifest.get('source')}): {parts}"
