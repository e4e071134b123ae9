"""RDCMH Eq. 4 (ranking terms of Eqs. 3 and 5, quantisation) against a plain transcription."""
import numpy as np
import pytest
import tensorflow as tf

from baselines.rdcmh.losses import quantization_loss, ranking_terms, relaxed_hamming
from baselines.rdcmh.triplets import PAIRS


def _dh(a, b):
    """dH(a, b) = (c − aᵀb)/2 (RDCMH §Optimization)."""
    return (len(a) - sum(x * y for x, y in zip(a, b))) / 2


def _eq4_ranking(F, G, Sxx, Syy, triplets, margin):
    """Σ_q Σ_{i≠j} of Eq. 4's four weighted hinges, each counted when s_qi > s_qj in its own list."""
    Sxy = (Sxx + Syy) / 2
    out = {"xx": 0.0, "yy": 0.0, "xy": 0.0, "yx": 0.0}
    for q, *points in triplets:
        for i in points:
            for j in points:
                if i == j:
                    continue
                if Sxx[q, i] > Sxx[q, j]:
                    out["xx"] += (1 - Sxx[i, j]) * max(0.0, margin + _dh(F[q], F[i]) - _dh(F[q], F[j]))
                if Syy[q, i] > Syy[q, j]:
                    out["yy"] += (1 - Syy[i, j]) * max(0.0, margin + _dh(G[q], G[i]) - _dh(G[q], G[j]))
                if Sxy[q, i] > Sxy[q, j]:
                    out["xy"] += (1 - Sxy[i, j]) * max(0.0, margin + _dh(F[q], F[i]) - _dh(G[q], G[j]))
                    out["yx"] += (1 - Sxy[i, j]) * max(0.0, margin + _dh(G[q], G[i]) - _dh(F[q], F[j]))
    return out


def _inputs(F, G, Sxx, Syy, triplets):
    t = np.asarray(triplets)
    q, p = t[:, 0], t[:, 1:]
    first, second = p[:, [i for i, _ in PAIRS]], p[:, [j for _, j in PAIRS]]
    return dict(f_q=F[q], f_m=F[p], g_q=G[q], g_m=G[p],
                s_qm_image=Sxx[q[:, None], p], s_qm_text=Syy[q[:, None], p],
                s_mm_image=Sxx[first, second], s_mm_text=Syy[first, second])


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    n, c = 10, 8
    F, G = rng.normal(size=(n, c)), rng.normal(size=(n, c))
    a, b = rng.random((n, n)), rng.random((n, n))
    Sxx, Syy = (a + a.T) / 2, (b + b.T) / 2
    triplets = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 1, 3], [2, 0, 9, 5], [7, 3, 4, 8]]
    Sxx[0, 1] = Sxx[0, 3] = Sxx[1, 0] = Sxx[3, 0] = 0.4   # a tie in S^xx: the pair does not count for xx
    Syy[4, 6] = Syy[4, 7] = Syy[6, 4] = Syy[7, 4] = 0.7   # a tie in S^yy
    return F, G, Sxx, Syy, triplets


@pytest.mark.parametrize("margin", [0.0, 1.5])
def test_ranking_terms_match_eq4(problem, margin):
    F, G, Sxx, Syy, triplets = problem
    expected = _eq4_ranking(F, G, Sxx, Syy, triplets, margin)
    got = ranking_terms(**{k: tf.constant(v) for k, v in _inputs(F, G, Sxx, Syy, triplets).items()}, margin=margin)
    for name in ("xx", "yy", "xy", "yx"):
        assert float(got[name]) == pytest.approx(expected[name], rel=1e-9), name
        assert expected[name] > 0  # every term is exercised


def test_the_order_of_a_triplets_points_does_not_matter(problem):
    F, G, Sxx, Syy, triplets = problem
    shuffled = [[q, p3, p1, p2] for q, p1, p2, p3 in triplets]
    a = ranking_terms(**{k: tf.constant(v) for k, v in _inputs(F, G, Sxx, Syy, triplets).items()})
    b = ranking_terms(**{k: tf.constant(v) for k, v in _inputs(F, G, Sxx, Syy, shuffled).items()})
    for name in a:
        assert float(a[name]) == pytest.approx(float(b[name]), rel=1e-12)


def test_correctly_ranked_codes_cost_nothing():
    # Binary codes whose Hamming distances follow every list: q = p1, p2 one bit away, p3 all bits.
    q = np.ones(6)
    points = np.stack([q, np.r_[-1.0, np.ones(5)], -q])[None]
    s_qm = np.array([[0.9, 0.5, 0.1]])
    terms = ranking_terms(tf.constant(q[None]), tf.constant(points), tf.constant(q[None]), tf.constant(points),
                          tf.constant(s_qm), tf.constant(s_qm), tf.constant(np.full((1, 3), 0.2)),
                          tf.constant(np.full((1, 3), 0.2)))
    assert all(float(v) == 0.0 for v in terms.values())
    # Reversing the list makes every pair a violation.
    terms = ranking_terms(tf.constant(q[None]), tf.constant(points), tf.constant(q[None]), tf.constant(points),
                          tf.constant(s_qm[:, ::-1].copy()), tf.constant(s_qm[:, ::-1].copy()),
                          tf.constant(np.full((1, 3), 0.2)), tf.constant(np.full((1, 3), 0.2)))
    # Distances 0, 1, 6: violations 1 + 6 + 5 = 12 per term, weight 1 − 0.2.
    assert all(float(v) == pytest.approx(0.8 * 12) for v in terms.values())


def test_relaxed_hamming_is_the_hamming_distance_on_binary_codes():
    rng = np.random.default_rng(1)
    a = np.sign(rng.normal(size=(3, 16)))
    b = np.sign(rng.normal(size=(3, 4, 16)))
    np.testing.assert_allclose(relaxed_hamming(tf.constant(a), tf.constant(b)), (a[:, None] != b).sum(-1))


def test_quantization_loss_is_half_lambda_squared_error():
    rng = np.random.default_rng(2)
    b, f = np.sign(rng.normal(size=(5, 4))), rng.normal(size=(5, 4))
    expected = 0.5 * 3.0 * sum((b[i, j] - f[i, j]) ** 2 for i in range(5) for j in range(4))
    assert float(quantization_loss(tf.constant(b), tf.constant(f), 3.0)) == pytest.approx(expected)
