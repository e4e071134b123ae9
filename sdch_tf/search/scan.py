"""Hamming ranking of packed codes: the exact scan behind ``python -m sdch_tf.search``.

Codes are stored as the evaluator's run files store them (``run.experiment.save_codes``):
``np.packbits(codes > 0, axis=1)``, one uint8 row of ceil(r / 8) bytes per item. The Hamming
distance of two codes is the popcount of the XOR of their rows, whatever the bit order, since
the padding bits of the last byte are zero in both.

The ranking is the evaluator's (``sdch_tf.retrieval.metrics``, docs/reproduction.md §3):
ascending Hamming distance, ties in database order — the order of
``np.argsort(distances, kind="stable")``. It is exact, not approximate, and needs no
TensorFlow: a query is one XOR + popcount pass over the database viewed as words (uint16 for
16-bit codes, uint32 for 32, uint64 beyond), a count of the items under a few candidate
distances to find the cut distance d* of the top k, and a stable sort of only the items at
distance <= d*.

``SCANNERS`` names the scan implementations; a scan is a class built from the packed database
with ``search(query rows, k) -> (indices, distances)``:

- ``numpy`` (the default): the exact scan above, the evaluator's order.
- ``faiss-flat``: FAISS's exhaustive ``IndexBinaryFlat`` (exact distances). FAISS keeps no database
  order among ties, so the scan fetches 2k and re-sorts the candidates by (distance, index); when
  the ties at the k-th distance run past what was fetched it takes every item at or under that
  distance by a range search: the same indices and distances as ``numpy``, ties included.
- ``faiss-ivf``: FAISS's approximate ``IndexBinaryIVF`` (k-means lists, ``nprobe`` of them visited).
- ``faiss-multihash``: FAISS's approximate ``IndexBinaryMultiHash`` (multi-index hashing).

The approximate scans return exact distances of the items they find, in (distance, index) order,
but may miss some of the true top k (recall < 1; ``benchmarks/bench_search.py --scale`` measures
it); a query whose visited lists or buckets hold fewer than k items gets index and distance -1 in
the missing places. FAISS is optional (``pip install ".[faiss]"``) and imported only when a FAISS
scan is built; FAISS keeps its own copy of the codes (8 bytes an item at 64 bits, plus 8 bytes of
id an item for the IVF and the hash tables). docs/search.md, "Search at scale", says which to use.
"""
from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from sdch_tf.input_errors import InputError

def pack_codes(codes) -> np.ndarray:
    """Codes in {−1, +1} (n, r), any dtype -> uint8 (n, ceil(r / 8)), ``np.packbits(codes > 0, axis=1)``:
    the rows of codes.npz and of a search index."""
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(f"codes must have shape (n, bits), got {codes.shape}")
    return np.packbits(codes > 0, axis=1)


def unpack_codes(packed: np.ndarray, bits: int) -> np.ndarray:
    """``pack_codes``' rows (n, ceil(r / 8)) back to int8 codes in {−1, +1} (n, r)."""
    bits01 = np.unpackbits(np.asarray(packed, np.uint8), axis=1, count=int(bits))
    return np.where(bits01 > 0, 1, -1).astype(np.int8)


def as_words(packed: np.ndarray) -> np.ndarray:
    """uint8 rows (n, B) -> unsigned words (n, W), zero-padded: XOR and popcount a word at a time.

    The narrowest word that holds a row (uint16 for 16-bit codes, uint32 for 32-bit), else uint64
    words: a query reads B rounded up to the word per item, so short codes move less memory.
    """
    packed = np.ascontiguousarray(packed, np.uint8)
    n, width = packed.shape
    size = next((s for s in (1, 2, 4) if width <= s), 8)
    padded_width = -(-width // size) * size
    if width != padded_width:
        padded = np.zeros((n, padded_width), np.uint8)
        padded[:, :width] = packed
        packed = padded
    return packed.view(np.dtype(f"u{size}")).reshape(n, padded_width // size)


def hamming_distances(query_words: np.ndarray, db_words: np.ndarray) -> np.ndarray:
    """Hamming distances (q, N), uint8 for r < 256 (else uint16), of words (q, W) and (N, W) (``as_words``)."""
    dtype = np.uint8 if 8 * db_words.itemsize * db_words.shape[1] < 256 else np.uint16
    if db_words.shape[1] == 1:
        # One word per code: the popcount is the distance, no sum over words.
        return np.bitwise_count(query_words[:, :1] ^ db_words[:, 0][None, :]).astype(dtype, copy=False)
    out = np.zeros((query_words.shape[0], db_words.shape[0]), dtype)
    for w in range(db_words.shape[1]):
        out += np.bitwise_count(query_words[:, w:w + 1] ^ db_words[:, w][None, :]).astype(dtype, copy=False)
    return out


# Items sampled to estimate the cut distance; the estimate only decides where the exact counts start.
_SAMPLE = 8192


def cut_distance(distances: np.ndarray, k: int, bits: int) -> int:
    """d* = the smallest d with #(distances <= d) >= k, for 1 <= k <= N.

    A histogram of a strided sample of the distances guesses d*; exact counts then step from the
    guess (usually one or two passes over the N distances, against a full histogram's costlier one).
    """
    n = distances.shape[0]
    stride = max(1, n // _SAMPLE)
    sample = distances[::stride]
    estimated = np.cumsum(np.bincount(sample, minlength=bits + 1)) * (n / len(sample))
    guess = min(int(np.searchsorted(estimated, k)), bits)
    if np.count_nonzero(distances <= guess) >= k:
        while guess > 0 and np.count_nonzero(distances <= guess - 1) >= k:
            guess -= 1
        return guess
    guess += 1
    while np.count_nonzero(distances <= guess) < k:
        guess += 1
    return guess


def top_k_stable(distances: np.ndarray, k: int, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """The top ``k`` of one query's distances (N,) in the evaluator's order.

    Equal to ``order = np.argsort(distances, kind="stable")[:k]`` and ``distances[order]``:
    only the items at distance <= d* (``cut_distance``) — in database order, as ``flatnonzero``
    gives them — are stably sorted.

    Returns:
        indices: int64 (min(k, N),) database positions, best first.
        distances: int64 (min(k, N),) their Hamming distances.
    """
    k = min(int(k), distances.shape[0])
    if k < 1:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    candidates = np.flatnonzero(distances <= cut_distance(distances, k, bits))
    order = candidates[np.argsort(distances[candidates], kind="stable")[:k]]
    return order.astype(np.int64), distances[order].astype(np.int64)


class Scan(Protocol):
    """A search structure over a packed database: ``search`` returns each query's top k."""

    def search(self, query_packed: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...


class PackedScan:
    """Exhaustive XOR/popcount scan over packed codes, in the evaluator's ranking order.

    Args:
        db_packed: uint8 (N, ceil(r / 8)), ``pack_codes`` of the database in database order.
        bits: r.
    """

    def __init__(self, db_packed: np.ndarray, bits: int):
        db_packed = np.asarray(db_packed, np.uint8)
        if db_packed.ndim != 2 or db_packed.shape[1] != -(-int(bits) // 8):
            raise ValueError(f"packed {bits}-bit codes have {-(-int(bits) // 8)} bytes per row, got {db_packed.shape}")
        self.bits = int(bits)
        self.size = db_packed.shape[0]
        self.db_words = as_words(db_packed)
        # Each word position as a contiguous column: the XOR of a query reads it sequentially.
        self.db_columns = [np.ascontiguousarray(self.db_words[:, w]) for w in range(self.db_words.shape[1])]

    def distances(self, query_packed: np.ndarray) -> np.ndarray:
        """Hamming distances (q, N) of packed queries (q, ceil(r / 8)) to every database item."""
        return hamming_distances(as_words(np.atleast_2d(query_packed)), self.db_words)

    def search(self, query_packed: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` of each packed query (q, ceil(r / 8)): int64 indices and distances (q, min(k, N)),
        best first, ties in database order."""
        query_words = as_words(np.atleast_2d(query_packed))
        depth = min(int(k), self.size)
        indices = np.zeros((query_words.shape[0], depth), np.int64)
        found = np.zeros((query_words.shape[0], depth), np.int64)
        # One query at a time through buffers reused across queries: a (q, N) block of XORs would
        # not stay in cache, and fresh temporaries of N words cost page faults on every call.
        xor = np.empty(self.size, self.db_words.dtype)
        ones = np.empty(self.size, np.uint8)
        dist = np.empty(self.size, np.uint8 if self.bits < 256 else np.uint16)
        for i, words in enumerate(query_words):
            for w in range(self.db_words.shape[1]):
                np.bitwise_xor(self.db_columns[w], words[w], out=xor)
                if w == 0:
                    np.bitwise_count(xor, out=ones if dist.dtype != np.uint8 else dist)
                    if dist.dtype != np.uint8:
                        dist[:] = ones
                else:
                    np.bitwise_count(xor, out=ones)
                    dist += ones
            indices[i], found[i] = top_k_stable(dist, depth, self.bits)
        return indices, found


# ------------------------------------------------------------------ FAISS binary indexes (optional)

FAISS_EXTRA = 'pip install ".[faiss]"'

# Rows handed to FAISS's add() at a time: a memory-mapped database is read (and copied into FAISS)
# one chunk at a time, never whole.
FAISS_ADD_CHUNK = 1_000_000

# IVF lists: the FAISS wiki ("Guidelines to choose an index") gives K = 4·sqrt(N) to 16·sqrt(N)
# lists, trained on 30·K to 256·K vectors; FAISS's k-means warns below 39 points a centroid
# (ClusteringParameters.min_points_per_centroid). We take the low end, 4·sqrt(N) lists and 40 training
# points a list, capped at 2^14 lists: the binary IVF trains float k-means on the unpacked bits and
# assigns every item to its list with an exhaustive (flat) quantizer, both O(lists) an item: on
# 2 CPU cores, 2^14 lists at 100M items took 10 minutes to build (docs/search.md, "Search at scale"),
# and 4·sqrt(N) = 40,000 lists would take well over half an hour (extrapolated). nprobe = 16 lists
# visited a query by default: recall@10 by distance 1.000 on the clustered benchmark codes at 1M-100M.
IVF_LISTS_PER_SQRT_N = 4
IVF_MAX_LISTS = 2 ** 14
IVF_TRAIN_PER_LIST = 40
IVF_NPROBE = 16

# Multi-index hashing (Norouzi et al., CVPR 2012; FAISS wiki "Binary hashing index benchmark"):
# the code cut into nhash disjoint substrings of b bits, one hash table each; a query visits, in
# every table, the buckets within nflip bit flips of its substring. An item within Hamming distance
# nhash·(nflip + 1) − 1 of the query is always found (pigeonhole); 16-bit substrings (65,536 buckets)
# and nflip = 1 find all items within 7 of a query at 64 bits.
MULTIHASH_BITS = 16
MULTIHASH_NFLIP = 1


def import_faiss(kind: str):
    """The ``faiss`` module, or an InputError saying how to install it (FAISS is an optional extra)."""
    try:
        import faiss
    except ImportError as e:
        raise InputError(f"the {kind!r} scan needs FAISS, which is not installed here ({e}); install it with "
                         f"{FAISS_EXTRA} (the faiss-cpu package), or use the default numpy scan") from None
    return faiss


def ivf_lists(n: int) -> int:
    """The number of IVF lists for a database of n items: 4·sqrt(n), at most 2^14, and at most
    n / IVF_TRAIN_PER_LIST so that every list has its training points."""
    return max(1, min(IVF_LISTS_PER_SQRT_N * math.isqrt(n), IVF_MAX_LISTS, n // IVF_TRAIN_PER_LIST))


def _sort_candidates(indices: np.ndarray, distances: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``depth`` of FAISS candidates in (distance, index) order; FAISS's empty slots
    (index -1) last, reported as index and distance -1."""
    indices = np.asarray(indices, np.int64)
    distances = np.asarray(distances, np.int64)
    missing = indices < 0
    order = np.lexsort((indices, np.where(missing, np.iinfo(np.int64).max, distances)))[:depth]
    out_i, out_d = indices[order], distances[order]
    out_d[out_i < 0] = -1
    if len(out_i) < depth:  # a range search's candidates are never fewer than depth; kept for safety
        out_i = np.concatenate([out_i, np.full(depth - len(out_i), -1, np.int64)])
        out_d = np.concatenate([out_d, np.full(depth - len(out_d), -1, np.int64)])
    return out_i, out_d


class FaissScan:
    """Base of the FAISS scans: a FAISS binary index over the packed rows (FAISS's dimension is the
    row's 8·ceil(r / 8) bits; the zero padding bits do not change a Hamming distance), filled
    FAISS_ADD_CHUNK rows at a time.

    Args:
        db_packed: uint8 (N, ceil(r / 8)) in database order; a memory-mapped array is read a chunk
            at a time.
        bits: r.
    """

    kind = "faiss"

    def __init__(self, db_packed: np.ndarray, bits: int):
        faiss = import_faiss(self.kind)
        db_packed = np.asarray(db_packed)  # a memory map stays one (no copy)
        if db_packed.ndim != 2 or db_packed.shape[1] != -(-int(bits) // 8) or db_packed.dtype != np.uint8:
            raise ValueError(f"packed {bits}-bit codes are uint8 with {-(-int(bits) // 8)} bytes per row, got "
                             f"{db_packed.dtype} {db_packed.shape}")
        self.faiss = faiss
        self.bits = int(bits)
        self.size = db_packed.shape[0]
        self.dimension = 8 * db_packed.shape[1]
        self.index = self._build(db_packed)

    def _build(self, db_packed: np.ndarray):
        raise NotImplementedError

    def _add(self, index, db_packed: np.ndarray) -> None:
        for start in range(0, self.size, FAISS_ADD_CHUNK):
            index.add(np.ascontiguousarray(db_packed[start:start + FAISS_ADD_CHUNK], np.uint8))

    def _queries(self, query_packed: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.atleast_2d(query_packed), np.uint8)

    def search(self, query_packed: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` of each packed query (q, ceil(r / 8)): int64 indices and distances (q, min(k, N)),
        in (distance, index) order; -1 where an approximate index found fewer than k items."""
        queries = self._queries(query_packed)
        depth = min(int(k), self.size)
        if depth < 1:
            return np.zeros((len(queries), 0), np.int64), np.zeros((len(queries), 0), np.int64)
        distances, indices = self.index.search(queries, depth)
        pairs = [_sort_candidates(i, d, depth) for i, d in zip(indices, distances)]
        return (np.stack([p[0] for p in pairs]).reshape(len(queries), depth),
                np.stack([p[1] for p in pairs]).reshape(len(queries), depth))


class FaissFlatScan(FaissScan):
    """FAISS's exhaustive ``IndexBinaryFlat``: the exact top k with the evaluator's tie order.

    FAISS's own order among equal distances is not the database order, and which of several items
    tied at the k-th distance it keeps is unspecified. The scan fetches 2k candidates; when the
    2k-th distance is beyond the k-th, every item at or under the k-th distance is among them, and a
    stable (distance, index) sort gives the evaluator's top k. Otherwise (more than 2k items at or
    under the k-th distance) a range search collects all of them first (a second pass for that
    query).
    """

    kind = "faiss-flat"

    def _build(self, db_packed: np.ndarray):
        index = self.faiss.IndexBinaryFlat(self.dimension)
        self._add(index, db_packed)
        return index

    def search(self, query_packed: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = self._queries(query_packed)
        depth = min(int(k), self.size)
        out_i = np.zeros((len(queries), max(depth, 0)), np.int64)
        out_d = np.zeros((len(queries), max(depth, 0)), np.int64)
        if depth < 1:
            return out_i, out_d
        fetch = min(self.size, 2 * depth)
        distances, indices = self.index.search(queries, fetch)
        for row in range(len(queries)):
            cut = int(distances[row, depth - 1])
            cand_i, cand_d = indices[row], distances[row]
            if fetch < self.size and distances[row, fetch - 1] <= cut:
                # The ties at the cut may run past the 2k fetched: take every item at distance <= cut
                # (FAISS's range search returns the distances < radius).
                _, cand_d, cand_i = self.index.range_search(queries[row:row + 1], cut + 1)
            out_i[row], out_d[row] = _sort_candidates(cand_i, cand_d, depth)
        return out_i, out_d


class FaissIVFScan(FaissScan):
    """FAISS's approximate ``IndexBinaryIVF``: k-means lists (``ivf_lists``) trained on a sample of
    IVF_TRAIN_PER_LIST items a list, ``nprobe`` lists visited a query (more: higher recall, slower).

    Args:
        db_packed, bits: as ``FaissScan``.
        nprobe: lists visited a query (default IVF_NPROBE).
        nlist: lists (default ``ivf_lists(N)``).
        seed: the training sample and k-means seed.
    """

    kind = "faiss-ivf"

    def __init__(self, db_packed: np.ndarray, bits: int, nprobe: int = IVF_NPROBE, nlist: int | None = None,
                 seed: int = 0):
        self.nlist = int(nlist) if nlist else ivf_lists(db_packed.shape[0])
        self.seed = int(seed)
        self._nprobe = int(nprobe)
        super().__init__(db_packed, bits)

    def _build(self, db_packed: np.ndarray):
        faiss = self.faiss
        # The IVF index borrows its quantizer: keep a reference as long as the index.
        self.quantizer = faiss.IndexBinaryFlat(self.dimension)
        index = faiss.IndexBinaryIVF(self.quantizer, self.dimension, self.nlist)
        index.cp.seed = self.seed
        rng = np.random.default_rng(self.seed)
        sample = min(self.size, IVF_TRAIN_PER_LIST * self.nlist)
        rows = np.sort(rng.choice(self.size, size=sample, replace=False)) if sample < self.size else slice(None)
        index.train(np.ascontiguousarray(db_packed[rows], np.uint8))
        self._add(index, db_packed)
        index.nprobe = min(self._nprobe, self.nlist)
        return index

    @property
    def nprobe(self) -> int:
        return int(self.index.nprobe)

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self.index.nprobe = max(1, min(int(value), self.nlist))


class FaissMultiHashScan(FaissScan):
    """FAISS's approximate ``IndexBinaryMultiHash``: bits // MULTIHASH_BITS hash tables on disjoint
    substrings, the buckets within ``nflip`` flips visited; every item within distance
    nhash·(nflip + 1) − 1 is found, farther ones only by chance (recall depends on how close the
    neighbours are: good on clustered codes, poor on uniform ones).

    Args:
        db_packed, bits: as ``FaissScan``.
        nflip: bit flips a substring (default MULTIHASH_NFLIP).
    """

    kind = "faiss-multihash"

    def __init__(self, db_packed: np.ndarray, bits: int, nflip: int = MULTIHASH_NFLIP):
        self._nflip = int(nflip)
        super().__init__(db_packed, bits)

    def _build(self, db_packed: np.ndarray):
        b = min(MULTIHASH_BITS, self.dimension)
        index = self.faiss.IndexBinaryMultiHash(self.dimension, self.dimension // b, b)
        index.nflip = self._nflip
        self._add(index, db_packed)
        return index

    @property
    def nflip(self) -> int:
        return int(self.index.nflip)

    @nflip.setter
    def nflip(self, value: int) -> None:
        self.index.nflip = int(value)


# Scan implementations by name; the FAISS ones need the optional faiss-cpu package.
SCANNERS = {"numpy": PackedScan, "faiss-flat": FaissFlatScan, "faiss-ivf": FaissIVFScan,
            "faiss-multihash": FaissMultiHashScan}


def make_scan(db_packed: np.ndarray, bits: int, kind: str = "numpy", **options) -> Scan:
    """The scan ``kind`` (``SCANNERS``) over a packed database; ``options`` go to its constructor
    (``nprobe`` for faiss-ivf, ``nflip`` for faiss-multihash)."""
    try:
        scanner = SCANNERS[kind]
    except KeyError:
        raise InputError(f"unknown scan {kind!r}; available: {', '.join(sorted(SCANNERS))}") from None
    return scanner(db_packed, bits, **options)
