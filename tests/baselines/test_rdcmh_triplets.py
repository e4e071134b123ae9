"""Binned ranking lists, triplet sampling and the triplet pipeline (baselines/rdcmh/triplets.py)."""
import itertools

import numpy as np
import pytest

from baselines.rdcmh.similarity import SemanticSimilarity
from baselines.rdcmh.triplets import (PAIRS, SIMILARITY_KEYS, TripletSampler, bin_edges, query_batches,
                                      triplet_batches)
from sdch_tf.data.dataset import ArrayImages, CrossModalData
from sdch_tf.data.pipeline import ImagePreprocessing, preprocess_images

N = 23


@pytest.fixture
def sim():
    rng = np.random.default_rng(3)
    a, b = rng.random((N, N)).astype(np.float32), rng.random((N, N)).astype(np.float32)
    return SemanticSimilarity(image=(a + a.T) / 2, text=(b + b.T) / 2)


def _bin_of(rank, edges):
    return int(np.searchsorted(edges, rank, side="right") - 1)


def test_bins_hold_equal_counts_of_ranks():
    np.testing.assert_array_equal(bin_edges(20, 5), [0, 4, 8, 12, 16, 20])
    sizes = np.diff(bin_edges(22, 5))
    assert sizes.sum() == 22 and sizes.max() - sizes.min() <= 1
    assert [len(b) for b in query_batches(np.arange(23), 10)] == [8, 8, 7]


def test_points_come_from_three_distinct_bins_of_the_cross_modal_ranking(sim):
    sampler = TripletSampler(sim, num_bins=5)
    queries = np.arange(N)
    rng = np.random.default_rng(0)
    seen_bins = set()
    for _ in range(20):
        points = sampler.sample(queries, np.arange(N), rng)
        for q, row in zip(queries, points):
            cross = (sim.image[q] + sim.text[q]) / 2
            ranking = [j for j in sorted(range(N), key=lambda j: (-cross[j], j)) if j != q]  # by hand
            ranks = [ranking.index(p) for p in row]
            bins = [_bin_of(r, bin_edges(N - 1, 5)) for r in ranks]
            assert q not in row
            assert bins[0] < bins[1] < bins[2]          # distinct bins, most similar first
            assert cross[row[0]] > cross[row[1]] > cross[row[2]]
            seen_bins.add(tuple(bins))
    assert len(seen_bins) == 10  # every choice of 3 bins out of 5 occurs


def test_batch_scope_draws_points_among_the_batch(sim):
    sampler = TripletSampler(sim, num_bins=5)
    queries = np.array([5, 9, 0, 13, 22, 7, 3, 18])
    batch = sampler.batch(queries, "batch", np.random.default_rng(1))
    np.testing.assert_array_equal(batch["rows"], queries)
    triplets = batch["triplets"]
    np.testing.assert_array_equal(triplets[:, 0], np.arange(8))
    assert np.all(triplets[:, 1:] != triplets[:, :1]) and triplets.max() < 8
    q, p = queries[triplets[:, :1]], queries[triplets[:, 1:]]
    np.testing.assert_allclose(batch["s_qm_image"], sim.image[q, p])
    np.testing.assert_allclose(batch["s_qm_text"], sim.text[q, p])
    for k, (i, j) in enumerate(PAIRS):
        np.testing.assert_allclose(batch["s_mm_image"][:, k], sim.image[p[:, i], p[:, j]])
        np.testing.assert_allclose(batch["s_mm_text"][:, k], sim.text[p[:, i], p[:, j]])


def test_train_scope_forwards_queries_then_each_point_position(sim):
    sampler = TripletSampler(sim, num_bins=5)
    queries = np.array([4, 1, 17])
    batch = sampler.batch(queries, "train", np.random.default_rng(2))
    rows, triplets = batch["rows"], batch["triplets"]
    assert rows.shape == (12,) and triplets.shape == (3, 4)
    np.testing.assert_array_equal(rows[:3], queries)
    np.testing.assert_array_equal(triplets, [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8, 11]])
    with pytest.raises(ValueError, match="scope"):
        sampler.batch(queries, "everything", np.random.default_rng(2))


def _data(n):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, size=(n + 5, 12, 12, 3), dtype=np.uint8)
    texts = rng.random((n + 5, 7)).astype(np.float32)
    labels = (rng.random((n + 5, 4)) < 0.5).astype(np.uint8)
    return CrossModalData("tiny", ArrayImages(images), texts, labels)


@pytest.mark.parametrize("scope, items_per_query", [("train", 4), ("batch", 1)])
def test_pipeline_serves_the_items_of_each_triplet(sim, scope, items_per_query):
    data = _data(N)
    indices = np.arange(5, N + 5)[::-1].copy()  # training item i is dataset row indices[i]
    prep = ImagePreprocessing(resize=12, crop=10)
    sampler = TripletSampler(sim, num_bins=5)
    batches = list(triplet_batches(data, indices, sampler, 8, prep, seed=0, scope=scope, stop_epoch=1))
    assert len(batches) == 3
    queries = np.concatenate([np.asarray(b["rows"])[:len(b["triplets"])] for b in batches])
    np.testing.assert_array_equal(np.sort(queries), np.arange(N))  # every item a query once per epoch
    for b in batches:
        rows = np.asarray(b["rows"])
        assert len(rows) == items_per_query * len(b["triplets"])
        assert b["image"].shape == (len(rows), 10, 10, 3)
        np.testing.assert_array_equal(np.asarray(b["text"]), data.texts[indices[rows]])
        t = rows[np.asarray(b["triplets"])]
        np.testing.assert_allclose(np.asarray(b["s_qm_text"]), sim.text[t[:, :1], t[:, 1:]])


def _counted_plans(sampler, n, batch_size, scope, max_offset, seed, start_epoch, num_epochs):
    """The batches the former ``triplet_batches`` generator drew, epoch after epoch from an
    ``itertools.count`` started at ``start_epoch`` (its code, without tf.data): the reference the
    stateless dataset must reproduce, so that single-device training is unchanged."""
    epochs = itertools.count(start_epoch)

    def epoch_plan():
        rng = np.random.default_rng([int(seed), next(epochs)])
        for queries in query_batches(rng.permutation(n), batch_size):
            batch = sampler.batch(queries, scope, rng)
            offsets = rng.integers(0, max_offset + 1, size=(len(batch["rows"]), 2), dtype=np.int32)
            yield (batch["rows"].astype(np.int32), batch["triplets"].astype(np.int32), offsets,
                   *(batch[key].astype(np.float32) for key in SIMILARITY_KEYS))

    return [plan for _ in range(num_epochs) for plan in epoch_plan()]


@pytest.mark.parametrize("scope", ["train", "batch"])
def test_epochs_follow_seed_and_epoch_alone_whatever_iterators_came_before(sim, scope):
    """Epochs 2..3 equal the former counted generator's epochs 2..3, batch for batch, also from an
    iterator made after another one peeked at a batch (as Keras does under tf.distribute)."""
    data = _data(N)
    indices = np.arange(5, N + 5)[::-1].copy()
    prep = ImagePreprocessing(resize=12, crop=10)
    sampler = TripletSampler(sim, num_bins=5)
    dataset = triplet_batches(data, indices, sampler, 8, prep, seed=4, scope=scope, start_epoch=2, stop_epoch=4)
    assert dataset.cardinality() == 6  # 3 batches × 2 epochs
    next(iter(dataset))  # a peeking iterator, discarded
    batches = list(dataset)
    expected = _counted_plans(sampler, N, 8, scope, prep.max_offset, seed=4, start_epoch=2, num_epochs=2)
    assert len(batches) == len(expected) == 6
    for got, (rows, triplets, offsets, *sims) in zip(batches, expected):
        np.testing.assert_array_equal(np.asarray(got["rows"]), rows)
        np.testing.assert_array_equal(np.asarray(got["triplets"]), triplets)
        for key, values in zip(SIMILARITY_KEYS, sims):
            np.testing.assert_array_equal(np.asarray(got[key]), values)
        images = preprocess_images(data.images.read(indices[rows]), prep, offsets)  # the crops drawn
        np.testing.assert_array_equal(np.asarray(got["image"]), np.asarray(images))
    # The epochs differ (each reshuffles), and resuming at epoch 3 gives epoch 3 again.
    assert not np.array_equal(np.asarray(batches[0]["rows"]), np.asarray(batches[3]["rows"]))
    resumed = list(triplet_batches(data, indices, sampler, 8, prep, seed=4, scope=scope, start_epoch=3,
                                   stop_epoch=4))
    for a, b in zip(resumed, batches[3:]):
        np.testing.assert_array_equal(np.asarray(a["image"]), np.asarray(b["image"]))
        np.testing.assert_array_equal(np.asarray(a["triplets"]), np.asarray(b["triplets"]))


def test_pipeline_refuses_lists_too_short_for_the_bins(sim):
    data = _data(N)
    prep = ImagePreprocessing(resize=12, crop=12)
    sampler = TripletSampler(sim, num_bins=5)
    with pytest.raises(ValueError, match="cannot fill 5 bins"):
        triplet_batches(data, np.arange(N), sampler, 5, prep, seed=0, scope="batch", stop_epoch=1)
    with pytest.raises(ValueError, match="training items"):
        triplet_batches(data, np.arange(N - 1), sampler, 8, prep, seed=0, stop_epoch=1)
    with pytest.raises(ValueError, match="stop_epoch must exceed start_epoch"):
        triplet_batches(data, np.arange(N), sampler, 8, prep, seed=0, start_epoch=2, stop_epoch=2)
    with pytest.raises(ValueError, match="at least 3"):
        TripletSampler(sim, num_bins=2)
