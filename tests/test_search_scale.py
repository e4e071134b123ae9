"""The FAISS scans of sdch_tf.search.scan (issue 18, "Search at scale"): the exact FAISS flat scan
gives the numpy scan's answers, ties in database order included; an approximate index finds most of
the true neighbours of clustered codes; without FAISS, asking for a FAISS scan is an InputError
saying how to install it."""
from __future__ import annotations

import builtins

import numpy as np
import pytest

from sdch_tf.input_errors import InputError
from sdch_tf.search import scan


def clustered_packed(rng: np.random.Generator, n: int, bits: int, centres: int, flip: float) -> np.ndarray:
    """Packed codes: a random centre of ``centres``, each bit flipped with probability ``flip``."""
    centre_codes = rng.integers(0, 2, size=(centres, bits), dtype=np.uint8)
    codes = centre_codes[rng.integers(0, centres, size=n)] ^ (rng.random((n, bits)) < flip).astype(np.uint8)
    return np.packbits(codes, axis=1)


@pytest.mark.parametrize("bits", [8, 16, 24, 64])
def test_faiss_flat_equals_numpy_scan_with_ties(bits):
    pytest.importorskip("faiss")
    rng = np.random.default_rng(bits)
    # Few distinct codes: hundreds of items share each distance, so which tied items make the top k
    # and their order is decided by the tie rule (database order) alone.
    db = clustered_packed(rng, 6000, bits, centres=12, flip=0.03)
    queries = np.concatenate([db[:5], clustered_packed(rng, 15, bits, centres=12, flip=0.03)])
    exact = scan.make_scan(db, bits, "numpy")
    flat = scan.make_scan(db, bits, "faiss-flat")
    for k in (1, 10, 100, 700, len(db)):
        rows, dist = exact.search(queries, k)
        found, found_dist = flat.search(queries, k)
        assert found.dtype == np.int64 and found_dist.dtype == np.int64
        np.testing.assert_array_equal(found, rows)
        np.testing.assert_array_equal(found_dist, dist)
    # The ties really were decided by the rule: more items at the 10th distance than FAISS's 2k
    # candidates (so the range-search path ran too).
    rows, dist = exact.search(queries, 10)
    full = exact.distances(queries)
    assert max(int((full[i] <= dist[i, -1]).sum()) for i in range(len(queries))) > 20


def test_faiss_flat_matches_evaluator_order_on_a_memory_map(tmp_path):
    pytest.importorskip("faiss")
    rng = np.random.default_rng(3)
    codes = np.lib.format.open_memmap(str(tmp_path / "codes.npy"), mode="w+", dtype=np.uint8, shape=(3000, 2))
    codes[:] = clustered_packed(rng, 3000, 16, centres=4, flip=0.05)
    codes.flush()
    db = np.load(str(tmp_path / "codes.npy"), mmap_mode="r")
    query = db[7:8]
    found, found_dist = scan.make_scan(db, 16, "faiss-flat").search(query, 25)
    distances = scan.PackedScan(np.asarray(db), 16).distances(query)[0]
    order = np.argsort(distances, kind="stable")[:25]
    np.testing.assert_array_equal(found[0], order)
    np.testing.assert_array_equal(found_dist[0], distances[order])


def test_approximate_indexes_recall_on_clustered_codes():
    pytest.importorskip("faiss")
    bits, n = 64, 40_000
    # Queries drawn around the database's centres (the last 50 draws, not in the database).
    both = clustered_packed(np.random.default_rng(0), n + 50, bits, centres=100, flip=0.1)
    db, queries = both[:n], both[n:]
    rows, dist = scan.make_scan(db, bits, "numpy").search(queries, 10)

    ivf = scan.make_scan(db, bits, "faiss-ivf", nprobe=64)
    assert ivf.nlist == scan.ivf_lists(n) == 4 * int(np.sqrt(n))
    found, found_dist = ivf.search(queries, 10)
    by_ids = np.mean([len(np.intersect1d(f, e)) / 10 for f, e in zip(found, rows)])
    assert by_ids >= 0.9, by_ids
    assert np.mean(found_dist == dist) >= 0.95
    # Exact distances of what it finds, in (distance, index) order.
    exact = scan.PackedScan(db, bits).distances(queries)
    for q in range(len(queries)):
        np.testing.assert_array_equal(found_dist[q], exact[q][found[q]])
        assert list(zip(found_dist[q], found[q])) == sorted(zip(found_dist[q], found[q]))
    ivf.nprobe = ivf.nlist  # every list visited: exhaustive, exact distances
    assert np.array_equal(ivf.search(queries, 10)[1], dist)

    multihash = scan.make_scan(db, bits, "faiss-multihash", nflip=2)
    found, found_dist = multihash.search(queries, 10)
    assert np.mean(found_dist == dist) >= 0.9


def test_approximate_index_pads_with_minus_one():
    pytest.importorskip("faiss")
    rng = np.random.default_rng(5)
    db = rng.integers(0, 256, size=(2000, 8), dtype=np.uint8)
    multihash = scan.make_scan(db, 64, "faiss-multihash", nflip=0)  # exact substring matches only
    found, found_dist = multihash.search(rng.integers(0, 256, size=(3, 8), dtype=np.uint8), 10)
    assert found.shape == (3, 10)
    assert (found == -1).any() and np.array_equal(found == -1, found_dist == -1)


@pytest.mark.parametrize("kind", ["faiss-flat", "faiss-ivf", "faiss-multihash"])
def test_faiss_scan_without_faiss_is_an_input_error(monkeypatch, kind):
    real_import = builtins.__import__

    def no_faiss(name, *args, **kwargs):
        if name == "faiss" or name.startswith("faiss."):
            raise ImportError("No module named 'faiss'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_faiss)
    monkeypatch.delitem(__import__("sys").modules, "faiss", raising=False)
    db = np.zeros((10, 8), np.uint8)
    with pytest.raises(InputError, match=r'pip install "\.\[faiss\]"') as error:
        scan.make_scan(db, 64, kind)
    assert kind in str(error.value)
    # The numpy scan needs no FAISS.
    assert scan.make_scan(db, 64, "numpy").search(db[:1], 3)[0].shape == (1, 3)


def test_unknown_scan_is_an_input_error():
    with pytest.raises(InputError, match="unknown scan 'annoy'; available: faiss-flat, faiss-ivf"):
        scan.make_scan(np.zeros((4, 2), np.uint8), 16, "annoy")


def test_the_scan_names_of_the_command_line_are_the_scanners():
    from sdch_tf.search import __main__ as search

    assert set(search.SCAN_NAMES) == set(scan.SCANNERS)
