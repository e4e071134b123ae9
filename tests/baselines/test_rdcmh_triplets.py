"""Binned ranking lists, triplet sampling and the triplet pipeline (baselines/rdcmh/triplets.py)."""
import numpy as np
import pytest

from baselines.rdcmh.similarity import SemanticSimilarity
from baselines.rdcmh.triplets import PAIRS, TripletSampler, bin_edges, query_batches, triplet_batches
from sdch_tf.data.dataset import ArrayImages, CrossModalData
from sdch_tf.data.pipeline import ImagePreprocessing

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
    batches = list(triplet_batches(data, indices, sampler, 8, prep, seed=0, scope=scope))
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
    # The same seed and epoch give the same batches; resuming at epoch 1 continues the sequence.
    again = list(triplet_batches(data, indices, sampler, 8, prep, seed=0, scope=scope))
    np.testing.assert_array_equal(np.asarray(again[0]["rows"]), np.asarray(batches[0]["rows"]))
    np.testing.assert_array_equal(np.asarray(again[0]["image"]), np.asarray(batches[0]["image"]))
    dataset = triplet_batches(data, indices, sampler, 8, prep, seed=0, scope=scope)
    list(dataset)
    second = [np.asarray(b["rows"]) for b in dataset]
    resumed = [np.asarray(b["rows"]) for b in triplet_batches(data, indices, sampler, 8, prep, seed=0,
                                                              scope=scope, start_epoch=1)]
    for a, b in zip(second, resumed):
        np.testing.assert_array_equal(a, b)


def test_pipeline_refuses_lists_too_short_for_the_bins(sim):
    data = _data(N)
    prep = ImagePreprocessing(resize=12, crop=12)
    sampler = TripletSampler(sim, num_bins=5)
    with pytest.raises(ValueError, match="cannot fill 5 bins"):
        triplet_batches(data, np.arange(N), sampler, 5, prep, seed=0, scope="batch")
    with pytest.raises(ValueError, match="training items"):
        triplet_batches(data, np.arange(N - 1), sampler, 8, prep, seed=0)
    with pytest.raises(ValueError, match="at least 3"):
        TripletSampler(sim, num_bins=2)
