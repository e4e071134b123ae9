"""Triplets from binned ranking lists, and the tf.data pipeline that serves them.

RDCMH §Experiment: "we divide the ranking list (i.e., {r_j^xy}) into 5 bins and randomly
pick three points from three different bins to form a triplet for training". Algorithm 1
(lines 4–5) builds each mini-batch from n_x = 128 such triplets and forward-propagates their
points. Decisions (the paper is silent; listed in NOTES.md):

* Every training item is the query q of one triplet per epoch: the queries of an epoch are a
  fresh permutation cut into ⌈n / batch_size⌉ mini-batches of near-equal size (≤ batch_size).
* The ranking list of q orders the candidates by S^xy[q, ·] descending (ties by position), q
  itself left out. ``scope`` says who the candidates are:
    "train"  the whole training set (the paper's {r_j}_{j=1}^n); each triplet brings three
             more images and texts to forward, four times the work of a pairwise method;
    "batch"  the other queries of the mini-batch, whose points are then forwarded anyway.
* Bins hold equal counts of consecutive ranks (a ranking list cut into 5 pieces), as even as
  integers allow. Three distinct bins are drawn uniformly, one point uniformly from each.
  The three points are the "triplet"; the loss (``losses.ranking_terms``) sums over its three
  pairs (i, j), oriented by q's similarities (Eq. 3: j with s_qi > s_qj).

A batch is a dict (m items forwarded, b queries, k = 3 points each, P = 3 pairs):
    image     float32 (m, s, s, 3)   the items; the b queries come first
    text      float32 (m, d)
    rows      int32   (m,)           training positions of the items
    triplets  int32   (b, 1+k)       positions in the batch of [q, p1, p2, p3], points in bin order
    s_qm_image, s_qm_text   float32 (b, k)  S^xx, S^yy between q and each point
    s_mm_image, s_mm_text   float32 (b, P)  S^xx, S^yy within each pair of points (``PAIRS``)
with m = (1+k)·b for scope "train" (queries, then every query's 1st point, 2nd, 3rd) and m = b
for scope "batch".
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from baselines.rdcmh.similarity import SemanticSimilarity
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.pipeline import ImagePreprocessing, num_train_batches, preprocess_images

NUM_POINTS = 3  # "three points from three different bins" (RDCMH §Experiment)
PAIRS = ((0, 1), (0, 2), (1, 2))  # the pairs (i, j) of a triplet's points
SCOPES = ("train", "batch")
SIMILARITY_KEYS = ("s_qm_image", "s_qm_text", "s_mm_image", "s_mm_text")


def bin_edges(num_ranked: int, num_bins: int) -> np.ndarray:
    """(num_bins + 1,) rank boundaries cutting ``num_ranked`` ranks into equal-count bins."""
    return np.linspace(0, num_ranked, num_bins + 1).round().astype(np.int64)


def query_batches(order: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """``order`` cut into ⌈len / batch_size⌉ consecutive pieces of near-equal size."""
    return np.array_split(order, -(-len(order) // batch_size))


def smallest_ranking_group(num_items: int, batch_size: int, scope: str) -> int:
    """The fewest items a query is ranked among, itself included: its mini-batch's (scope "batch";
    the last, smallest piece of ``query_batches``) or the whole training set's (scope "train")."""
    return len(query_batches(np.arange(num_items), batch_size)[-1]) if scope == "batch" else num_items


class TripletSampler:
    """Draws, for each query, one point from each of three distinct bins of its ranking list.

    Args:
        similarity: S^xx and S^yy of the n training items.
        num_bins: bins per ranking list (5, RDCMH §Experiment).
    """

    def __init__(self, similarity: SemanticSimilarity, num_bins: int = 5):
        if num_bins < NUM_POINTS:
            raise ValueError(f"num_bins must be at least {NUM_POINTS} (one point per bin), got {num_bins}")
        self.similarity = similarity
        self.num_bins = int(num_bins)

    def ranking(self, queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """int64 (b, |C| − 1): positions in ``candidates`` (training positions, each query among
        them once) by S^xy[q, ·] descending, ties by position, the query itself left out."""
        queries, candidates = np.asarray(queries, np.int64), np.asarray(candidates, np.int64)
        is_query = candidates[None, :] == queries[:, None]
        if not np.all(is_query.sum(axis=1) == 1):
            raise ValueError("every query must appear exactly once among the candidates")
        s = self.similarity.cross_rows(queries)[:, candidates]
        s[is_query] = np.inf  # q ranks first and is dropped
        return np.argsort(-s, axis=1, kind="stable")[:, 1:]

    def sample(self, queries: np.ndarray, candidates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """int64 (b, 3): positions in ``candidates`` of points from three distinct bins of each
        query's ranking list, in bin order (most similar first)."""
        ranked = self.ranking(queries, candidates)
        b, num_ranked = ranked.shape
        if num_ranked < self.num_bins:
            raise ValueError(f"{num_ranked} candidates per ranking list, fewer than num_bins={self.num_bins}")
        edges = bin_edges(num_ranked, self.num_bins)
        bins = np.sort(np.argsort(rng.random((b, self.num_bins)), axis=1)[:, :NUM_POINTS], axis=1)
        low, high = edges[bins], edges[bins + 1]
        ranks = low + np.floor(rng.random((b, NUM_POINTS)) * (high - low)).astype(np.int64)
        return ranked[np.arange(b)[:, None], ranks]

    def similarities(self, triplet_rows: np.ndarray) -> dict[str, np.ndarray]:
        """The S entries a batch's loss needs, for training positions (b, 1+k) = [q, p1..pk]."""
        q, points = triplet_rows[:, :1], triplet_rows[:, 1:]
        first = points[:, [i for i, _ in PAIRS]]
        second = points[:, [j for _, j in PAIRS]]
        image, text = self.similarity.image, self.similarity.text
        return {
            "s_qm_image": image[q, points], "s_qm_text": text[q, points],
            "s_mm_image": image[first, second], "s_mm_text": text[first, second],
        }

    def batch(self, queries: np.ndarray, scope: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """rows (m,), triplets (b, 1+k) and the similarities of one mini-batch of queries."""
        b = len(queries)
        if scope == "train":
            points = self.sample(queries, np.arange(self.similarity.num_items), rng)  # training positions
            rows = np.concatenate([queries, points.T.reshape(-1)])
            triplets = np.arange((1 + NUM_POINTS) * b).reshape(1 + NUM_POINTS, b).T
        elif scope == "batch":
            rows = np.asarray(queries)
            triplets = np.concatenate([np.arange(b)[:, None], self.sample(queries, rows, rng)], axis=1)
        else:
            raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
        return {"rows": rows, "triplets": triplets, **self.similarities(rows[triplets])}


def triplet_batches(data: CrossModalData, indices, sampler: TripletSampler, batch_size: int,
                    prep: ImagePreprocessing, seed: int, scope: str = "train", *,
                    start_epoch: int = 0, stop_epoch: int) -> tf.data.Dataset:
    """Training batches of triplets (module docstring) of epochs ``start_epoch`` .. ``stop_epoch`` − 1
    in sequence, ``num_train_batches(len(indices), batch_size)`` batches each (give that to
    ``fit(steps_per_epoch=)``).

    Epoch e draws its query order, points and crop offsets from ``np.random.default_rng([seed, e])``
    alone, so a run resumed after epoch e (``start_epoch=e``) continues the same sequence, and
    every iterator of the dataset yields the same batches whatever iterators were made before
    (Keras under a ``tf.distribute`` strategy makes one to peek at a batch and discards it; an
    epoch counted by iterations would then shift every epoch by one).

    Args:
        indices: (n,) dataset rows of the training items (``split.train``); ``rows`` in the
            batches are positions in it.
        scope: "train" or "batch", where the points come from (module docstring).
    """
    indices = np.array(indices, np.int64, copy=True)
    n = len(indices)
    if indices.ndim != 1 or n != sampler.similarity.num_items:
        raise ValueError(
            f"indices must be the {sampler.similarity.num_items} training items, got shape {indices.shape}")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    if int(stop_epoch) <= int(start_epoch):
        raise ValueError(f"stop_epoch must exceed start_epoch, got {start_epoch} .. {stop_epoch}")
    smallest = smallest_ranking_group(n, batch_size, scope)
    if smallest - 1 < sampler.num_bins:
        raise ValueError(f"ranking lists of {smallest - 1} items cannot fill {sampler.num_bins} bins "
                         f"({n} training items, batch_size {batch_size}, scope {scope!r})")

    def epoch_plan(epoch):
        """The batches of one epoch, without images: (rows, triplets, crop offsets, *S entries)."""
        rng = np.random.default_rng([int(seed), int(epoch)])
        for queries in query_batches(rng.permutation(n), batch_size):
            batch = sampler.batch(queries, scope, rng)
            offsets = rng.integers(0, prep.max_offset + 1, size=(len(batch["rows"]), 2), dtype=np.int32)
            yield (batch["rows"].astype(np.int32), batch["triplets"].astype(np.int32), offsets,
                   *(batch[key].astype(np.float32) for key in SIMILARITY_KEYS))

    k, pairs = NUM_POINTS, len(PAIRS)
    signature = (
        tf.TensorSpec((None,), tf.int32),
        tf.TensorSpec((None, 1 + k), tf.int32),
        tf.TensorSpec((None, 2), tf.int32),
        tf.TensorSpec((None, k), tf.float32), tf.TensorSpec((None, k), tf.float32),
        tf.TensorSpec((None, pairs), tf.float32), tf.TensorSpec((None, pairs), tf.float32),
    )
    # The epoch is the generator's argument: each epoch's plan is a fresh generator of (seed, epoch).
    plan = tf.data.Dataset.range(int(start_epoch), int(stop_epoch)).flat_map(
        lambda epoch: tf.data.Dataset.from_generator(epoch_plan, args=(epoch,), output_signature=signature))
    image_shape = tuple(data.images.shape[1:])

    def read_numpy(rows):
        return np.asarray(data.images.read(indices[rows]), np.uint8), data.texts[indices[rows]].astype(np.float32)

    def load(rows, triplets, offsets, *sims):
        images, texts = tf.numpy_function(read_numpy, [rows], [tf.uint8, tf.float32], name="read_triplet_items")
        images.set_shape((None,) + image_shape)
        texts.set_shape((None, data.text_dim))
        batch = {"image": preprocess_images(images, prep, offsets), "text": texts, "rows": rows,
                 "triplets": triplets}
        batch.update(zip(SIMILARITY_KEYS, sims))
        return batch

    batches = plan.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    total = num_train_batches(n, batch_size) * (int(stop_epoch) - int(start_epoch))
    # tf.data cannot count a generator's batches; stating the number lets Keras size its progress bar.
    return batches.apply(tf.data.experimental.assert_cardinality(total)).prefetch(tf.data.AUTOTUNE)
