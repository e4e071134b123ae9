"""SDCH §4.2's "determine the parameters of each method under comparison by cross-validation", as
the methods that choose a parameter per run do it: fit on a seeded share of the training pairs,
score the held-out pairs as queries against the fitted ones, keep the best setting. Labels are read
for this score only (an unsupervised method stays unsupervised in what it fits)."""
from __future__ import annotations

import os
import time
from typing import Callable

import numpy as np

from sdch_tf.atomic import atomic_write_json, read_json


def held_out_mask(n: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """bool (n,): a seeded ``fraction`` of n training pairs (at least one) held out for scoring."""
    held = np.zeros(n, bool)
    held[rng.choice(n, max(1, int(round(fraction * n))), replace=False)] = True
    return held


def held_out_score(image_codes: np.ndarray, text_codes: np.ndarray, labels: np.ndarray, held: np.ndarray,
                   top_k: int | None = 500) -> float:
    """The mean of mAP@top_k I→T and T→I with the held-out pairs as queries and the fitted pairs
    as the database; codes (n, bits) in {−1, +1} of all n training pairs, labels (n, C)."""
    from sdch_tf.retrieval.metrics import mean_average_precision

    i2t = mean_average_precision(image_codes[held], text_codes[~held], labels[held], labels[~held], top_k=top_k)
    t2i = mean_average_precision(text_codes[held], image_codes[~held], labels[held], labels[~held], top_k=top_k)
    return 0.5 * (i2t + t2i)


def grid_search(values, score_of: Callable[[float], float], describe: Callable[[float], str],
                verbose: int = 1) -> tuple[float, dict]:
    """(the value of ``values`` with the highest ``score_of(value)``, {f"{value:g}": score});
    with ``verbose`` one line per value: ``describe(value)``, its held-out mAP and seconds."""
    scores = {}
    for value in values:
        start = time.perf_counter()
        scores[f"{value:g}"] = score_of(value)
        if verbose:
            print(f"  {describe(value)}: held-out mAP {scores[f'{value:g}']:.4f} ({time.perf_counter() - start:.0f} s)",
                  flush=True)
    return float(max(scores, key=scores.get)), scores


def with_choice(records: list[dict], choice: dict, name: str, extra_seconds: float = 0.0, **fields) -> list[dict]:
    """``records`` with the first epoch's record also holding the ``recorded_choice`` ``choice`` (its
    value, score and search seconds, as floats) and ``fields``; the search's seconds and
    ``extra_seconds`` (an earlier stage of the run) are added to that epoch's seconds."""
    if not records:
        return records
    first = {**records[0], "seconds": records[0]["seconds"] + choice[f"{name}_seconds"] + extra_seconds, **fields,
             **{k: float(v) for k, v in choice.items()}}
    return [first, *records[1:]]


def recorded_choice(run_dir: str, name: str, fixed: float | None, search: Callable[[], tuple[float, dict]]) -> dict:
    """A parameter chosen once per run: {name: value, "validation_map": its score, name + "_seconds":
    the search's time}. ``fixed`` (not None) is taken as it is, in 0 s. Otherwise the choice made
    earlier in ``run_dir`` (``<name>.json``, so an interrupted run does not search again) is read
    back, or ``search()`` — (value, {f"{value:g}": score}) — is run and its result written there with
    every score."""
    if fixed is not None:
        return {name: fixed, f"{name}_seconds": 0.0}
    path = os.path.join(run_dir, f"{name}.json")
    if os.path.exists(path):
        return {k: v for k, v in read_json(path).items() if k != "scores"}
    start = time.perf_counter()
    value, scores = search()
    choice = {name: value, "validation_map": scores[f"{value:g}"], f"{name}_seconds": time.perf_counter() - start}
    atomic_write_json(path, {**choice, "scores": scores})
    return choice
