"""Latency of one search query: the packed XOR/popcount scan of ``python -m sdch_tf.search`` against a
naive baseline, on a million random codes.

    python benchmarks/bench_search.py [--num-db 1000000] [--bits 16 32 64] [--k 10]
                                      [--queries 50] [--baseline-queries 10] [--seed 0]

For each code length: a database of ``--num-db`` uniformly random codes (the worst case for the
top-k cut: distances pile up around r/2), generated and packed in chunks of 100,000 as the
index stores them (``np.packbits(codes > 0, axis=1)``, r/8 bytes an item). Timed, per query:

- scan: ``sdch_tf.search.scan.PackedScan.search`` — XOR + popcount over uint64 words, a
  histogram of the r + 1 distances for the cut, a stable sort of the items at or under it;
- batch: the same for all ``--queries`` queries in one call (the per-query share);
- naive: the database unpacked to a float32 ±1 matrix (N, r), distances (r − D q)/2 by a
  matrix–vector product, ``np.argsort(kind="stable")``, the first k.

Both give the evaluator's ranking (ascending distance, ties in database order); the script
checks that they agree item for item. Memory: the packed database, the naive matrix, and the
peak of the numpy allocations of one scan query (tracemalloc). Wall-clock on whatever else the
machine runs: read the figures as rough. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import tracemalloc

# Runnable from a checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from sdch_tf.search.scan import PackedScan, unpack_codes  # noqa: E402

CHUNK = 100_000


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def random_packed(rng: np.random.Generator, n: int, bits: int) -> np.ndarray:
    """uint8 (n, ceil(bits / 8)) packed uniformly random codes, drawn CHUNK rows at a time; the
    padding bits of the last byte are zero, as np.packbits leaves them."""
    width = -(-bits // 8)
    packed = np.empty((n, width), np.uint8)
    mask = np.uint8((0xFF << (8 * width - bits)) & 0xFF)
    for start in range(0, n, CHUNK):
        block = rng.integers(0, 256, size=(min(CHUNK, n - start), width), dtype=np.uint8)
        block[:, -1] &= mask
        packed[start:start + len(block)] = block
    return packed


def naive_matrix(packed: np.ndarray, bits: int) -> np.ndarray:
    """float32 ±1 (n, bits), unpacked CHUNK rows at a time."""
    matrix = np.empty((packed.shape[0], bits), np.float32)
    for start in range(0, packed.shape[0], CHUNK):
        matrix[start:start + CHUNK] = unpack_codes(packed[start:start + CHUNK], bits)
    return matrix


def naive_search(matrix: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top k of one ±1 query (bits,): distances by a matrix product, a full stable argsort."""
    distances = (matrix.shape[1] - matrix @ query.astype(np.float32)) * 0.5  # small integers: exact
    order = np.argsort(distances, kind="stable")[:k]
    return order, distances[order].astype(np.int64)


def per_query_ms(fn, queries) -> list[float]:
    times = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        times.append(1000 * (time.perf_counter() - start))
    return times


def run(bits: int, args, rng: np.random.Generator) -> dict:
    start = time.perf_counter()
    db = random_packed(rng, args.num_db, bits)
    queries = random_packed(rng, args.queries, bits)
    generated = time.perf_counter() - start
    scan = PackedScan(db, bits)
    print(f"\n== {bits} bits: {args.num_db:,} database codes ({db.nbytes / 2**20:.1f} MiB packed, generated in "
          f"{generated:.1f} s), top {args.k}, {args.queries} queries")

    scan.search(queries[:1], args.k)  # warm-up
    scan_times = per_query_ms(lambda q: scan.search(q[None], args.k), queries)
    start = time.perf_counter()
    batch_rows, batch_dist = scan.search(queries, args.k)
    batch_ms = 1000 * (time.perf_counter() - start) / len(queries)

    tracemalloc.start()
    scan.search(queries[:1], args.k)
    _, scan_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    matrix = naive_matrix(db, bits)
    query_codes = unpack_codes(queries, bits)
    subset = query_codes[: args.baseline_queries]
    naive_times = per_query_ms(lambda q: naive_search(matrix, q, args.k), subset)
    agree = all(np.array_equal(naive_search(matrix, q, args.k)[0], batch_rows[i])
                and np.array_equal(naive_search(matrix, q, args.k)[1], batch_dist[i])
                for i, q in enumerate(subset))

    scan_ms, naive_ms = statistics.median(scan_times), statistics.median(naive_times)
    print(f"scan  : median {scan_ms:8.2f} ms/query (min {min(scan_times):.2f}, max {max(scan_times):.2f}); "
          f"peak temporaries {scan_peak / 2**20:.1f} MiB")
    print(f"batch : {batch_ms:8.2f} ms/query ({args.queries} queries in one call)")
    print(f"naive : median {naive_ms:8.2f} ms/query over {len(subset)} queries; ±1 float32 matrix "
          f"{matrix.nbytes / 2**20:.0f} MiB")
    print(f"speed-up naive / scan: {naive_ms / scan_ms:.1f}x; memory naive matrix / packed codes: "
          f"{matrix.nbytes / db.nbytes:.0f}x; same top {args.k} (ids and distances): {'yes' if agree else 'NO'}")
    return {"bits": bits, "scan_ms": scan_ms, "batch_ms": batch_ms, "naive_ms": naive_ms,
            "packed_mib": db.nbytes / 2**20, "naive_mib": matrix.nbytes / 2**20, "peak_mib": scan_peak / 2**20,
            "agree": agree}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-db", type=int, default=1_000_000)
    parser.add_argument("--bits", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--queries", type=int, default=50, help="queries timed on the scan")
    parser.add_argument("--baseline-queries", type=int, default=10, help="queries timed on the naive baseline")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; numpy {np.__version__}; seed {args.seed}")
    rng = np.random.default_rng(args.seed)
    rows = [run(bits, args, rng) for bits in args.bits]
    print(f"\n{'bits':>4} {'scan ms/q':>10} {'batch ms/q':>11} {'naive ms/q':>11} {'speed-up':>9} "
          f"{'packed MiB':>11} {'naive MiB':>10} {'scan peak MiB':>14} {'same':>5}")
    for r in rows:
        print(f"{r['bits']:>4} {r['scan_ms']:>10.2f} {r['batch_ms']:>11.2f} {r['naive_ms']:>11.2f} "
              f"{r['naive_ms'] / r['scan_ms']:>8.1f}x {r['packed_mib']:>11.1f} {r['naive_mib']:>10.0f} "
              f"{r['peak_mib']:>14.1f} {'yes' if r['agree'] else 'NO':>5}")


if __name__ == "__main__":
    main()
