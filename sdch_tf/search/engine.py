"""Answering queries against a run: codes of the queries, the database to scan, the ranking.

``Searcher(opened)`` takes the run's index (``RUN_DIR/index`` or ``--index DIR``) when there is
one written for this run, else the database codes of codes.npz (the same codes, unpacked and
packed again); ``search(queries, k, target)`` returns one answer record per query.
"""
from __future__ import annotations

import os

import numpy as np

from sdch_tf.input_errors import InputError
from sdch_tf.search import index as search_index
from sdch_tf.search.query import OTHER, Query, answer_record, bag_of_words
from sdch_tf.search.scan import make_scan, pack_codes


def read_image_file(path: str, size: tuple[int, int]) -> np.ndarray:
    """uint8 RGB (H, W, 3) of the image file ``path``, resized to ``size`` = (H, W) — the dataset's
    stored image size, which the evaluator's preprocessing starts from — when it differs: decoded
    and resized as ``python -m sdch_tf.prepare`` stores a release's images (``prepare.images``)."""
    from sdch_tf.prepare.images import UnreadableImage, decode_image

    if not os.path.exists(path):
        raise InputError(f"image file {path} does not exist")
    if os.path.isdir(path):
        raise InputError(f"image file {path} is a directory")
    with open(path, "rb") as f:
        data = f.read()
    try:
        return decode_image(data, size)
    except UnreadableImage as e:
        raise InputError(f"image file {path} cannot be read as an image ({e})") from None


class Searcher:
    """Queries against one opened run (``runs.OpenedRun``).

    Args:
        opened: the run.
        index_dir: an index directory (``index.write_index``); None: ``RUN_DIR/index`` if it
            exists, else the run's codes.npz.
        scan: the scan implementation (``scan.SCANNERS``): "numpy" (exact, the evaluator's order), or a
            FAISS one (``pip install ".[faiss]"``; docs/search.md, "Search at scale").
        scan_options: keyword arguments of the scan (``nprobe`` for faiss-ivf, ``nflip`` for faiss-multihash).
    """

    def __init__(self, opened, index_dir: str | None = None, scan: str = "numpy", scan_options: dict | None = None):
        self.opened = opened
        self.scan_kind = scan
        self.scan_options = dict(scan_options or {})
        default = os.path.join(opened.run_dir, search_index.INDEX_DIR)
        if index_dir is None and os.path.isdir(default):
            index_dir = default
        self.databases = {}
        self.source = "codes.npz"
        if index_dir is not None:
            loaded = search_index.load_index(index_dir)
            if loaded.manifest.get("run_id") != opened.run_id or loaded.bits != opened.bits:
                raise InputError(f"the index {index_dir} was written for run {loaded.manifest.get('run_id')} "
                                 f"({loaded.bits} bits), not {opened.run_id}; write it again with "
                                 f"python -m sdch_tf.search index --run {opened.run_dir}")
            self.databases = loaded.databases
            self.source = f"index {loaded.directory}"
        self._scans = {}
        self._row_positions = None

    def database(self, modality: str) -> search_index.Database:
        if modality not in self.databases:
            self.databases[modality] = self.opened.database(modality)
        return self.databases[modality]

    def scan(self, modality: str):
        if modality not in self._scans:
            db = self.database(modality)
            self._scans[modality] = make_scan(db.codes, db.bits, self.scan_kind, **self.scan_options)
        return self._scans[modality]

    # ------------------------------------------------------------- query codes
    def item_code(self, row: int, modality: str) -> tuple[np.ndarray, str]:
        """The code of dataset row ``row``'s ``modality``: the evaluator's when the row is in the
        split (query set, else database), else encoded by the restored networks."""
        opened = self.opened
        if row >= opened.data.num_samples:
            raise InputError(f"--item {row}: the dataset {opened.data.name} has rows 0 … {opened.data.num_samples - 1}")
        if self._row_positions is None:
            self._row_positions = {"query": {int(r): i for i, r in enumerate(opened.split.query)},
                                   "db": {int(r): i for i, r in enumerate(opened.split.database)}}
        if row in self._row_positions["query"]:
            return opened.codes()[f"query_{modality}"][self._row_positions["query"][row]], "the run's query codes"
        if row in self._row_positions["db"]:
            return opened.codes()[f"db_{modality}"][self._row_positions["db"][row]], "the run's database codes"
        return opened.encode_rows(modality, np.asarray([row]))[0], "encoded"

    def query_code(self, query: Query) -> tuple[np.ndarray, str, list[str]]:
        """(int8 code (bits,), where it comes from, notes) of ``query``."""
        opened = self.opened
        if query.kind == "item":
            code, source = self.item_code(int(query.value), query.modality)
            return code, source, []
        if query.kind == "image":
            image = read_image_file(str(query.value), opened.image_size())
            return opened.encode_images(image[None])[0], "encoded", []
        vector, unknown = bag_of_words(str(query.value), opened.metadata.vocabulary, opened.data.text_dim,
                                       binary=_binary_texts(opened.data.texts), where=query.where or "--text",
                                       vocabulary_file=self.vocabulary_file())
        notes = [f"{query.where or '--text'}: not in the vocabulary, ignored: {' '.join(unknown)}"] if unknown else []
        return opened.encode_texts(vector[None])[0], "encoded", notes

    def vocabulary_file(self) -> str | None:
        """The vocabulary file looked for (for messages), None when the dataset has no data directory."""
        data_dir = self.opened.data_dir
        return None if data_dir is None else os.path.join(data_dir, "vocabulary.txt")

    # ---------------------------------------------------------------- ranking
    def search(self, queries: list[Query], k: int = 10, target: str | None = None) -> tuple[list[dict], list[str]]:
        """One answer record (``query.answer_record``) per query, and the notes to show."""
        records, notes = [], []
        for query in queries:
            code, source, query_notes = self.query_code(query)
            notes += query_notes
            modality = target or OTHER[query.modality]
            indices, distances = self.scan(modality).search(pack_codes(code[None]), k)
            found = indices[0] >= 0  # an approximate scan (faiss-ivf, faiss-multihash) may find fewer than k
            records.append(answer_record(self.opened, query, code, source, modality, indices[0][found],
                                         distances[0][found], self.database(modality)))
        return records, notes


def _binary_texts(texts: np.ndarray) -> bool:
    """Whether the texts are 0/1 (the DCMH files' and the synthetic set's) rather than counts."""
    sample = np.asarray(texts[: min(len(texts), 2000)])
    return bool(np.isin(sample, (0.0, 1.0)).all())

