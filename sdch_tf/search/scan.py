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
with ``search(query rows, k) -> (indices, distances)``. The numpy scan is the only one here; a
FAISS binary index (``faiss.IndexBinaryFlat``) can be added beside it under another name, with
the caveat that FAISS does not promise the database order among ties.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

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


# Scan implementations by name (a later FAISS binary index goes here).
SCANNERS = {"numpy": PackedScan}


def make_scan(db_packed: np.ndarray, bits: int, kind: str = "numpy") -> Scan:
    """The scan ``kind`` (``SCANNERS``) over a packed database."""
    try:
        return SCANNERS[kind](db_packed, bits)
    except KeyError:
        raise ValueError(f"unknown scan {kind!r}; available: {', '.join(sorted(SCANNERS))}") from None
