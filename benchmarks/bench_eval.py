"""Times sdch_tf.retrieval.metrics against a plain per-query numpy loop at NUS-WIDE scale.

    python benchmarks/bench_eval.py [--num-query 2100] [--num-db 193734] [--bits 64]
                                    [--labels 21] [--seed 0] [--top-k 500] [--loop-queries 100]

The defaults are the NUS-WIDE protocol (docs/reproduction.md §2: 2,100 queries, the other
193,734 pairs as the database, 21 concepts) and mAP@500 (SDCH §4.2). Codes are made
realistic: each item has ~2–3 concepts, its code is the sign of the sum of per-concept
prototype codes plus noise, with some bits flipped, so that items sharing concepts are
close in Hamming space. Uniformly random codes are also run, as the worst case for the
counting sort (distances piled up around r/2).

The plain loop (one stable argsort per query) takes minutes on the whole problem, so it
is timed on the first ``--loop-queries`` queries and extrapolated linearly; our result is
compared for exact equality with the loop on that same subset. Timings are wall-clock
on whatever else the machine is doing: read them as rough figures. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Runnable from a checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from sdch_tf.retrieval import metrics  # noqa: E402


def make_labels(rng: np.random.Generator, n: int, num_labels: int) -> np.ndarray:
    """uint8 (n, C): 1–4 concepts per item (mean 2.5), frequent concepts more likely."""
    per_item = rng.integers(1, 5, size=n)
    popularity = 1.0 / np.arange(1, num_labels + 1) ** 0.7
    # Sampling without replacement, weighted: the k smallest of Exp(1)/weight (Gumbel top-k).
    keys = rng.exponential(size=(n, num_labels)) / popularity
    rank = np.argsort(np.argsort(keys, axis=1), axis=1)
    return (rank < per_item[:, None]).astype(np.uint8)


def make_codes(rng: np.random.Generator, labels: np.ndarray, bits: int, flip: float = 0.2) -> np.ndarray:
    """int8 (n, bits) in {−1, +1}: sign of the concepts' prototype sum + noise, then bit flips."""
    prototypes = rng.choice([-1.0, 1.0], size=(labels.shape[1], bits)).astype(np.float32)
    noisy = labels.astype(np.float32) @ prototypes + rng.normal(0.0, 1.0, size=(labels.shape[0], bits))
    codes = np.where(noisy >= 0, 1, -1).astype(np.int8)
    return np.where(rng.random(codes.shape) < flip, -codes, codes).astype(np.int8)


def loop_map(query_codes, db_codes, query_labels, db_labels, top_k: int) -> float:
    """The plain reference: per query, distances, a stable argsort, then AP over the top R."""
    r = query_codes.shape[1]
    db_codes = db_codes.astype(np.float32)
    db_labels = db_labels.astype(np.float32)
    depth = min(top_k, db_codes.shape[0])
    aps = []
    for code, labels in zip(query_codes.astype(np.float32), query_labels.astype(np.float32)):
        dist = 0.5 * (r - db_codes @ code)  # small integers: exact in float32
        top = np.argsort(dist, kind="stable")[:depth]
        relevant = db_labels[top] @ labels > 0
        if not relevant.any():
            aps.append(0.0)
            continue
        positions = np.arange(1, depth + 1)
        aps.append(np.mean(np.cumsum(relevant)[relevant] / positions[relevant]))
    return float(np.mean(aps))


def timed(fn, repeats: int):
    """(result, list of wall times in seconds)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, times


def run(name: str, query_codes, db_codes, query_labels, db_labels, args) -> None:
    num_query = query_codes.shape[0]
    print(f"\n== {name}: {num_query} queries x {db_codes.shape[0]} database items x {query_codes.shape[1]} bits, "
          f"{query_labels.shape[1]} concepts")
    subset = slice(0, min(args.loop_queries, num_query))
    sub = (query_codes[subset], db_codes, query_labels[subset], db_labels)

    _, first = timed(lambda: metrics.mean_average_precision(*sub, top_k=args.top_k), 1)
    print(f"first call on {subset.stop} queries (includes XLA compilation): {first[0]:.2f} s")
    ours, ours_times = timed(lambda: metrics.mean_average_precision(query_codes, db_codes, query_labels, db_labels,
                                                                    top_k=args.top_k), args.repeats)
    ours_time = statistics.median(ours_times)
    print(f"ours  mAP@{args.top_k} = {ours!r}   median {ours_time:.3f} s over {args.repeats} runs "
          f"(min {min(ours_times):.3f} s, max {max(ours_times):.3f} s)")

    ours_sub = metrics.mean_average_precision(*sub, top_k=args.top_k)
    loop_sub, loop_times = timed(lambda: loop_map(*sub, top_k=args.top_k), 1)
    per_query = loop_times[0] / subset.stop
    loop_time = per_query * num_query
    status = "EXACTLY EQUAL (bit for bit)" if ours_sub == loop_sub else f"DIFFER by {abs(ours_sub - loop_sub):.3e}"
    print(f"loop  mAP@{args.top_k} on the first {subset.stop} queries = {loop_sub!r}; "
          f"ours on the same queries = {ours_sub!r} -> {status}")
    print(f"loop  time: {loop_times[0]:.2f} s for {subset.stop} queries, "
          f"extrapolated linearly to {num_query} queries: {loop_time:.1f} s")
    print(f"speed-up (extrapolated loop / ours): {loop_time / ours_time:.0f}x")

    ks = np.arange(100, 1001, 100)
    precision_at, pk_times = timed(lambda: metrics.precision_at_top(query_codes, db_codes, query_labels, db_labels,
                                                                    ks), args.repeats)
    print(f"precision_at_top (R = 100..1000 step 100): median {statistics.median(pk_times):.3f} s; "
          f"P@100 = {precision_at[0]:.4f}, P@1000 = {precision_at[-1]:.4f}")
    (precision, recall), pr_times = timed(lambda: metrics.precision_recall_by_radius(
        query_codes, db_codes, query_labels, db_labels), args.repeats)
    print(f"precision_recall_by_radius: median {statistics.median(pr_times):.3f} s")
    radii = np.unique(np.linspace(0, len(precision) - 1, 9).astype(int))
    print("  radius    " + "".join(f"{d:>8d}" for d in radii))
    print("  precision " + "".join(f"{precision[d]:8.4f}" for d in radii))
    print("  recall    " + "".join(f"{recall[d]:8.4f}" for d in radii))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-query", type=int, default=2100)
    parser.add_argument("--num-db", type=int, default=193_734)
    parser.add_argument("--bits", type=int, default=64)
    parser.add_argument("--labels", type=int, default=21)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--top-k", type=int, default=500)
    parser.add_argument("--loop-queries", type=int, default=100, help="queries on which the plain loop is timed")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each of our metrics")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    n = args.num_query + args.num_db
    labels = make_labels(rng, n, args.labels)
    codes = make_codes(rng, labels, args.bits)
    q, d = slice(0, args.num_query), slice(args.num_query, n)
    print(f"seed {args.seed}; labels per item: mean {labels.sum(1).mean():.2f}")
    run("label-correlated codes", codes[q], codes[d], labels[q], labels[d], args)
    uniform = rng.choice(np.array([-1, 1], np.int8), size=(n, args.bits))
    run("uniformly random codes (worst case)", uniform[q], uniform[d], labels[q], labels[d], args)


if __name__ == "__main__":
    main()
