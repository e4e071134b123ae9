"""SDCH Eqs. 4, 7, 8 against plain numpy transcriptions of the equations as printed."""
import numpy as np
import pytest
import tensorflow as tf

from sdch_tf.sdch import losses


def numpy_eq4(fx, fy, s):
    # L_f = Σ_ij log(1 + exp(f_xi · f_yj)) − s_ij f_xi · f_yj, written term by term.
    total = 0.0
    for i in range(fx.shape[0]):
        for j in range(fy.shape[0]):
            theta = float(fx[i] @ fy[j])
            total += np.log1p(np.exp(theta)) - s[i, j] * theta
    return total


def numpy_eq7_terms(z_rows, b_rows, s_h, beta1, beta2, beta3):
    # The paper's layout: Z and B are r × n with one column per sample.
    Z, B = z_rows.T, b_rows.T
    r = Z.shape[0]
    return {
        "similarity": np.sum((Z.T @ Z / r - s_h) ** 2),
        "quantization": beta1 * np.sum((Z - B) ** 2),
        "independence": beta2 * np.sum((Z @ Z.T / r - np.eye(r)) ** 2),
        "balance": beta3 / r * np.sum(Z ** 2),
    }


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    n, k, r, c = 6, 5, 8, 4
    labels = (rng.random((n, c)) < 0.4).astype(np.float32)
    labels[0] = 0  # a sample with no label is dissimilar to everything
    fx = rng.normal(size=(n, k)).astype(np.float32)
    fy = rng.normal(size=(n, k)).astype(np.float32)
    z = rng.normal(size=(2 * n, r)).astype(np.float32)
    b = np.where(rng.random((2 * n, r)) < 0.5, -1.0, 1.0).astype(np.float32)
    return labels, fx, fy, z, b


def test_label_similarity_is_shared_label_indicator():
    a = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 0]])
    b = np.array([[1, 1, 0], [0, 0, 1]])
    expected = np.array([[1, 0], [1, 1], [0, 0]], np.float32)
    np.testing.assert_array_equal(losses.label_similarity(a, b).numpy(), expected)


def test_feature_loss_matches_eq4(batch):
    labels, fx, fy, _, _ = batch
    s = losses.label_similarity(labels, labels).numpy()
    got = losses.feature_loss(fx, fy, s).numpy()
    np.testing.assert_allclose(got, numpy_eq4(fx.astype(np.float64), fy.astype(np.float64), s), rtol=1e-5)


def test_feature_loss_is_stable_for_large_inner_products():
    fx = np.full((1, 4), 30.0, np.float32)   # θ = 3600: exp(θ) overflows float32 and float64
    fy = np.full((1, 4), 30.0, np.float32)
    # log(1 + e^θ) − θ → 0 for similar pairs; → θ for dissimilar ones.
    assert losses.feature_loss(fx, fy, np.ones((1, 1), np.float32)).numpy() == pytest.approx(0.0, abs=1e-3)
    assert losses.feature_loss(fx, fy, np.zeros((1, 1), np.float32)).numpy() == pytest.approx(3600.0, rel=1e-6)


def test_hash_loss_terms_match_eq7(batch):
    labels, _, _, z, b = batch
    s = losses.label_similarity(labels, labels).numpy()
    s_h = 2 * np.tile(s, (2, 2)) - 1
    got = {k: v.numpy() for k, v in losses.hash_loss_terms(z, b, s_h, 1.0, 0.5, 0.1).items()}
    expected = numpy_eq7_terms(z.astype(np.float64), b.astype(np.float64), s_h, 1.0, 0.5, 0.1)
    assert set(got) == set(losses.HASH_TERMS)
    for name in losses.HASH_TERMS:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, err_msg=name)
    np.testing.assert_allclose(losses.hash_loss(z, b, s_h, 1.0, 0.5, 0.1).numpy(), sum(expected.values()), rtol=1e-5)


def test_hash_loss_hand_computed():
    # r = 2, two samples: z1 = (1, 1), z2 = (1, −1), similar to each other (S^h = 1 off-diagonal).
    z = np.array([[1.0, 1.0], [1.0, -1.0]], np.float32)
    b = np.array([[1.0, 1.0], [1.0, 1.0]], np.float32)
    s_h = np.ones((2, 2), np.float32)
    terms = {k: float(v) for k, v in losses.hash_loss_terms(z, b, s_h, 1.0, 1.0, 0.1).items()}
    # ZᵀZ/r = [[1, 0], [0, 1]] → (0 − 1)² twice = 2
    assert terms["similarity"] == pytest.approx(2.0)
    # ‖Z − B‖² = (−1 − 1)² = 4
    assert terms["quantization"] == pytest.approx(4.0)
    # Z Zᵀ/r over bits = [[1, 0], [0, 1]] → 0
    assert terms["independence"] == pytest.approx(0.0)
    # (0.1 / 2) · ‖Z‖² = 0.05 · 4 = 0.2
    assert terms["balance"] == pytest.approx(0.2)


def test_total_loss_is_eq8():
    assert float(losses.total_loss(tf.constant(3.0), tf.constant(200.0), 0.01)) == pytest.approx(5.0)
