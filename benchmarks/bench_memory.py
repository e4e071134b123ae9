"""Peak memory at NUS-WIDE scale: load, a short SDCH training, a full encoding, scoring.

    python benchmarks/bench_memory.py                          # 10,000, 50,000 and 195,834 pairs
    python benchmarks/bench_memory.py --sizes 2000 5000        # a quick trial
    python benchmarks/bench_memory.py --work /tmp/nus --image-size 64 --epochs 1 --bits 64

Issue 5's target: with NUS-WIDE's 195,834 pairs (docs/reproduction.md §2) the peak RSS stays
below 3 GB, and grows from size to size only by what is legitimately O(N) — texts (N × 1000
float32), labels (N × 21 uint8), codes (N × r int8 per modality) and split indices — never by
the images (N × H × W × 3 bytes; 29 GB for the real 224×224 NUS-WIDE).

1. Writes NUS-WIDE-layout files for each size into ``--work/nuswide-<N>-<size>px`` (reused
   when complete): nus-wide-tc21-iall.mat (v7.3, 'IAll', h5py (N, 3, W, H) uint8),
   nus-wide-tc21-lall.mat ('LAll', MATLAB (N, 21) double) and nus-wide-tc21-yall.mat
   ('YAll', MATLAB (N, 1000) double, a sparse binary bag of words), block by block so that
   writing is bounded in memory too. Images are small (``--image-size``): the reading path
   does not depend on their size, and they are what must never be held whole.
2. For each size, in a fresh subprocess: ``load_dataset('nuswide', dir)``, the NUS-WIDE
   protocol split (2,100 queries, 10,500 training pairs; fewer for small N), SDCH with the
   smoke-preset networks trained ``--epochs`` epoch(s), the full encoding of queries and
   database (image and text) through ``evaluation.encode_split``, and ``evaluation.score``
   (mAP@500, NDCG, curves). Reports peak RSS (``ru_maxrss`` and VmHWM), each stage's time
   and the high-water mark after it, and the bytes of the O(N) arrays.
3. The eager baseline, as peers load these files, in a fresh subprocess: TensorFlow imported,
   then every variable read whole with h5py (``f['IAll'][()]``, texts as float64 then cast to
   float32). Its peak is a lower bound for an eager pipeline: it has not trained yet.
4. Image read throughput of ``HDF5Images``, pread reader vs h5py reader, random batches of 64
   from the largest file and from a file of 4,096 images at NUS-WIDE's real 224×224, 1 and 2
   threads (tf.data runs the reads of a parallel map on several threads).

Timings are wall-clock on a shared 2-core machine and the files sit in the page cache after
being written: read them as rough figures. Nothing is asserted; the verdict is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Runnable from a checkout without installing the package.
sys.path.insert(0, ROOT)

import h5py  # noqa: E402
import numpy as np  # noqa: E402

from sdch_tf.data import mat, mat_images  # noqa: E402

NUM_CONCEPTS = 21          # NUS-WIDE's 21 most frequent concepts (docs/reproduction.md §2)
TEXT_DIM = 1000            # NUS-WIDE's 1000-word bag of words
NUM_QUERY, NUM_TRAIN = 2100, 10500  # the NUS-WIDE protocol (split.PROTOCOL_SIZES)
TARGET_BYTES = 3 * 10**9
TARGET_SIZE = 195834
FILES = {"images": ("nus-wide-tc21-iall.mat", "IAll"), "labels": ("nus-wide-tc21-lall.mat", "LAll"),
         "texts": ("nus-wide-tc21-yall.mat", "YAll")}
MARKER = "bench_memory.json"  # written last: a directory without it is incomplete and rewritten
MB = 2**20
SLACK = 256 * MB  # run-to-run variation of TensorFlow's own memory, see report()
READ_SAMPLES = 4096  # images in the 224×224 file of the read-throughput measurement


# --------------------------------------------------------------------------------------------
# The data: NUS-WIDE-shaped, label-correlated, generated block by block


def _world(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixed per seed: concept popularity (C,), word association (C, d), concept colours (C, 3)."""
    rng = np.random.default_rng([seed, 2**31])
    popularity = 1.0 / np.arange(1, NUM_CONCEPTS + 1) ** 0.7
    words = np.zeros((NUM_CONCEPTS, TEXT_DIM))
    for c in range(NUM_CONCEPTS):
        words[c, rng.choice(TEXT_DIM, 30, replace=False)] = 0.15
    colours = rng.uniform(30, 225, size=(NUM_CONCEPTS, 3))
    return popularity, words, colours


def make_block(seed: int, start: int, stop: int, image_size: int):
    """Samples [start, stop): labels uint8 (b, 21), texts uint8 (b, 1000), images uint8 (b, s, s, 3).

    Every sample has 1–3 concepts (frequent ones likelier) and at least one word; its words and
    its image colour follow its concepts, so that retrieval has something to find. The same
    (seed, start, stop) always gives the same block.
    """
    popularity, words, colours = _world(seed)
    rng = np.random.default_rng([seed, start])
    b = stop - start
    per_item = rng.integers(1, 4, size=b)
    keys = rng.exponential(size=(b, NUM_CONCEPTS)) / popularity  # weighted sampling without replacement
    labels = (np.argsort(np.argsort(keys, axis=1), axis=1) < per_item[:, None]).astype(np.uint8)
    p_word = np.minimum(0.004 + labels @ words, 0.5)
    texts = (rng.random((b, TEXT_DIM)) < p_word).astype(np.uint8)
    texts[np.arange(b), rng.integers(0, TEXT_DIM, size=b)] = 1
    colour = ((labels @ colours) / labels.sum(axis=1, keepdims=True)).astype(np.float32)  # (b, 3)
    ramp = np.linspace(-40, 40, image_size, dtype=np.float32)
    images = colour[:, None, None, :] + ramp[None, :, None, None] - ramp[None, None, :, None]
    images += rng.integers(-30, 31, size=images.shape, dtype=np.int16)
    return labels, texts, np.clip(images, 0, 255).astype(np.uint8)


def data_dir(work: Path, num_samples: int, image_size: int) -> Path:
    return Path(work) / f"nuswide-{num_samples}-{image_size}px"


def write_nuswide(directory, num_samples: int, image_size: int, seed: int = 0, block: int = 2048) -> bool:
    """Writes the three NUS-WIDE files into ``directory`` unless they are already there.

    Returns True if written, False if reused. MATLAB v7.3 files, as the DCMH release: IAll h5py
    (N, 3, W, H) uint8 contiguous; LAll and YAll MATLAB double, stored h5py (C, N) and (d, N).
    ``block`` samples at a time: memory is bounded by one block whatever N.
    """
    directory = Path(directory)
    expected = {"num_samples": num_samples, "image_size": image_size, "seed": seed}
    marker = directory / MARKER
    if marker.is_file() and json.loads(marker.read_text()) == expected and all(
            (directory / f).is_file() for f, _ in FILES.values()):
        return False
    directory.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    specs = {  # role -> (h5py shape, dtype, MATLAB class)
        "images": ((num_samples, 3, image_size, image_size), np.uint8, "uint8"),
        "labels": ((NUM_CONCEPTS, num_samples), np.float64, "double"),
        "texts": ((TEXT_DIM, num_samples), np.float64, "double"),
    }
    temporary = {role: directory / (FILES[role][0] + ".tmp") for role in FILES}
    files = {role: h5py.File(temporary[role], "w", userblock_size=512, libver="earliest") for role in FILES}
    try:
        datasets = {}
        for role, (shape, dtype, cls) in specs.items():
            datasets[role] = files[role].create_dataset(FILES[role][1], shape=shape, dtype=dtype)
            datasets[role].attrs.create("MATLAB_class", np.bytes_(cls))
        for start in range(0, num_samples, block):
            stop = min(start + block, num_samples)
            labels, texts, images = make_block(seed, start, stop, image_size)
            datasets["images"][start:stop] = images.transpose(0, 3, 2, 1)  # (b, H, W, 3) -> (b, 3, W, H)
            datasets["labels"][:, start:stop] = labels.T
            datasets["texts"][:, start:stop] = texts.T
    finally:
        for f in files.values():
            f.close()
    for role, path in temporary.items():
        with open(path, "r+b") as f:
            f.write(mat.matlab_v73_header())
        os.replace(path, directory / FILES[role][0])
    marker.write_text(json.dumps(expected))
    return True


# --------------------------------------------------------------------------------------------
# Measurements inside the subprocesses


def memory() -> dict:
    """Current and peak resident set of this process, in bytes."""
    status = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                status[key] = int(value.split()[0]) * 1024
    status["ru_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return status


class Stages:
    """Times each stage and records the memory after it (VmHWM is the peak so far)."""

    def __init__(self):
        self.records = []
        self._start = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.records.append({"stage": name, "seconds": now - self._start, **memory()})
        self._start = now


def split_sizes(num_samples: int) -> tuple[int, int]:
    """The NUS-WIDE protocol's 2,100 / 10,500, cut down for small N (a tenth as queries at most)."""
    num_query = min(NUM_QUERY, num_samples // 10)
    return num_query, min(NUM_TRAIN, num_samples - num_query)


def child_run(directory: str, epochs: int, bits: int, seed: int) -> dict:
    """Load, train, encode and score in this (fresh) process; returns the measurements."""
    stages = Stages()
    import dataclasses

    import keras  # noqa: F401  (imported here so that its cost is its own stage)
    import tensorflow as tf  # noqa: F401

    from sdch_tf.retrieval import evaluation
    from sdch_tf.sdch.config import preset
    from sdch_tf.data.datasets import load_dataset
    from sdch_tf.data.split import make_split
    from sdch_tf.registry import get_method
    stages.done("import")

    data = load_dataset("nuswide", directory)
    stages.done("load")
    split = make_split(data.num_samples, *split_sizes(data.num_samples), seed)
    method = get_method("sdch")
    config = dataclasses.replace(preset("smoke"), epochs=epochs)
    model = method.build(config, data, split, bits, seed)
    stages.done("build")
    with tempfile.TemporaryDirectory() as run_dir:
        method.fit(model, config, data, split, run_dir, seed, verbose=0)
    stages.done("train")
    prep = method.preprocessing(config)
    codes, timing = evaluation.encode_split(model, data, split, prep, config.eval_batch_size)
    stages.done("encode")
    scored = evaluation.score(codes, data, split, config.top_k, curves=True)
    stages.done("score")
    return {
        "num_samples": data.num_samples,
        "reader": getattr(data.images, "reader", type(data.images).__name__),
        "split": split.sizes(),
        "stages": stages.records,
        "peak": memory(),
        "map_i2t": scored["map_i2t"], "map_t2i": scored["map_t2i"],
        "encode_ms_per_image": timing["encode_ms_per_image"],
        "bytes": {  # what is legitimately O(N)
            "texts": int(data.texts.nbytes),
            "labels": int(data.labels.nbytes),
            "codes": int(sum(c.nbytes for c in codes.values())),
            "split": int(split.query.nbytes + split.database.nbytes + split.train.nbytes),
        },
        "images_bytes": int(np.prod(data.images.shape, dtype=np.int64)),
    }


def child_eager(directory: str) -> dict:
    """The peers' way: every variable read whole with h5py, after importing TensorFlow."""
    import tensorflow as tf  # noqa: F401

    start = time.perf_counter()
    arrays = {}
    for role, (file, key) in FILES.items():
        with h5py.File(os.path.join(directory, file), "r") as f:
            arrays[role] = f[key][()]
    arrays["texts"] = arrays["texts"].T.astype(np.float32)
    return {"seconds": time.perf_counter() - start, "peak": memory(),
            "images_bytes": int(arrays["images"].nbytes)}


def child_throughput(path: str, seconds: float, batch: int = 64, rounds: int = 3) -> dict:
    """images/s of HDF5Images.read on random batches, pread vs h5py reader, 1 and 2 threads.

    The four configurations take turns for ``rounds`` rounds of ``seconds / rounds`` each; the
    best round counts (the machine is shared: the best is the least disturbed).
    """
    from concurrent.futures import ThreadPoolExecutor

    sources = {pread: mat_images.HDF5Images(path, FILES["images"][1], pread=pread) for pread in (True, False)}
    result = {}
    for round_ in range(rounds):
        for pread, source in sources.items():
            for threads in (1, 2):
                rng = np.random.default_rng([round_, threads])
                count, start = 0, time.perf_counter()
                with ThreadPoolExecutor(max_workers=threads) as pool:
                    while time.perf_counter() - start < seconds / rounds:
                        batches = [rng.integers(0, len(source), size=batch) for _ in range(4 * threads)]
                        count += sum(len(b) for b in pool.map(source.read, batches))
                name = f"{source.reader} x{threads}"
                result[name] = max(result.get(name, 0.0), count / (time.perf_counter() - start))
    for source in sources.values():
        source.close()
    return result


# --------------------------------------------------------------------------------------------
# The parent: files, subprocesses, the table and the verdict


def run_child(mode: str, *args) -> dict:
    """Runs this script with ``--child mode args`` in a fresh interpreter; returns its JSON.

    The child's output (TensorFlow's start-up chatter) is shown only if it fails.
    """
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    try:
        env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
        command = [sys.executable, os.path.abspath(__file__), "--child", mode, *map(str, args), "--out", out]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"bench_memory: the {mode!r} subprocess failed (exit {done.returncode}): {command}")
        with open(out) as f:
            return json.load(f)
    finally:
        os.unlink(out)


def gb(n: float) -> str:
    return f"{n / 1e9:.2f}"


def report(rows: list[dict], throughput: dict | None, image_size: int) -> None:
    print("\nPeak RSS per size (GB = 1e9 bytes; stage times in s; 'peak after' = VmHWM after the stage)")
    header = (f"{'N':>7} {'q/train':>11} {'load':>6} {'build':>6} {'train':>6} {'encode':>7} {'score':>6} "
              f"{'peak ru_maxrss':>14} {'VmHWM':>6} {'O(N) texts+labels+codes':>24} {'eager peak':>10} "
              f"{'ours/eager':>10} {'mAP I→T/T→I':>12}")
    print(header)
    for row in rows:
        run, eager = row["run"], row["eager"]
        t = {s["stage"]: s["seconds"] for s in run["stages"]}
        b = run["bytes"]
        legit = b["texts"] + b["labels"] + b["codes"]
        split = f"{run['split']['query']}/{run['split']['train']}"
        print(f"{run['num_samples']:>7} {split:>11} {t['load']:6.1f} {t['build']:6.1f} {t['train']:6.1f} "
              f"{t['encode']:7.1f} {t['score']:6.1f} {gb(run['peak']['ru_maxrss']):>14} "
              f"{gb(run['peak']['VmHWM']):>6} "
              f"{gb(legit) + ' (' + gb(b['texts']) + '+' + gb(b['labels']) + '+' + gb(b['codes']) + ')':>24} "
              f"{gb(eager['peak']['VmHWM']):>10} {run['peak']['VmHWM'] / eager['peak']['VmHWM']:10.2f} "
              f"{run['map_i2t']:.3f}/{run['map_t2i']:.3f}")
    print("\nHigh-water mark (GB) after each stage, and the reader of the image file:")
    for row in rows:
        run = row["run"]
        marks = ", ".join(f"{s['stage']} {gb(s['VmHWM'])}" for s in run["stages"])
        print(f"  N = {run['num_samples']:>6} [{run['reader']}]: {marks}")

    big = rows[-1]["run"]
    peak = big["peak"]["ru_maxrss"]
    print("\nVerdict")
    if big["num_samples"] >= TARGET_SIZE:
        status = "PASS" if peak < TARGET_BYTES else "FAIL"
        print(f"  {status}: peak RSS {gb(peak)} GB at N = {big['num_samples']} (target < {gb(TARGET_BYTES)} GB)")
    else:
        print(f"  (the target, < {gb(TARGET_BYTES)} GB at N = {TARGET_SIZE}, needs that size: largest run "
              f"N = {big['num_samples']}, peak {gb(peak)} GB)")
    # Transients of the O(N) arrays (the texts' finiteness check, label copies in scoring) may add up
    # to half as much again; TensorFlow's own buffers (thread pools, allocator caches: ~0.2 GB once
    # tf.data runs) vary by ~±0.1 GB from run to run whatever N. More than that is not explained.
    for small, large in zip([r["run"] for r in rows], [r["run"] for r in rows[1:]]):
        dn = large["num_samples"] - small["num_samples"]
        dpeak = large["peak"]["ru_maxrss"] - small["peak"]["ru_maxrss"]
        dlegit = sum(large["bytes"].values()) - sum(small["bytes"].values())
        per_image = large["images_bytes"] / large["num_samples"]
        explained = dpeak <= 1.5 * dlegit + SLACK
        print(f"  N = {small['num_samples']} → {large['num_samples']}: peak {dpeak / MB:+.0f} MiB = "
              f"{dpeak / dn:.0f} B per pair; O(N) arrays (texts, labels, codes, split) {dlegit / MB:+.0f} MiB = "
              f"{dlegit / dn:.0f} B per pair; images would add {per_image:.0f} B per pair at {image_size}×"
              f"{image_size} (150,528 at 224×224)")
        print(f"    {'PASS' if explained else 'FAIL'}: the growth is {'' if explained else 'NOT '}explained by "
              f"the O(N) arrays (Δpeak ≤ 1.5 × ΔO(N) + {SLACK // MB} MiB)")
    if throughput:
        print("\nImage reads, HDF5Images.read, random batches of 64 (files page-cached), images/s, best of 3 rounds:")
        print(f"  {'file':<34} {'pread x1':>9} {'pread x2':>9} {'h5py x1':>9} {'h5py x2':>9} "
              f"{'pread/h5py x1':>13} {'x2':>6}")
        for name, rates in throughput.items():
            print(f"  {name:<34} {rates['pread x1']:9.0f} {rates['pread x2']:9.0f} {rates['h5py x1']:9.0f} "
                  f"{rates['h5py x2']:9.0f} {rates['pread x1'] / rates['h5py x1']:13.2f} "
                  f"{rates['pread x2'] / rates['h5py x2']:6.2f}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10000, 50000, TARGET_SIZE])
    p.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "sdch_bench_memory"),
                   help="where the files are written and reused")
    p.add_argument("--image-size", type=int, default=64, help="stored H = W of the images")
    p.add_argument("--epochs", type=int, default=1, help="SDCH epochs (smoke nets, batch 32; 1 = Θ_f phase + ITQ)")
    p.add_argument("--bits", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--read-seconds", type=float, default=3.0, help="per throughput measurement")
    p.add_argument("--child", choices=("run", "eager", "throughput"), help=argparse.SUPPRESS)
    p.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child:
        if args.child == "run":
            result = child_run(args.args[0], int(args.args[1]), int(args.args[2]), int(args.args[3]))
        elif args.child == "eager":
            result = child_eager(args.args[0])
        else:
            result = child_throughput(args.args[0], float(args.args[1]))
        with open(args.out, "w") as f:
            json.dump(result, f)
        return

    print(f"bench_memory: sizes {args.sizes}, images {args.image_size}×{args.image_size}, SDCH smoke nets, "
          f"{args.epochs} epoch(s), {args.bits} bits, {os.cpu_count()} CPU cores, files in {args.work}")
    rows = []
    for n in sorted(args.sizes):
        directory = data_dir(args.work, n, args.image_size)
        start = time.perf_counter()
        written = write_nuswide(directory, n, args.image_size, args.seed)
        print(f"N = {n}: files {'written' if written else 'reused'} in {time.perf_counter() - start:.1f}s "
              f"({directory})", flush=True)
        run = run_child("run", directory, args.epochs, args.bits, args.seed)
        print(f"  ours: peak {gb(run['peak']['ru_maxrss'])} GB, stages "
              + ", ".join(f"{s['stage']} {s['seconds']:.1f}s" for s in run["stages"]), flush=True)
        eager = run_child("eager", directory)
        print(f"  eager: peak {gb(eager['peak']['VmHWM'])} GB in {eager['seconds']:.1f}s", flush=True)
        rows.append({"run": run, "eager": eager})
    throughput = {}
    if args.read_seconds > 0:
        # The largest file, and NUS-WIDE's real 224×224 images (fewer of them: reads are random anyway).
        files = [(max(args.sizes), args.image_size), (READ_SAMPLES, 224)]
        for n, size in files:
            directory = data_dir(args.work, n, size)
            write_nuswide(directory, n, size, args.seed)
            throughput[f"N = {n}, {size}×{size} ({gb(n * 3 * size * size)} GB)"] = run_child(
                "throughput", directory / FILES["images"][0], args.read_seconds)
    report(rows, throughput, args.image_size)


if __name__ == "__main__":
    main()
