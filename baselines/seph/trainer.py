"""Build and solve SePH for one code length and seed (the ``Method`` functions).

``build`` gives random kernel projections (the untrained score); ``fit`` learns the training
codes (codes.py), then per view the centres and per bit the kernel logistic regression
(kernels.py), recorded as one solve (``sdch_tf.training.closed_form.fit_solved``).
"""
from __future__ import annotations

import time

import numpy as np

from baselines.seph.codes import KLSchedule, learn_codes
from baselines.seph.config import SePHConfig
from baselines.seph.kernels import fit_logistic, kmeans_centres, rbf_kernel, rbf_width
from baselines.seph.model import SePHHasher
from baselines.seph.nets import KernelProjection, random_kernel_projection
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.split import Split
from sdch_tf.input_errors import InputError
from sdch_tf.training.closed_form import fit_solved, training_arrays

SAMPLINGS = ("kmeans", "random")


def preprocessing(config: SePHConfig):
    """None: SePH reads image features, not pixels (``registry.Method.inputs``)."""
    return None


def check(config: SePHConfig, split: Split) -> None:
    """SePH.m's limits: SePH_km needs at most n / 2 centres, SePH_rnd at most n."""
    if config.centre_sampling not in SAMPLINGS:
        raise InputError(f"centre_sampling must be one of {SAMPLINGS}, got {config.centre_sampling!r}")
    n = len(split.train) if config.code_items is None else min(len(split.train), config.code_items)
    limit = n // 2 if config.centre_sampling == "kmeans" else n
    if config.centres > limit:
        raise InputError(f"SePH with {config.centre_sampling} centres needs centres <= {limit} for {n} training "
                         f"items (SePH.m), got {config.centres}: use a larger --num-train or fewer centres")


def build(config: SePHConfig, data: CrossModalData, split: Split, bits: int, seed: int) -> SePHHasher:
    images, texts, _ = training_arrays(data, split)
    rng = np.random.default_rng(seed)
    return SePHHasher(bits, random_kernel_projection(images, config.centres, bits, rng),
                      random_kernel_projection(texts, config.centres, bits, rng))


def fit(hasher: SePHHasher, config: SePHConfig, data: CrossModalData, split: Split, run_dir: str, seed: int,
        verbose: int = 1, observers=()) -> list[dict]:
    """Learn the training codes, then the kernel logistic regressions; one record: the final
    KL(P‖Q), ‖|H| − 1‖², the lowest cost, how many training bits each view's predictor gets right,
    seconds. ``observers`` (the learning curve's callbacks) have no epochs to watch here."""
    images, texts, labels = training_arrays(data, split)
    # A stream of its own, so that the untrained projections (build) do not shift it.
    rng = np.random.default_rng([seed, 7])
    if config.code_items is not None and len(labels) > config.code_items:
        chosen = np.sort(rng.choice(len(labels), config.code_items, replace=False))
        images, texts, labels = images[chosen], texts[chosen], labels[chosen]
    n, bits = len(labels), hasher.bits
    schedule = KLSchedule(iterations=config.kl_iterations, learning_rate=config.kl_learning_rate,
                          exaggeration_stop=config.kl_exaggeration_stop, momentum_switch=config.kl_momentum_switch)

    def report(iteration, cost):
        if verbose and (iteration % 100 == 0 or iteration == schedule.iterations):
            print(f"  minKLD iteration {iteration}/{schedule.iterations}: cost {cost:.6g}", flush=True)

    def solve() -> dict:
        if verbose:
            print(f"Learning SePH's {bits}-bit codes of {n} training items (KL divergence, "
                  f"{schedule.iterations} iterations)", flush=True)
        start = time.perf_counter()
        learned = learn_codes(labels, bits, config.alpha / (bits * n), schedule, rng, progress=report)
        code_seconds = time.perf_counter() - start
        targets = np.sign(learned["codes"])
        shared = (np.sort(rng.choice(n, config.centres, replace=False))
                  if config.centre_sampling == "random" else None)
        views, agreement = {}, []
        for view, x in (("image", images), ("text", texts)):
            width = rbf_width(x)
            centres = x[shared] if shared is not None else kmeans_centres(x, config.centres, rng,
                                                                           config.kmeans_iterations)
            kernel, kernel0 = rbf_kernel(x, centres, width), rbf_kernel(centres, centres, width)
            if verbose:
                print(f"  kernel logistic regression, {view}: {bits} bits on {len(centres)} "
                      f"{config.centre_sampling} centres", flush=True)
            weights = np.stack([fit_logistic(kernel, targets[:, k], kernel0, config.klr_penalty,
                                             config.klr_iterations) for k in range(bits)], axis=1)
            views[view] = KernelProjection(centres, width, weights)
            agreement.append(float((np.sign(kernel @ weights) == targets).mean()))
        hasher.image, hasher.text = views["image"], views["text"]
        return {"kl": learned["kl"], "quantization": learned["quantization"], "cost": learned["cost"],
                "image_bit_agreement": agreement[0], "text_bit_agreement": agreement[1],
                "code_seconds": code_seconds, "hash_function_seconds": time.perf_counter() - start - code_seconds}

    return fit_solved(hasher, solve, run_dir, verbose)
