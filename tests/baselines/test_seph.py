"""SePH (Lin et al., CVPR 2015): P, Q, the KL divergence and its gradient on hand-solved cases and
against a dense numpy transcription of minKLD.m, the kernel pieces, the code learning on
separable classes, and one run through the command line (baselines/seph/NOTES.md)."""
import numpy as np
import pytest

from baselines.seph import codes, kernels, losses
from tests.baselines.feature_files import multilabel_toy, train_on_features, write_toy_features

# docs/baselines-research/seph.md §8: y1 = [1, 0], y2 = [1, 1], y3 = [0, 1]; H with Hamming
# distances 1, 1 and 2.
LABELS = np.array([[1, 0], [1, 1], [0, 1]])
H = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])


def test_p_from_labels_by_hand():
    y_hat = losses.unit_labels(LABELS)
    assert losses.affinity_total(y_hat) == pytest.approx(2 * np.sqrt(2))
    p = losses.affinity_rows(y_hat, slice(0, 3), losses.affinity_total(y_hat))
    np.testing.assert_allclose(p, [[0, 0.25, 0], [0.25, 0, 0.25], [0, 0.25, 0]], atol=1e-300)
    assert p[0, 2] == losses.REALMIN and p[0, 0] == losses.REALMIN


def test_kl_and_gradient_by_hand():
    y_hat = losses.unit_labels(LABELS)
    # num = 1/2, 1/2, 1/3, Σ over ordered pairs 8/3: Q12 = Q23 = 3/16, Q13 = 1/8; KL = log(4/3).
    cross_entropy, gradient = losses.kl_and_gradient(H, y_hat, block=2)
    assert losses.kl_constant(y_hat) + cross_entropy == pytest.approx(np.log(4 / 3), rel=1e-12)
    np.testing.assert_allclose(gradient, [[-1 / 12, -1 / 48], [1 / 16, -1 / 16], [1 / 48, 1 / 12]], rtol=1e-12)
    assert losses.quantization(H) == 0


def dense_minkld_terms(codes_, labels, p_scale=1.0):
    """minKLD.m's statements on full n × n matrices: (−Σ P log Q, (diag(sum(L, 2)) − L) H)."""
    y = np.asarray(labels, float)
    norms = np.sqrt((y * y).sum(1))
    norms[norms == 0] = 1
    y = y / norms[:, None]
    p = y @ y.T
    np.fill_diagonal(p, 0)
    p = 0.5 * (p + p.T)
    p = np.maximum(p / p.sum(), np.finfo(float).tiny) * p_scale
    sq = (codes_ ** 2).sum(1)
    num = 1 / (1 + 0.25 * (sq[:, None] + sq[None, :] - 2 * codes_ @ codes_.T))
    np.fill_diagonal(num, 0)
    q = np.maximum(num / num.sum(), np.finfo(float).tiny)
    lmat = (p - q) * num
    return -(p * np.log(q)).sum(), (np.diag(lmat.sum(1)) - lmat) @ codes_


def test_blocked_kl_gradient_equals_the_dense_transcription():
    rng = np.random.default_rng(0)
    labels = (rng.random((23, 5)) < 0.3).astype(np.uint8)
    labels[4] = 0  # an unlabelled item
    h = rng.normal(size=(23, 4))
    y_hat = losses.unit_labels(labels)
    for scale in (1.0, 4.0):
        dense = dense_minkld_terms(h, labels, scale)
        for block in (1, 5, 23):
            ours = losses.kl_and_gradient(h, y_hat, scale, block=block)
            assert ours[0] == pytest.approx(dense[0], rel=1e-10)
            np.testing.assert_allclose(ours[1], dense[1], rtol=1e-9, atol=1e-15)


def test_gradient_matches_finite_differences_with_the_quantisation_term():
    rng = np.random.default_rng(1)
    labels = (rng.random((8, 3)) < 0.5).astype(np.uint8)
    h = rng.normal(size=(8, 2))
    y_hat, alpha = losses.unit_labels(labels), 0.3

    def objective(x):
        return losses.kl_and_gradient(x, y_hat)[0] + alpha * losses.quantization(x)

    grad = losses.kl_and_gradient(h, y_hat)[1] + alpha * losses.quantization_gradient(h)
    step = 1e-6
    for i, j in [(0, 0), (3, 1), (7, 0)]:
        e = np.zeros_like(h)
        e[i, j] = step
        assert (objective(h + e) - objective(h - e)) / (2 * step) == pytest.approx(grad[i, j], rel=1e-5)


def test_code_learning_separates_two_classes():
    # §8.7: two classes of ten; sign(H*) gives one code per class, the two codes differ.
    labels = np.repeat(np.eye(2, dtype=np.uint8), 10, axis=0)
    learned = codes.learn_codes(labels, 2, 0.01 / (2 * 20), codes.KLSchedule(), np.random.default_rng(0))
    signs = np.sign(learned["codes"])
    assert len({tuple(r) for r in signs[:10]}) == 1 and len({tuple(r) for r in signs[10:]}) == 1
    assert not np.array_equal(signs[0], signs[10])
    y_hat = losses.unit_labels(labels)
    start = losses.kl_constant(y_hat) + losses.kl_and_gradient(1e-4 * np.ones((20, 2)), y_hat)[0]
    assert learned["kl"] < start - 0.3  # from Q uniform (codes near 0) to Q that follows P


def test_rbf_width_is_the_mean_squared_distance_over_all_pairs():
    x = np.random.default_rng(2).normal(size=(9, 4)) + 3.0
    dense = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1).mean()
    assert kernels.rbf_width(x) == pytest.approx(dense, rel=1e-12)
    assert kernels.rbf_width(np.array([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(2.0)  # §8.4
    k = kernels.rbf_kernel(np.array([[1.0, 0.0]]), np.array([[-1.0, 0.0], [1.0, 0.0]]), 2.0)
    np.testing.assert_allclose(k, [[np.exp(-2.0), 1.0]])  # exp(−d²/σ²), no factor 2


def test_kernel_logistic_regression_one_dimension_by_hand():
    # §8.5: minimise log(1 + e^{−w}) + 0.01 w²: 1 / (1 + e^{w}) = 0.02 w at w* = 2.81799.
    w = kernels.fit_logistic(np.array([[1.0]]), np.array([1.0]), np.array([[1.0]]), 0.01)
    assert w[0] == pytest.approx(2.81799, abs=1e-4)
    assert losses.logistic_loss(w, np.array([[1.0]]), np.array([1.0]), np.array([[1.0]]), 0.01)[0] == \
        pytest.approx(0.137421, abs=1e-6)


def test_logistic_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    kernel, kernel0 = rng.random((7, 3)), np.eye(3) + 0.1
    targets, w = np.sign(rng.normal(size=7)), rng.normal(size=3)
    _, grad = losses.logistic_loss(w, kernel, targets, kernel0, 0.05)
    for j in range(3):
        e = np.zeros(3)
        e[j] = 1e-6
        numeric = (losses.logistic_loss(w + e, kernel, targets, kernel0, 0.05)[0]
                   - losses.logistic_loss(w - e, kernel, targets, kernel0, 0.05)[0]) / 2e-6
        assert numeric == pytest.approx(grad[j], rel=1e-6)


def test_kmeans_finds_separated_clusters():
    rng = np.random.default_rng(4)
    means = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = np.concatenate([m + 0.1 * rng.normal(size=(20, 2)) for m in means])
    centres = kernels.kmeans_centres(x, 3, np.random.default_rng(0))
    got = centres[np.argsort(centres[:, 0] + 2 * centres[:, 1])]
    want = np.stack([x[i * 20:(i + 1) * 20].mean(0) for i in range(3)])
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_seph_trains_through_the_command_line_from_a_features_file(tmp_path, monkeypatch):
    from sdch_tf.run import results

    rng = np.random.default_rng(5)
    path = write_toy_features(tmp_path / "toy.h5", rng, *multilabel_toy(rng))
    out = tmp_path / "out"
    assert train_on_features("seph", path, tmp_path, monkeypatch) == 0
    (result,) = results.read_results(str(out))
    assert result["map_i2t"] > result["untrained"]["map_i2t"] + 0.1
    assert result["map_t2i"] > result["untrained"]["map_t2i"] + 0.1
    (record,) = result["epochs"]
    assert record["image_bit_agreement"] > 0.8 and record["text_bit_agreement"] > 0.8


def test_too_many_kmeans_centres_are_refused_before_training(tmp_path, capsys):
    from sdch_tf import train

    assert train.main(["--method", "seph", "--preset", "smoke", "--num-train", "30", "--out", str(tmp_path),
                       "--quiet"]) != 0
    assert "centres <= 15" in capsys.readouterr().err
