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

Search at scale (``--scale``; the FAISS indexes need ``pip install ".[faiss]"``):

    python benchmarks/bench_search.py --scale [--sizes 1000000 10000000 100000000] [--bits 64]
            [--codes clustered|uniform] [--indexes numpy faiss-flat faiss-ivf faiss-multihash]
            [--nprobe 1 4 16 64] [--nflip 1 2] [--queries 100] [--k 10] [--tmp DIR]

For each size: the codes are generated SCALE_CHUNK (1M) rows at a time straight into a memory-mapped
``.npy`` file in a temporary directory (``np.lib.format.open_memmap``), so they are never held twice;
the numpy scan reads the memory map, the FAISS indexes copy the codes in chunk by chunk (FAISS holds
its own copy, counted). ``clustered`` codes (the default): SCALE_CENTRES = 1,000 uniformly random
centres, each item a random centre with every bit flipped with probability 1/8 (the AND of three
random bits); the queries are fresh draws from the same distribution. Hashing codes of real data
have such structure; ``uniform`` codes have none and are the worst case for an approximate index.
Per index: build seconds, ms per query (one at a time, and the per-query share of one batch of all
``--queries``), recall@k against the exact numpy scan over the ``--queries`` queries — by ids (the
share of the exact top k found) and by distances (the share of ranks whose distance equals the
exact one: ties make different ids equally good) — and memory: what the index holds (the
memory-mapped codes for numpy; the serialized size of a FAISS index: its copy of the codes, ids,
lists or hash tables) and the peak RSS growth over the build and all searches (VmHWM of
/proc/self/status, reset through /proc/self/clear_refs; the numpy row's counts the scan's
temporaries, the codes' pages being resident since they were written).
"""
from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc

# Runnable from a checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from sdch_tf.machine import cpu_line  # noqa: E402
from sdch_tf.search import scan as search_scan  # noqa: E402
from sdch_tf.search.scan import PackedScan, unpack_codes  # noqa: E402

CHUNK = 100_000


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


# ------------------------------------------------------------------------------- --scale
SCALE_CHUNK = 1_000_000  # rows generated (and written to the memory map) at a time
SCALE_CENTRES = 1_000    # cluster centres of the clustered codes


def proc_status_mib(*keys: str) -> dict:
    """Fields of /proc/self/status (VmRSS, VmHWM, …) in MiB."""
    out = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in keys:
                out[key] = int(value.split()[0]) / 1024
    return out


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


class CodeSource:
    """Packed synthetic codes, drawn a block at a time: clustered (a random centre of SCALE_CENTRES,
    each bit flipped with probability 1/8) or uniform; padding bits zero."""

    def __init__(self, kind: str, bits: int, rng: np.random.Generator):
        self.kind, self.bits, self.rng = kind, bits, rng
        self.width = -(-bits // 8)
        self.mask = np.uint8((0xFF << (8 * self.width - bits)) & 0xFF)
        self.centres = rng.integers(0, 256, size=(SCALE_CENTRES, self.width), dtype=np.uint8)

    def draw(self, m: int) -> np.ndarray:
        rng = self.rng
        if self.kind == "uniform":
            block = rng.integers(0, 256, size=(m, self.width), dtype=np.uint8)
        else:
            flips = rng.integers(0, 256, size=(m, self.width), dtype=np.uint8)
            flips &= rng.integers(0, 256, size=(m, self.width), dtype=np.uint8)
            flips &= rng.integers(0, 256, size=(m, self.width), dtype=np.uint8)
            block = self.centres[rng.integers(0, SCALE_CENTRES, size=m)] ^ flips
        block[:, -1] &= self.mask
        return block


def write_codes(path: str, n: int, source: CodeSource) -> np.ndarray:
    """n codes written SCALE_CHUNK rows at a time into a memory-mapped .npy file, reopened read-only."""
    codes = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, source.width))
    for start in range(0, n, SCALE_CHUNK):
        codes[start:start + SCALE_CHUNK] = source.draw(min(SCALE_CHUNK, n - start))
    codes.flush()
    del codes
    return np.load(path, mmap_mode="r")


def recall(found: np.ndarray, found_dist: np.ndarray, exact: np.ndarray, exact_dist: np.ndarray) -> tuple[float, float]:
    """(recall@k by ids, by distances) of an index's answers against the exact ones."""
    k = exact.shape[1]
    by_ids = np.mean([len(np.intersect1d(f[f >= 0], e)) / k for f, e in zip(found, exact)])
    return float(by_ids), float(np.mean(found_dist == exact_dist))


def time_queries(index, queries: np.ndarray, k: int) -> tuple[float, float, np.ndarray, np.ndarray]:
    """(median ms of one query at a time, ms per query of one batch, the batch's indices and distances)."""
    index.search(queries[:1], k)  # warm-up
    single = per_query_ms(lambda q: index.search(q[None], k), queries)
    start = time.perf_counter()
    rows, dist = index.search(queries, k)
    batch_ms = 1000 * (time.perf_counter() - start) / len(queries)
    return statistics.median(single), batch_ms, rows, dist


def scale_run(n: int, args, rng: np.random.Generator, log) -> list[dict]:
    source = CodeSource(args.codes, args.scale_bits, rng)
    directory = tempfile.mkdtemp(prefix="bench_search_", dir=args.tmp)
    rows_out = []
    try:
        start = time.perf_counter()
        db = write_codes(os.path.join(directory, "codes.npy"), n, source)
        queries = source.draw(args.queries)
        log(f"\n== {n:,} {args.codes} {args.scale_bits}-bit codes ({db.nbytes / 2**20:.0f} MiB, memory-mapped, "
            f"written in {time.perf_counter() - start:.1f} s), top {args.k}, {args.queries} queries")

        def row(name, build_s, single, batch, rec, held, peak, note=""):
            r = {"n": n, "index": name, "build_s": build_s, "single_ms": single, "batch_ms": batch,
                 "recall_ids": rec[0], "recall_dist": rec[1], "held_mib": held, "peak_mib": peak, "note": note}
            rows_out.append(r)
            log(f"{name:<28} build {build_s:8.1f} s  single {single:9.3f} ms/q  batch {batch:9.3f} ms/q  "
                f"recall@{args.k} ids {rec[0]:.3f} dist {rec[1]:.3f}  holds {held:8.0f} MiB  peak +{peak:.0f} MiB"
                + (f"  ({note})" if note else ""))
            return r

        # The exact scan: the reference.
        rss0 = proc_status_mib("VmRSS")["VmRSS"]
        reset_peak_rss()
        start = time.perf_counter()
        exact = PackedScan(db, args.scale_bits)
        build_s = time.perf_counter() - start
        single, batch, exact_rows, exact_dist = time_queries(exact, queries, args.k)
        peak = proc_status_mib("VmHWM")["VmHWM"] - rss0
        tracemalloc.start()
        exact.search(queries[:1], args.k)
        _, temporaries = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        if "numpy" in args.indexes:
            row("numpy (exact)", build_s, single, batch, (1.0, 1.0), db.nbytes / 2**20, peak,
                f"codes memory-mapped; scan temporaries {temporaries / 2**20:.0f} MiB")
        del exact
        gc.collect()

        for kind in [i for i in args.indexes if i != "numpy"]:
            gc.collect()
            rss0 = proc_status_mib("VmRSS")["VmRSS"]
            reset_peak_rss()
            start = time.perf_counter()
            index = search_scan.make_scan(db, args.scale_bits, kind)
            build_s = time.perf_counter() - start
            held = proc_status_mib("VmRSS")["VmRSS"] - rss0
            settings = ([("nprobe", p) for p in args.nprobe] if kind == "faiss-ivf"
                        else [("nflip", f) for f in args.nflip] if kind == "faiss-multihash" else [(None, None)])
            results = []
            for name, value in settings:
                if name is not None:
                    setattr(index, name, value)
                results.append((kind + (f" {name}={value}" if name else ""), time_queries(index, queries, args.k)))
            peak = proc_status_mib("VmHWM")["VmHWM"] - rss0
            # What the index holds: its serialized size (codes, ids, lists or hash tables), once the
            # peak is read (serializing copies it); the RSS growth over the build is shown beside it.
            size_mib = index.faiss.serialize_index_binary(index.index).nbytes / 2**20
            note = f"RSS growth over the build {held:.0f} MiB"
            note += f"; {index.nlist} lists" if kind == "faiss-ivf" else ""
            for label, (single, batch, found, found_dist) in results:
                row(label, build_s, single, batch, recall(found, found_dist, exact_rows, exact_dist), size_mib, peak,
                    note)
            del index
            gc.collect()
        del db
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return rows_out


def scale_main(args) -> None:
    try:
        import faiss
        faiss_line = f"faiss {faiss.__version__} ({faiss.omp_get_max_threads()} OpenMP threads)"
    except ImportError:
        faiss_line = "faiss not installed"
        args.indexes = [i for i in args.indexes if not i.startswith("faiss")]

    def log(line=""):
        print(line, flush=True)

    log(f"{cpu_line()}; numpy {np.__version__}; {faiss_line}; seed {args.seed}")
    log(f"codes: {args.codes}" + (f" ({SCALE_CENTRES} centres, each bit flipped with probability 1/8)"
                                  if args.codes == "clustered" else ""))
    rng = np.random.default_rng(args.seed)
    rows = []
    for n in args.sizes:
        rows += scale_run(n, args, rng, log)
    log(f"\n| items | index | build s | ms/query | in a batch of {args.queries}, ms/query | recall@{args.k} (ids) | "
        f"recall@{args.k} (distances) | holds MiB | peak RSS growth MiB |")
    log("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        log(f"| {r['n']:,} | {r['index']} | {r['build_s']:.1f} | {r['single_ms']:.3f} | {r['batch_ms']:.3f} | "
            f"{r['recall_ids']:.3f} | {r['recall_dist']:.3f} | {r['held_mib']:.0f} | {r['peak_mib']:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-db", type=int, default=1_000_000)
    parser.add_argument("--bits", type=int, nargs="+", default=None, help="default: 16 32 64 (--scale: 64)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--queries", type=int, default=None,
                        help="queries timed on the scan (default 50; --scale: 100)")
    parser.add_argument("--baseline-queries", type=int, default=10, help="queries timed on the naive baseline")
    parser.add_argument("--seed", type=int, default=0)
    scale = parser.add_argument_group("search at scale")
    scale.add_argument("--scale", action="store_true", help="the exact scan against FAISS indexes at large sizes")
    scale.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    scale.add_argument("--codes", choices=("clustered", "uniform"), default="clustered")
    scale.add_argument("--indexes", nargs="+", default=["numpy", "faiss-flat", "faiss-ivf", "faiss-multihash"],
                       choices=sorted(search_scan.SCANNERS))
    scale.add_argument("--nprobe", type=int, nargs="+", default=[1, 4, 16, 64], help="faiss-ivf lists visited")
    scale.add_argument("--nflip", type=int, nargs="+", default=[1, 2], help="faiss-multihash bit flips")
    scale.add_argument("--tmp", default=None, help="directory of the memory-mapped codes (default: the system's)")
    args = parser.parse_args()

    if args.scale:
        if args.bits is not None and len(args.bits) != 1:
            parser.error("--scale takes one --bits")
        args.scale_bits = args.bits[0] if args.bits else 64
        args.queries = args.queries or 100
        scale_main(args)
        return
    args.bits = args.bits or [16, 32, 64]
    args.queries = args.queries or 50
    print(f"{cpu_line()}; numpy {np.__version__}; seed {args.seed}")
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
