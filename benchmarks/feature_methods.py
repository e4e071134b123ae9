"""Time and peak memory of the feature-based methods' solvers at the paper's size (issue 15).

    python benchmarks/feature_methods.py [--methods scm ...] [--num-train 10000] [--image-dim 4096]
                                         [--text-dim 1386] [--labels 24] [--bits 16 32 64]
                                         [--timed-epochs 2]

The `paper` preset of a feature-based method trains on the DCMH protocol's 10,000 training pairs
(docs/reproduction.md §2) with 4,096-d AlexNet fc7 features and bag-of-words texts (MIRFlickr's
1,386 words, 24 concepts). This script builds features of that shape whose classes are
recoverable (so that the solvers face real eigen-spectra, not noise), runs each method's solver
as its `fit` does, and prints the wall time and the process's peak resident memory (ru_maxrss,
which includes the inputs and the imports, reported apart). Each method runs in a fresh subprocess so that one peak does not hide
another. Timings are wall-clock on whatever else the machine does; nothing is asserted.
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

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sdch_tf.machine import cpu_line  # noqa: E402


def make_problem(n: int, image_dim: int, text_dim: int, num_labels: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    labels = (rng.random((n, num_labels)) < 2.5 / num_labels).astype(np.uint8)
    labels[labels.sum(axis=1) == 0, 0] = 1
    # Non-negative, ReLU-like image features and sparse binary texts, both driven by the labels.
    images = np.maximum(labels @ rng.normal(size=(num_labels, image_dim)) + rng.normal(size=(n, image_dim)), 0)
    word_rates = rng.random((num_labels, text_dim)) * (20.0 / text_dim)
    texts = (rng.random((n, text_dim)) < np.clip(labels @ word_rates + 2.0 / text_dim, 0, 1)).astype(np.float64)
    return images, texts, labels


def run_one(method: str, args) -> dict:
    """One method's solve on the problem, in this process (SePH: its KL iterations timed on
    ``--seph-iterations`` and scaled to 1,000, the rest run in full)."""
    import numpy as np

    if method in NETWORK_METHODS:
        return run_network(method, args)
    if method not in ("scm", "seph", "imh"):
        raise SystemExit(f"unknown method {method}")
    from baselines.imh.solver import select_parameters, solve_imh
    from baselines.scm.solver import solve_seq
    from baselines.seph import codes as seph_codes
    from baselines.seph import kernels as seph_kernels
    imports_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    images, texts, labels = make_problem(args.num_train, args.image_dim, args.text_dim, args.labels)
    timings = {}
    images, texts = images - images.mean(axis=0), texts - texts.mean(axis=0)
    notes = ""
    for bits in args.bits:
        start = time.perf_counter()
        if method == "scm":
            solve_seq(texts, images, labels, bits, 1e-6)        # SCM's x = text (baselines/scm/NOTES.md)
        elif method == "imh":
            rng = np.random.default_rng(0)
            beta, lam, _ = select_parameters(images, texts, labels, bits, 10, True, rng)
            solve_imh(images, texts, bits, 10, beta, lam, 1e4, True)
        else:
            # minKLD.m's iterations cost the same each: time --seph-iterations and scale to 1,000.
            schedule = seph_codes.KLSchedule(iterations=args.seph_iterations)
            rng = np.random.default_rng(0)
            t0 = time.perf_counter()
            learned = seph_codes.learn_codes(labels, bits, 0.01 / (bits * len(labels)), schedule, rng)
            per_iteration = (time.perf_counter() - t0) / args.seph_iterations
            targets = np.sign(learned["codes"])
            t1 = time.perf_counter()
            for x in (images, texts):
                centres = seph_kernels.kmeans_centres(x, min(500, len(x) // 2), rng)
                width = seph_kernels.rbf_width(x)
                kernel, kernel0 = seph_kernels.rbf_kernel(x, centres, width), seph_kernels.rbf_kernel(centres, centres, width)
                for k in range(bits):
                    seph_kernels.fit_logistic(kernel, targets[:, k], kernel0, 0.01)
            hash_seconds = time.perf_counter() - t1
            timings[bits] = 1000 * per_iteration + hash_seconds
            notes += (f" [{bits} bits: {per_iteration:.2f} s per KL iteration, x1000 = {1000 * per_iteration:.0f} s; "
                      f"k-means + logistic regressions {hash_seconds:.0f} s]")
            continue
        timings[bits] = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"method": method, "seconds": timings, "peak_rss_mb": peak_mb, "imports_rss_mb": imports_mb, "notes": notes}


# The feature methods trained by steps: a few epochs (or CD steps) are timed and scaled to the
# paper preset's length; the parameter searches are counted as that many trainings.
NETWORK_METHODS = ("corrae", "cmnn", "dbrc")


def feature_data(images, texts, labels):
    """A ``CrossModalData`` of feature rows whose whole set is the training split."""
    import numpy as np

    from sdch_tf.data.dataset import CrossModalData, FeatureRows
    from sdch_tf.data.split import Split

    n = len(labels)
    data = CrossModalData(name="benchmark", images=FeatureRows(images.astype(np.float32)),
                          texts=texts.astype(np.float32), labels=labels)
    return data, Split(query=np.arange(min(100, n)), database=np.arange(n), train=np.arange(n), seed=0)


def run_network(method: str, args) -> dict:
    """One network method's training on the problem: ``--timed-epochs`` epochs (CorrAE: also that
    many hundred CD steps of each RBM), the median epoch after the first (which traces the step)
    scaled to the paper preset's length and searches."""
    import dataclasses

    import numpy as np

    from sdch_tf import registry

    imports_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    images, texts, labels = make_problem(args.num_train, args.image_dim, args.text_dim, args.labels)
    data, split = feature_data(images, texts, labels)
    method_entry = registry.get_method(method)
    paper = method_entry.preset("paper")
    timings, notes = {}, ""
    if method == "corrae":
        from baselines.corrae.rbm import train_stack

        steps = 100 * args.timed_epochs
        rng = np.random.default_rng(0)
        start = time.perf_counter()
        short = [dataclasses.replace(c, steps=steps) for c in paper.image_rbms]
        x = (images - images.mean(0)) / (images.std(0) + 1e-6)
        train_stack(short, x.astype(np.float32), rng, "image", verbose=0)
        train_stack([dataclasses.replace(c, steps=steps) for c in paper.text_rbms], texts.astype(np.float32), rng,
                    "text", verbose=0)
        rbm_seconds = (time.perf_counter() - start) * paper.image_rbms[0].steps / steps
        notes += f" [RBM stage, once per seed: {rbm_seconds:.0f} s from {steps} CD steps per RBM]"
    for bits in args.bits:
        config = dataclasses.replace(paper, epochs=args.timed_epochs, weights=None)
        if method == "corrae":
            config = dataclasses.replace(config, alpha=0.5)
        elif method == "cmnn":
            config = dataclasses.replace(config, margin=1.0)
        model = method_entry.build(config, data, split, bits, 0)
        with tempfile.TemporaryDirectory() as run_dir:
            if method == "corrae":
                from baselines.corrae.trainer import train_autoencoder

                tops = np.asarray(model.image_stack(images.astype(np.float32))), \
                    np.asarray(model.text_stack(texts.astype(np.float32)))
                records = train_autoencoder(model, config, *tops, 0, run_dir, 0)
            else:
                records = method_entry.fit(model, config, data, split, run_dir, 0, verbose=0)
        # The first epoch also traces the step: the later ones are the steady cost.
        per_epoch = float(np.median([r["seconds"] for r in records[1:]]))
        trainings = {"corrae": 12, "cmnn": 6, "dbrc": 1}[method]  # the searches' trials + the final one
        timings[bits] = per_epoch * paper.epochs * trainings
        notes += f" [{bits} bits: {per_epoch:.1f} s per epoch × {paper.epochs} × {trainings} trainings]"
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"method": method, "seconds": timings, "peak_rss_mb": peak_mb, "imports_rss_mb": imports_mb, "notes": notes}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--methods", nargs="+", default=["scm", "imh", "seph", *NETWORK_METHODS])
    p.add_argument("--timed-epochs", type=int, default=3,
                   help="epochs actually run by the network methods, the first not counted (CorrAE: also "
                        "hundreds of CD steps per RBM)")
    p.add_argument("--seph-iterations", type=int, default=20,
                   help="SePH's KL iterations actually run (their time is scaled to minKLD.m's 1,000)")
    p.add_argument("--num-train", type=int, default=10000)
    p.add_argument("--image-dim", type=int, default=4096)
    p.add_argument("--text-dim", type=int, default=1386)
    p.add_argument("--labels", type=int, default=24)
    p.add_argument("--bits", type=int, nargs="+", default=[16, 32, 64])
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)  # the subprocess's method
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args)))
        return 0
    print(f"{cpu_line()}; {args.num_train} training pairs, image {args.image_dim}-d, "
          f"text {args.text_dim}-d, {args.labels} labels")
    inputs_mb = args.num_train * (args.image_dim + args.text_dim) * 8 / 2 ** 20
    print(f"(the float64 inputs alone: {inputs_mb:.0f} MB)")
    passthrough = [a for a in (argv if argv is not None else sys.argv[1:])]
    for method in args.methods:
        out = subprocess.run([sys.executable, __file__, *passthrough, "--one", method], capture_output=True,
                             text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        times = ", ".join(f"{b} bits {t:.1f} s" for b, t in result["seconds"].items())
        print(f"{method:6s} fit: {times}; peak resident memory {result['peak_rss_mb']:.0f} MB "
              f"({result['imports_rss_mb']:.0f} MB of it before the problem was built: Python and the imports)"
              f"{result['notes']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
