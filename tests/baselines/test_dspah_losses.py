"""DSPAH's losses (baselines/dspah/losses.py) against plain-numpy transcriptions of Eqs. 2–7."""
import numpy as np
import pytest
import tensorflow as tf

from baselines.dspah import losses


def np_fgsc(la, lb):
    """Eqs. 2–4 with loops: |l_i ∩ l_j| / sqrt(|l_i| × |l_j|); 0 for an unlabelled item."""
    s = np.zeros((len(la), len(lb)))
    for i in range(len(la)):
        for j in range(len(lb)):
            shared = sum(1 for k in range(la.shape[1]) if la[i, k] and lb[j, k])
            count = la[i].sum() * lb[j].sum()
            s[i, j] = shared / np.sqrt(count) if count else 0.0
    return s


def np_mse(u, v, s, c):
    """One term of Eq. 5 with loops: Σ_ij ((<u_i, v_j> + c)/2 − s_ij c)²."""
    total = 0.0
    for i in range(len(u)):
        for j in range(len(v)):
            total += ((np.dot(u[i], v[j]) + c) / 2.0 - s[i, j] * c) ** 2
    return total


def np_eq7(f, g, b, s, c):
    """Eq. 7: L_inter + L_intra-image + L_intra-text + (1/c)(‖B − F‖² + ‖B − G‖²)."""
    quantization = (np.sum((b - f) ** 2) + np.sum((b - g) ** 2)) / c
    return np_mse(f, g, s, c) + np_mse(f, f, s, c) + np_mse(g, g, s, c) + quantization


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_fgsc_matches_the_equations(rng):
    la = (rng.random((6, 5)) < 0.4).astype(np.float32)
    lb = (rng.random((4, 5)) < 0.4).astype(np.float32)
    la[0] = 0  # an unlabelled item: similarity 0, not NaN
    la[2] = [1, 0, 1, 1, 0]
    lb[1] = la[2]
    s = losses.fgsc_similarity(la, lb).numpy()
    np.testing.assert_allclose(s, np_fgsc(la, lb), rtol=1e-6)
    assert s[2, 1] == pytest.approx(1.0) and np.all(s[0] == 0)
    # 2 labels each, one shared: 1 / sqrt(2·2) = 0.5
    assert losses.fgsc_similarity([[1, 1, 0]], [[0, 1, 1]]).numpy()[0, 0] == pytest.approx(0.5)


def test_similarity_mse_and_quantization_match_eqs_5_and_6(rng):
    c = 8
    u, v = rng.uniform(-1, 1, (3, c)), rng.uniform(-1, 1, (5, c))
    s = rng.random((3, 5))
    assert float(losses.similarity_mse(np.float32(u), np.float32(v), np.float32(s), c)) == \
        pytest.approx(np_mse(u, v, s, c), rel=1e-5)
    b = np.sign(rng.normal(size=(3, c)))
    assert float(losses.quantization_loss(np.float32(b), np.float32(u), c)) == \
        pytest.approx(np.sum((b - u) ** 2) / c, rel=1e-5)


@pytest.mark.parametrize("modality", ["image", "text"])
def test_modality_objective_gradient_is_the_gradient_of_eq7(rng, modality):
    """∂J/∂(batch rows) = ∂L/∂(those rows of F or G), L = Eq. 7 over the whole training set,
    by central finite differences of the numpy transcription."""
    n, c, rows = 7, 4, np.array([5, 1, 2])
    f, g = rng.uniform(-0.9, 0.9, (n, c)), rng.uniform(-0.9, 0.9, (n, c))
    b = np.sign(rng.normal(size=(n, c)))
    labels = (rng.random((n, 3)) < 0.5).astype(np.float32)
    s = np_fgsc(labels, labels)
    own, other = (f, g) if modality == "image" else (g, f)

    outputs = tf.Variable(np.float32(own[rows]))
    with tf.GradientTape() as tape:
        terms = losses.modality_objective(outputs, np.float32(own), np.float32(other), np.float32(s[rows]),
                                          np.float32(b[rows]), c)
    ours = tape.gradient(terms["objective"], outputs).numpy()

    def loss_with(rows_value):
        changed = own.copy()
        changed[rows] = rows_value
        return np_eq7(changed, other, b, s, c) if modality == "image" else np_eq7(other, changed, b, s, c)

    numeric = np.zeros_like(ours)
    eps = 1e-5
    for index in np.ndindex(*numeric.shape):
        plus, minus = own[rows].copy(), own[rows].copy()
        plus[index] += eps
        minus[index] -= eps
        numeric[index] = (loss_with(plus) - loss_with(minus)) / (2 * eps)
    np.testing.assert_allclose(ours, numeric, rtol=2e-3, atol=2e-3)
    assert float(terms["inter"]) == pytest.approx(np_mse(own[rows], other, s[rows], c), rel=1e-5)
    assert float(terms["intra"]) == pytest.approx(np_mse(own[rows], own, s[rows], c), rel=1e-5)


def test_modality_objective_is_normalised_and_constant_in_the_stored_outputs(rng):
    c = 4
    out = tf.Variable(rng.uniform(-1, 1, (2, c)).astype(np.float32))
    same = tf.Variable(rng.uniform(-1, 1, (5, c)).astype(np.float32))
    other = tf.Variable(rng.uniform(-1, 1, (5, c)).astype(np.float32))
    s, b = np.float32(rng.random((2, 5))), np.float32(np.sign(rng.normal(size=(2, c))))
    with tf.GradientTape(persistent=True) as tape:
        raw = losses.modality_objective(out, same, other, s, b, c)["objective"]
        scaled = losses.modality_objective(out, same, other, s, b, c, normalizer=10.0)["objective"]
    assert float(scaled) == pytest.approx(float(raw) / 10.0)
    assert tape.gradient(raw, same) is None and tape.gradient(raw, other) is None
