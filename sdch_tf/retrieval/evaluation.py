"""The evaluator every method goes through: encode the query and database sets, then score.

Protocol (docs/reproduction.md §3, SDCH §4.2): I→T ranks the database *texts* for each query
*image*, T→I the database images for each query text; relevance = at least one shared label;
mAP@500, precision–recall by Hamming radius and precision@top-R, all from
``sdch_tf.retrieval.metrics``. The same function scores SDCH and every baseline, so that every table
cell is computed identically.
"""
from __future__ import annotations

import time
from typing import Protocol

import keras
import numpy as np

from sdch_tf.retrieval import metrics
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.pipeline import ImagePreprocessing, image_batches, text_batches
from sdch_tf.data.split import Split

# Cut-offs of the precision@top-R curves (SDCH Fig. 5 runs R up to 1000).
TOP_R = (1,) + tuple(range(50, 1001, 50))

# Cut-off of NDCG@k (graded relevance = shared labels; CMHN Fig. 2). The k of CMHN's Fig. 2
# cannot be read from the paper's text; 500 matches the mAP@500 cut-off.
NDCG_K = 500

# SDCH Fig. 3 shows the top 5 retrievals of a few queries; result.json keeps them for the first
# queries of the split (the same queries for every method run with the same seed).
SHOWN_QUERIES = 8
SHOWN_RETRIEVALS = 5


class Hasher(Protocol):
    """What the evaluator needs of a trained method: codes in {−1, +1} of shape (n, bits)."""

    bits: int

    def encode_image(self, images, batch_size: int = 256) -> np.ndarray: ...

    def encode_text(self, texts, batch_size: int = 256) -> np.ndarray: ...


def _encode(encode, batches, total, label, verbose):
    bar = keras.utils.Progbar(total, unit_name="sample", verbose=1 if verbose else 0)
    codes, done = [], 0
    start = time.perf_counter()
    for batch in batches:
        codes.append(encode(batch))
        done += len(codes[-1])
        bar.update(done)
    seconds = time.perf_counter() - start
    if verbose:
        print(f"  encoded {total} {label} in {seconds:.1f}s")
    return np.concatenate(codes, axis=0), seconds


def encode_split(hasher: Hasher, data: CrossModalData, split: Split, prep: ImagePreprocessing,
                 batch_size: int = 256, verbose: bool = False) -> tuple[dict, dict]:
    """Codes of the query and database images and texts, and the encoding time.

    Returns:
        codes: {'query_image', 'query_text', 'db_image', 'db_text'} → int8 (n, bits).
        timing: ms per image and per text sample, input pipeline included (SDCH Table 4's
            "time to map one sample to hash code").
    """
    codes, seconds = {}, {"image": 0.0, "text": 0.0}
    for part, indices in (("query", split.query), ("db", split.database)):
        if verbose:
            print(f"Encoding {part} set ({len(indices)} samples)")
        codes[f"{part}_image"], s = _encode(
            hasher.encode_image, image_batches(data, indices, batch_size, prep), len(indices), "images", verbose
        )
        seconds["image"] += s
        codes[f"{part}_text"], s = _encode(
            hasher.encode_text, text_batches(data, indices, batch_size), len(indices), "texts", verbose
        )
        seconds["text"] += s
    n = len(split.query) + len(split.database)
    timing = {"encode_ms_per_image": 1000 * seconds["image"] / n, "encode_ms_per_text": 1000 * seconds["text"] / n}
    return codes, timing


def score(codes: dict, data: CrossModalData, split: Split, top_k: int = 500, curves: bool = True,
          ndcg_k: int = NDCG_K) -> dict:
    """mAP@top_k (``map_i2t``, ``map_t2i``), MAP over the whole database (``map_all_i2t``,
    ``map_all_t2i``: the MAP that DCMH's code and the CMHN, DSPAH and RDCMH papers report; same
    ranking, ties in database order) and NDCG@ndcg_k (``ndcg_i2t``, ``ndcg_t2i``) in both directions and, with
    ``curves``, the PR and precision@top-R curves and the top retrievals of the first
    ``SHOWN_QUERIES`` queries (``retrievals``: per direction, dataset indices of the queries
    and of their top ``SHOWN_RETRIEVALS`` database items, Hamming distances, relevance)."""
    q_labels, db_labels = data.labels[split.query], data.labels[split.database]
    directions = {"i2t": (codes["query_image"], codes["db_text"]), "t2i": (codes["query_text"], codes["db_image"])}
    result = {}
    for name, (query, db) in directions.items():
        result[f"map_{name}"] = metrics.mean_average_precision(query, db, q_labels, db_labels, top_k=top_k)
        result[f"map_all_{name}"] = metrics.mean_average_precision(query, db, q_labels, db_labels, top_k=None)
        result[f"ndcg_{name}"] = metrics.ndcg_at_k(query, db, q_labels, db_labels, k=ndcg_k)
    result["ndcg_k"] = ndcg_k
    if curves:
        ks = np.array([k for k in TOP_R if k <= len(split.database)])
        result["curves"] = {}
        for name, (query, db) in directions.items():
            precision, recall = metrics.precision_recall_by_radius(query, db, q_labels, db_labels)
            result["curves"][f"pr_{name}"] = {
                "radius": list(range(len(precision))), "precision": precision.tolist(), "recall": recall.tolist()
            }
            result["curves"][f"ptop_{name}"] = {
                "k": ks.tolist(), "precision": metrics.precision_at_top(query, db, q_labels, db_labels, ks).tolist()
            }
        result["retrievals"] = {name: _retrievals(query, db, split, q_labels, db_labels)
                                for name, (query, db) in directions.items()}
    return result


def _retrievals(query, db, split: Split, q_labels, db_labels) -> dict:
    shown = min(SHOWN_QUERIES, len(query))
    rows, distances = metrics.top_retrievals(query[:shown], db, SHOWN_RETRIEVALS)
    relevant = (q_labels[:shown, None, :].astype(bool) & db_labels[rows].astype(bool)).any(axis=-1)
    return {"query": split.query[:shown].tolist(), "retrieved": split.database[rows].tolist(),
            "distance": distances.tolist(), "relevant": relevant.tolist()}


def evaluate(hasher: Hasher, data: CrossModalData, split: Split, prep: ImagePreprocessing, top_k: int = 500,
             batch_size: int = 256, curves: bool = True, verbose: bool = False) -> dict:
    """Encode with ``hasher`` and score: mAPs, optionally curves, and encoding times."""
    codes, timing = encode_split(hasher, data, split, prep, batch_size, verbose)
    return {**score(codes, data, split, top_k, curves), "timing": timing}


class RetrievalCurve(keras.callbacks.Callback):
    """Scores the model every ``every`` epochs (and after the last): the learning curve.

    Adds ``curve_map_i2t``, ``curve_map_t2i`` (mAP@``top_k``) and ``curve_map_all_i2t``,
    ``curve_map_all_t2i`` (MAP over the whole database) to that epoch's logs, so the epoch log
    (``epochs.jsonl``) records them. Encoding runs in inference mode on centre crops and draws no
    random number, so a run with the curve trains exactly as one without (tests/test_curve.py).
    """

    def __init__(self, every: int, epochs: int, data: CrossModalData, split: Split, prep: ImagePreprocessing,
                 top_k: int | None = 500, batch_size: int = 256):
        super().__init__()
        if every < 1:
            raise ValueError(f"RetrievalCurve needs every >= 1, got {every}")
        self.every, self.epochs, self.data, self.split, self.prep = every, epochs, data, split, prep
        self.top_k, self.batch_size = top_k, batch_size

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or ((epoch + 1) % self.every and epoch + 1 != self.epochs):
            return
        codes, _ = encode_split(self.model, self.data, self.split, self.prep, self.batch_size)
        scored = score(codes, self.data, self.split, self.top_k, curves=False)
        for key in ("map_i2t", "map_t2i", "map_all_i2t", "map_all_t2i"):
            logs[f"curve_{key}"] = float(scored[key])
