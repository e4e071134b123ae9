"""Tests of sdch_tf.retrieval.metrics: hand-computed fixtures and agreement with plain per-query loops."""
import numpy as np
import pytest

from sdch_tf.retrieval import metrics

# ------------------------------------------------------------------ plain numpy references
# The definitions of docs/reproduction.md §3 transcribed literally, one query at a time.


def _reference_rankings(query_codes, db_codes, query_labels, db_labels):
    """Per query: (stable ranking by Hamming distance, its distances, relevance in that order)."""
    r = query_codes.shape[1]
    for code, labels in zip(query_codes, query_labels):
        dist = (r - db_codes.astype(np.int64) @ code.astype(np.int64)) // 2
        order = np.argsort(dist, kind="stable")
        relevant = (db_labels.astype(np.int64) @ labels.astype(np.int64)) > 0
        yield order, dist, relevant


def reference_map(query_codes, db_codes, query_labels, db_labels, top_k=None):
    n = db_codes.shape[0]
    depth = n if top_k is None else min(top_k, n)
    aps = []
    for order, _, relevant in _reference_rankings(query_codes, db_codes, query_labels, db_labels):
        rel = relevant[order[:depth]]
        if not rel.any():
            aps.append(0.0)
            continue
        rank_among_relevant = np.cumsum(rel)
        position = np.arange(1, depth + 1)
        aps.append(np.mean(rank_among_relevant[rel] / position[rel]))
    return float(np.mean(aps))


def reference_precision_at_top(query_codes, db_codes, query_labels, db_labels, ks):
    n = db_codes.shape[0]
    out = []
    for k in ks:
        depth = min(k, n)
        precisions = [relevant[order[:depth]].sum() / depth
                      for order, _, relevant in _reference_rankings(query_codes, db_codes, query_labels, db_labels)]
        out.append(np.mean(precisions))
    return np.array(out)


def reference_precision_recall(query_codes, db_codes, query_labels, db_labels):
    r = query_codes.shape[1]
    within = np.zeros(r + 1)
    relevant_within = np.zeros(r + 1)
    relevant_total = 0
    for _, dist, relevant in _reference_rankings(query_codes, db_codes, query_labels, db_labels):
        relevant_total += relevant.sum()
        for d in range(r + 1):
            within[d] += np.sum(dist <= d)
            relevant_within[d] += np.sum((dist <= d) & relevant)
    with np.errstate(invalid="ignore", divide="ignore"):
        return relevant_within / within, relevant_within / relevant_total


# ------------------------------------------------------------------------ hand-made fixture
# r = 4. Query 0 is all +1 with label 0; query 1 is all −1 with label 2, which no database
# item has. Distance to query 0 = number of −1 entries.
#   item  code           labels   dist(q0)  relevant(q0)   dist(q1)
#   0     − − + +        1 0 0    2         yes            2
#   1     + − + +        0 1 0    1         no             3
#   2     + + − +        1 1 0    1         yes            3
#   3     + + + +        0 1 0    0         no             4
#   4     + + − −        0 0 0    2         no             2
#   5     − − − −        1 0 0    4         yes            0
# Stable ranking for q0: items 3, 1, 2, 0, 4, 5 -> relevance 0 0 1 1 0 1.
# (Breaking the 1–2 tie the other way would give 0 1 0 1 0 1 and different values.)

QUERY_CODES = np.array([[1, 1, 1, 1], [-1, -1, -1, -1]], np.int8)
QUERY_LABELS = np.array([[1, 0, 0], [0, 0, 1]], np.uint8)
DB_CODES = np.array([
    [-1, -1, 1, 1],
    [1, -1, 1, 1],
    [1, 1, -1, 1],
    [1, 1, 1, 1],
    [1, 1, -1, -1],
    [-1, -1, -1, -1],
], np.int8)
DB_LABELS = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0]], np.uint8)
FIXTURE = (QUERY_CODES, DB_CODES, QUERY_LABELS, DB_LABELS)


@pytest.mark.parametrize("top_k, expected", [
    # Whole database: q0 hits at positions 3, 4, 6 -> AP = (1/3 + 2/4 + 3/6) / 3 = 4/9;
    # q1 has no relevant item -> 0. mAP = (4/9 + 0) / 2 = 2/9.
    (None, 2 / 9),
    # R > N is clipped to N = 6: the same as the whole database.
    (100, 2 / 9),
    (6, 2 / 9),
    # R = 3: q0's top 3 is 3, 1, 2 -> one hit at position 3 -> AP = (1/3) / 1; mAP = 1/6.
    (3, 1 / 6),
    # R = 2: the cut falls inside the tie {1, 2} at distance 1; index order keeps item 1
    # (not relevant) -> no hit -> AP 0 (item 2 instead would give AP 1/2).
    (2, 0.0),
    # R = 4: hits at positions 3, 4 -> AP = (1/3 + 2/4) / 2 = 5/12; mAP = 5/24.
    (4, 5 / 24),
])
def test_map_hand_computed(top_k, expected):
    assert metrics.mean_average_precision(*FIXTURE, top_k=top_k) == pytest.approx(expected, rel=1e-12)


def test_map_single_query_and_other_dtypes():
    # Only q0, codes as float32 and labels as bool: AP over the whole database = 4/9.
    value = metrics.mean_average_precision(
        QUERY_CODES[:1].astype(np.float32), DB_CODES.astype(np.float64),
        QUERY_LABELS[:1].astype(bool), DB_LABELS.astype(np.int64))
    assert value == pytest.approx(4 / 9, rel=1e-12)


def test_map_query_without_relevant_item_scores_zero():
    assert metrics.mean_average_precision(QUERY_CODES[1:], DB_CODES, QUERY_LABELS[1:], DB_LABELS) == 0.0
    assert metrics.mean_average_precision(QUERY_CODES[1:], DB_CODES, QUERY_LABELS[1:], DB_LABELS, top_k=3) == 0.0


def test_precision_at_top_hand_computed():
    # q0 hits in ranking order: 0 0 1 1 0 1 (cumulative 0 0 1 2 2 3); q1 never hits.
    # P@1 = 0; P@2 = 0 (stable tie order keeps item 1 first); P@3 = (1/3)/2 = 1/6;
    # P@4 = (2/4)/2 = 1/4; P@6 = (3/6)/2 = 1/4; P@10 clipped to 6 -> 1/4.
    got = metrics.precision_at_top(*FIXTURE, ks=[1, 2, 3, 4, 6, 10])
    np.testing.assert_allclose(got, [0.0, 0.0, 1 / 6, 1 / 4, 1 / 4, 1 / 4], rtol=1e-12)
    assert got.dtype == np.float64 and got.shape == (6,)


def test_precision_recall_hand_computed():
    # Distances: q0 -> 2 1 1 0 2 4 (relevant: items 0, 2, 5); q1 -> 2 3 3 4 2 0 (none).
    # Pairs within d, pooled over both queries, and the relevant ones among them (of 3):
    #   d=0: 1 + 1 = 2, rel 0 -> P 0,          R 0
    #   d=1: 3 + 1 = 4, rel 1 -> P 1/4,        R 1/3
    #   d=2: 5 + 3 = 8, rel 2 -> P 2/8,        R 2/3
    #   d=3: 5 + 5 = 10, rel 2 -> P 2/10,      R 2/3
    #   d=4: 6 + 6 = 12, rel 3 -> P 3/12,      R 1
    precision, recall = metrics.precision_recall_by_radius(*FIXTURE)
    np.testing.assert_allclose(precision, [0, 1 / 4, 1 / 4, 1 / 5, 1 / 4], rtol=1e-12)
    np.testing.assert_allclose(recall, [0, 1 / 3, 2 / 3, 2 / 3, 1], rtol=1e-12)
    assert precision.dtype == recall.dtype == np.float64


def test_precision_recall_empty_radius_is_nan():
    # q0 against items 0, 1, 2, 4, 5 (item 3 at distance 0 removed): nothing within d=0.
    #   d=0: 0 pairs -> P NaN, R 0;  d=1: items 1, 2, one relevant -> P 1/2, R 1/3;
    #   d=2, 3: + items 0, 4 -> 4 pairs, 2 relevant -> P 1/2, R 2/3;  d=4: 5 pairs, 3 -> P 3/5, R 1.
    keep = [0, 1, 2, 4, 5]
    precision, recall = metrics.precision_recall_by_radius(QUERY_CODES[:1], DB_CODES[keep], QUERY_LABELS[:1],
                                                           DB_LABELS[keep])
    assert np.isnan(precision[0])
    np.testing.assert_allclose(precision[1:], [1 / 2, 1 / 2, 1 / 2, 3 / 5], rtol=1e-12)
    np.testing.assert_allclose(recall, [0, 1 / 3, 2 / 3, 2 / 3, 1], rtol=1e-12)


def test_precision_recall_without_relevant_pairs():
    # q1 shares no label with any item: precision 0 where pairs exist, recall NaN (0/0).
    # q1 distances 2 3 3 4 2 0 -> pairs within d: 1, 1, 3, 5, 6.
    precision, recall = metrics.precision_recall_by_radius(QUERY_CODES[1:], DB_CODES, QUERY_LABELS[1:], DB_LABELS)
    np.testing.assert_array_equal(precision, np.zeros(5))
    assert np.isnan(recall).all()


def test_codes_longer_than_255_bits():
    # r = 300: distances above 255 must not wrap around. Query all +1 with label 0;
    #   item  −1 entries = dist  relevant
    #   0     300                yes
    #   1     256                no
    #   2     1                  no
    #   3     255                yes
    # Ranking 2, 3, 1, 0 -> relevance 0 1 0 1 -> AP = (1/2 + 2/4) / 2 = 1/2; with R = 3: 1/2 / 1.
    r = 300
    db = np.ones((4, r), np.int8)
    for item, flipped in enumerate((300, 256, 1, 255)):
        db[item, :flipped] = -1
    query, query_labels, db_labels = np.ones((1, r)), np.array([[1, 0]]), np.array([[1, 0], [0, 1], [0, 1], [1, 1]])
    assert metrics.mean_average_precision(query, db, query_labels, db_labels) == pytest.approx(1 / 2, rel=1e-12)
    assert metrics.mean_average_precision(query, db, query_labels, db_labels, top_k=3) == pytest.approx(1 / 2)
    # P@1 = 0, P@2 = 1/2, P@3 = 1/3.
    np.testing.assert_allclose(metrics.precision_at_top(query, db, query_labels, db_labels, [1, 2, 3]),
                               [0, 1 / 2, 1 / 3], rtol=1e-12)
    # Pairs within d: 0 for d = 0; 1 (item 2) for 1..254; 2 for 255; 3 for 256..299; 4 at 300.
    precision, recall = metrics.precision_recall_by_radius(query, db, query_labels, db_labels)
    assert precision.shape == recall.shape == (r + 1,)
    assert np.isnan(precision[0])
    np.testing.assert_allclose(precision[[1, 254, 255, 256, 299, 300]], [0, 0, 1 / 2, 1 / 3, 1 / 3, 1 / 2], rtol=1e-12)
    np.testing.assert_allclose(recall[[0, 254, 255, 299, 300]], [0, 0, 1 / 2, 1 / 2, 1], rtol=1e-12)


def test_inputs_are_not_modified():
    arrays = [a.copy() for a in FIXTURE]
    metrics.mean_average_precision(*arrays, top_k=3)
    metrics.precision_recall_by_radius(*arrays)
    metrics.precision_at_top(*arrays, ks=[2])
    for before, after in zip(FIXTURE, arrays):
        np.testing.assert_array_equal(before, after)


# ---------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("change, message", [
    (lambda q, d, ql, dl: (q[:, :3], d, ql, dl), "code lengths differ"),
    (lambda q, d, ql, dl: (q * 0, d, ql, dl), "query_codes must contain only -1 and 1; found 0"),
    (lambda q, d, ql, dl: ((q + 1) / 2, d, ql, dl), "query_codes must contain only -1 and 1"),
    (lambda q, d, ql, dl: (q, d.astype(bool), ql, dl), "db_codes must be an integer or float array"),
    (lambda q, d, ql, dl: (q, np.where(d > 0, np.nan, -1.0), ql, dl), "db_codes must contain only"),
    (lambda q, d, ql, dl: (q, d, ql * 2, dl), "query_labels must contain only 0 and 1; found 2"),
    (lambda q, d, ql, dl: (q, d, ql, dl[:, :2]), "label counts differ"),
    (lambda q, d, ql, dl: (q, d, ql[:1], dl), "one label row per query"),
    (lambda q, d, ql, dl: (q, d, ql, dl[:5]), "one label row per database item"),
    (lambda q, d, ql, dl: (q[0], d, ql, dl), r"query_codes must be a non-empty 2-D array .* got shape \(4,\)"),
    (lambda q, d, ql, dl: (q, d[:0], ql, dl[:0]), "db_codes must be a non-empty 2-D array"),
])
def test_bad_inputs_are_reported(change, message):
    with pytest.raises(ValueError, match=message):
        metrics.mean_average_precision(*change(*FIXTURE))


@pytest.mark.parametrize("top_k", [0, -3, 2.5, True])
def test_bad_top_k(top_k):
    with pytest.raises(ValueError, match="top_k must be a positive integer"):
        metrics.mean_average_precision(*FIXTURE, top_k=top_k)


@pytest.mark.parametrize("ks, message", [([], "non-empty 1-D"), ([[1, 2]], "non-empty 1-D"), ([3, 0], "positive")])
def test_bad_ks(ks, message):
    with pytest.raises(ValueError, match=message):
        metrics.precision_at_top(*FIXTURE, ks=ks)


# ------------------------------------------------------------- agreement with the references


def _random_problem(seed, num_query, num_db, bits, num_labels, correlated=True):
    """Codes correlated with multi-labels (per-concept prototypes + bit flips), so that
    distances are skewed like real codes; ``correlated=False`` gives uniform codes."""
    rng = np.random.default_rng(seed)
    n = num_query + num_db
    labels = (rng.random((n, num_labels)) < 2.5 / num_labels).astype(np.uint8)
    if correlated:
        prototypes = rng.choice([-1.0, 1.0], size=(num_labels, bits))
        codes = np.where(labels @ prototypes + rng.normal(0, 1, (n, bits)) >= 0, 1, -1)
        codes = np.where(rng.random((n, bits)) < 0.15, -codes, codes).astype(np.int8)
    else:
        codes = rng.choice(np.array([-1, 1], np.int8), size=(n, bits))
    return codes[:num_query], codes[num_query:], labels[:num_query], labels[num_query:]


# (bits, num_query, num_db, num_labels): 4-bit codes give heavy ties; 65, 128 and 300
# bits span several 64-bit words (300 > 254 also takes the uint16 distance path);
# 70 labels span two label words.
SHAPES = [(4, 13, 700, 5), (8, 20, 1500, 21), (16, 7, 2000, 21), (32, 9, 901, 24), (64, 11, 1800, 21),
          (65, 5, 300, 70), (128, 6, 1000, 21), (300, 3, 257, 10)]


@pytest.mark.parametrize("bits, num_query, num_db, num_labels", SHAPES)
@pytest.mark.parametrize("correlated", [True, False])
def test_agrees_with_reference(bits, num_query, num_db, num_labels, correlated):
    problem = _random_problem(bits * 1000 + num_db, num_query, num_db, bits, num_labels, correlated)
    for top_k in (None, 1, 17, 100, 500, num_db - 1, num_db + 3):
        np.testing.assert_allclose(metrics.mean_average_precision(*problem, top_k=top_k),
                                   reference_map(*problem, top_k=top_k), rtol=1e-12, err_msg=f"top_k={top_k}")
    ks = [1, 5, 100, 499, num_db, 10 * num_db]
    np.testing.assert_allclose(metrics.precision_at_top(*problem, ks=ks),
                               reference_precision_at_top(*problem, ks), rtol=1e-12)
    got = metrics.precision_recall_by_radius(*problem)
    for value, expected in zip(got, reference_precision_recall(*problem)):
        np.testing.assert_allclose(value, expected, rtol=1e-12)


@pytest.mark.parametrize("bits, correlated", [(4, True), (64, True), (64, False)])
def test_bit_identical_to_the_loop(bits, correlated):
    # Beyond rtol 1e-12: the per-query values are averaged with np.mean in query order,
    # exactly as the loop does, so the floats are identical.
    problem = _random_problem(bits + 1, 37, 3000, bits, 21, correlated)
    for top_k in (None, 50, 500):
        assert metrics.mean_average_precision(*problem, top_k=top_k) == reference_map(*problem, top_k=top_k)
    ks = [1, 10, 100, 1000]
    np.testing.assert_array_equal(metrics.precision_at_top(*problem, ks=ks),
                                  reference_precision_at_top(*problem, ks))


def test_chunked_with_poor_estimates(monkeypatch):
    # Tiny chunks (several chunks, a padded last one) and a 3-column sample, so that the
    # cut distance is often misestimated and the stepping and bisection probes run.
    monkeypatch.setattr(metrics, "_CHUNK_ENTRIES", 3 * 2048)
    monkeypatch.setattr(metrics, "_SAMPLE_COLUMNS", 3)
    for bits, correlated in ((4, True), (32, True), (64, False)):
        problem = _random_problem(bits, 23, 2000, bits, 21, correlated)
        for top_k in (1, 40, 500, 1999):
            np.testing.assert_allclose(metrics.mean_average_precision(*problem, top_k=top_k),
                                       reference_map(*problem, top_k=top_k), rtol=1e-12)
        got = metrics.precision_recall_by_radius(*problem)
        for value, expected in zip(got, reference_precision_recall(*problem)):
            np.testing.assert_allclose(value, expected, rtol=1e-12)


@pytest.mark.parametrize("sample_columns", [1, 5, 4096])
def test_top_in_order_is_a_stable_argsort_prefix(monkeypatch, sample_columns):
    # The counting-sort selection on raw distance matrices, including degenerate ones:
    # every distance equal, a single distinct row, and a skewed mixture.
    monkeypatch.setattr(metrics, "_SAMPLE_COLUMNS", sample_columns)
    rng = np.random.default_rng(sample_columns)
    bits, num_db = 20, 1000
    dist = np.full((6, 1024), 255, np.uint8)
    dist[0, :num_db] = 7
    dist[1, :num_db] = rng.integers(0, bits + 1, num_db)
    dist[2, :num_db] = np.minimum(rng.geometric(0.3, num_db), bits)
    dist[3, :num_db] = bits - np.minimum(rng.geometric(0.5, num_db), bits)
    dist[4, :num_db] = np.where(rng.random(num_db) < 0.01, 0, bits)
    dist[5, :num_db] = np.arange(num_db) % (bits + 1)
    for depth in (1, 2, 9, 10, 11, 333, 999):
        expected = np.argsort(dist[:, :num_db], axis=1, kind="stable")[:, :depth]
        np.testing.assert_array_equal(metrics._top_in_order(dist, num_db, bits, depth), expected)


@pytest.mark.slow
def test_agrees_with_reference_at_scale():
    problem = _random_problem(7, 60, 60_000, 64, 21)
    for top_k in (500, 5000):
        np.testing.assert_allclose(metrics.mean_average_precision(*problem, top_k=top_k),
                                   reference_map(*problem, top_k=top_k), rtol=1e-12)


def test_top_retrievals_ranks_by_hamming_distance_with_ties_in_index_order():
    query = np.array([[1, 1, 1, 1], [-1, -1, 1, 1]])
    db = np.array([[1, 1, 1, -1],    # distances to query 0: 1, to query 1: 3
                   [-1, -1, -1, -1],  # 4, 2
                   [1, 1, 1, 1],      # 0, 2
                   [1, 1, -1, 1]])    # 1, 3
    rows, distances = metrics.top_retrievals(query, db, 3)
    np.testing.assert_array_equal(rows, [[2, 0, 3], [1, 2, 0]])
    np.testing.assert_array_equal(distances, [[0, 1, 1], [2, 2, 3]])
    rows, _ = metrics.top_retrievals(query, db, 10)  # depth clipped to the database
    assert rows.shape == (2, 4)
    with pytest.raises(ValueError, match="bits"):
        metrics.top_retrievals(query, db[:, :3], 2)
