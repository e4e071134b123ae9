"""Tests of sdch_tf.retrieval.metrics.ndcg_at_k: a hand-computed example and a brute-force reference."""
import math

import numpy as np
import pytest

from sdch_tf.retrieval import metrics


def reference_ndcg(query_codes, db_codes, query_labels, db_labels, k):
    """Järvelin & Kekäläinen (SIGIR 2000) DCG with b = 2, one query at a time, literally:
    DCG[i] = CG[i] for i < 2, DCG[i-1] + G[i] / log2(i) for i >= 2; G = shared-label count."""
    r = query_codes.shape[1]
    n = db_codes.shape[0]
    depth = min(k, n)

    def dcg(gains):
        total = 0.0
        for i, gain in enumerate(gains, start=1):
            total += gain if i < 2 else gain / math.log2(i)
        return total

    scores = []
    for code, labels in zip(query_codes, query_labels):
        dist = (r - db_codes.astype(np.int64) @ code.astype(np.int64)) // 2
        order = np.argsort(dist, kind="stable")
        grades = db_labels.astype(np.int64) @ labels.astype(np.int64)
        ideal = dcg(sorted(grades.tolist(), reverse=True)[:depth])
        scores.append(dcg(grades[order[:depth]].tolist()) / ideal if ideal > 0 else 0.0)
    return float(np.mean(scores))


def test_hand_computed_two_queries():
    # r = 2 bits, 4 database items, 3 labels, k = 3.
    db_codes = np.array([[-1, -1], [1, 1], [1, -1], [1, 1]])
    db_labels = np.array([[1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 1]])
    query_codes = np.array([[1, 1], [-1, 1]])
    query_labels = np.array([[1, 1, 0], [0, 0, 1]])
    # Query 0: distances (2, 0, 1, 0) -> ranking d1, d3, d2, d0 (tie d1/d3 by index);
    #   grades (shared labels) d0 2, d1 0, d2 1, d3 1 -> ranked grades 0, 1, 1 in the top 3.
    #   DCG@3 = 0 + 1/max(1, log2 2) + 1/log2 3 = 1 + 0.6309298 = 1.6309298.
    #   Ideal grades 2, 1, 1 -> IDCG@3 = 2 + 1 + 0.6309298 = 3.6309298; NDCG = 0.4491769.
    # Query 1: distances (1, 1, 2, 1) -> ranking d0, d1, d3, d2;
    #   grades d0 0, d1 1, d2 0, d3 1 -> ranked grades 0, 1, 1: DCG@3 = 1.6309298.
    #   Ideal grades 1, 1, 0 -> IDCG@3 = 1 + 1 = 2; NDCG = 0.8154649.
    # Mean: (0.4491769 + 0.8154649) / 2 = 0.6323209.
    value = metrics.ndcg_at_k(query_codes, db_codes, query_labels, db_labels, k=3)
    assert value == pytest.approx(0.6323208860166777, abs=1e-12)
    # (The later discount 1/log2(i + 1) would give 0.5273 here; with 2^grade − 1 gains, 0.4836.)


def test_perfect_ranking_scores_one_and_no_relevant_item_scores_zero():
    db_codes = np.array([[1, 1], [1, -1], [-1, -1]])
    db_labels = np.array([[1, 1], [1, 0], [0, 0]])
    # Query 0's ranking puts grades 2, 1, 0 in order: ideal. Query 1 shares no label: 0.
    query_codes = np.array([[1, 1], [1, 1]])
    query_labels = np.array([[1, 1], [0, 0]])
    assert metrics.ndcg_at_k(query_codes[:1], db_codes, query_labels[:1], db_labels, k=3) == pytest.approx(1.0)
    assert metrics.ndcg_at_k(query_codes[1:], db_codes, query_labels[1:], db_labels, k=3) == 0.0
    assert metrics.ndcg_at_k(query_codes, db_codes, query_labels, db_labels, k=3) == pytest.approx(0.5)


@pytest.mark.parametrize("k", [1, 2, 7, 40, 60, 500])
def test_matches_brute_force_on_random_codes_with_ties(k):
    rng = np.random.default_rng(k)
    # 4 bits for 60 items: many ties, so the index tie order matters.
    query_codes = np.where(rng.random((25, 4)) < 0.5, -1, 1)
    db_codes = np.where(rng.random((60, 4)) < 0.5, -1, 1)
    query_labels = (rng.random((25, 5)) < 0.35).astype(np.int64)
    db_labels = (rng.random((60, 5)) < 0.35).astype(np.int64)
    expected = reference_ndcg(query_codes, db_codes, query_labels, db_labels, k)
    got = metrics.ndcg_at_k(query_codes, db_codes, query_labels, db_labels, k)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_ties_are_broken_by_database_index():
    # All codes equal: the ranking is the database order, so moving the best item first helps.
    db_labels = np.array([[0, 1], [1, 1]])
    codes = np.ones((2, 3))
    query = np.ones((1, 3))
    worse = metrics.ndcg_at_k(query, codes, [[1, 1]], db_labels, k=1)
    better = metrics.ndcg_at_k(query, codes, [[1, 1]], db_labels[::-1], k=1)
    assert (worse, better) == (pytest.approx(0.5), pytest.approx(1.0))


def test_rejects_bad_input():
    codes = np.ones((2, 4))
    labels = np.ones((2, 3))
    with pytest.raises(ValueError, match="k must be a positive integer"):
        metrics.ndcg_at_k(codes, codes, labels, labels, k=0)
    with pytest.raises(ValueError, match="query_codes must contain only -1 and 1"):
        metrics.ndcg_at_k(codes * 0, codes, labels, labels, k=1)


def test_score_records_ndcg_in_both_directions():
    from sdch_tf.retrieval import evaluation
    from sdch_tf.data import ArrayImages, CrossModalData, make_split

    rng = np.random.default_rng(3)
    labels = (rng.random((40, 5)) < 0.4).astype(np.uint8)
    data = CrossModalData("tiny", ArrayImages(np.zeros((40, 4, 4, 3), np.uint8)), rng.random((40, 6)), labels)
    split = make_split(40, 8, 16, seed=0)
    n_q, n_db = len(split.query), len(split.database)
    codes = {name: np.where(rng.random((n, 6)) < 0.5, -1, 1).astype(np.int8)
             for name, n in (("query_image", n_q), ("query_text", n_q), ("db_image", n_db), ("db_text", n_db))}
    out = evaluation.score(codes, data, split, curves=False, ndcg_k=5)
    q, db = labels[split.query], labels[split.database]
    assert out["ndcg_k"] == 5
    assert out["ndcg_i2t"] == pytest.approx(reference_ndcg(codes["query_image"], codes["db_text"], q, db, 5))
    assert out["ndcg_t2i"] == pytest.approx(reference_ndcg(codes["query_text"], codes["db_image"], q, db, 5))
    assert out["ndcg_i2t"] != pytest.approx(out["ndcg_t2i"])
