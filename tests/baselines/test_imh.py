"""IMH (Song et al., SIGMOD 2013): the matrices against their definitions and hand-solved cases
(docs/baselines-research/imh.md §9), the u → ∞ limit used by the parameter search, and a run
through the command line that records that IMH reads no label (baselines/imh/NOTES.md)."""
import numpy as np
import pytest

from baselines.imh import losses, solver
from tests.baselines.feature_files import train_on_features, write_toy_features


def test_ridge_residual_is_beta_times_the_regularised_inverse():
    x = np.random.default_rng(0).normal(size=(7, 3))
    beta = 0.7
    np.testing.assert_allclose(losses.ridge_residual(x, beta), beta * np.linalg.inv(x @ x.T + beta * np.eye(7)),
                               atol=1e-12)


def test_knn_laplacian_by_hand():
    # Points 0, 1, 3 on a line, k = 1: 0 → 1, 1 → 0, 3 → 1; W = (W + Wᵀ)/2 gives W01 = 1, W12 = 0.5.
    laplacian = losses.knn_laplacian(np.array([[0.0], [1.0], [3.0]]), 1)
    np.testing.assert_allclose(laplacian, [[1, -1, 0], [-1, 1.5, -0.5], [0, -0.5, 0.5]])


TOY1, TOY2 = np.array([[1.0], [-1.0]]), np.array([[2.0], [-2.0]])


def test_hand_solved_pair_taking_the_smallest_eigenvector():
    # C's eigenvalues 0.84443 (on [1, −1]/√2) and 1.99990; W₁ = √2/3, W₂ = 2√2/9 up to a common sign.
    got = solver.solve_imh(TOY1, TOY2, bits=1, neighbours=1, beta=1.0, lam=0.1, inter_weight=1e4,
                           skip_smallest=False)
    assert got["eigenvalues"][0] == pytest.approx(0.84443, abs=1e-5)
    sign = np.sign(got["w1"][0, 0])
    assert got["w1"][0, 0] * sign == pytest.approx(np.sqrt(2) / 3, rel=1e-3)
    assert got["w2"][0, 0] * sign == pytest.approx(2 * np.sqrt(2) / 9, rel=1e-3)
    # The pair shares its code and the two items are apart.
    np.testing.assert_array_equal(np.sign(TOY1 @ got["w1"]), np.sign(TOY2 @ got["w2"]))
    assert np.sign(TOY1 @ got["w1"])[0, 0] != np.sign(TOY1 @ got["w1"])[1, 0]


def test_hand_solved_pair_skipping_the_smallest_eigenvector_as_the_original():
    # idx(2:r+1) takes the constant eigenvector (eigenvalue ≈ 2): W = 0 for centred data.
    got = solver.solve_imh(TOY1, TOY2, bits=1, neighbours=1, beta=1.0, lam=0.1, inter_weight=1e4,
                           skip_smallest=True)
    assert got["eigenvalues"][0] == pytest.approx(1.99990, abs=1e-5)
    assert abs(got["w1"][0, 0]) < 1e-12 and abs(got["w2"][0, 0]) < 1e-12


def test_large_inter_weight_tends_to_the_limit_used_by_the_search():
    rng = np.random.default_rng(1)
    x1 = rng.normal(size=(30, 4))
    x2 = x1 @ rng.normal(size=(4, 5)) + 0.1 * rng.normal(size=(30, 5))
    x1, x2 = x1 - x1.mean(0), x2 - x2.mean(0)
    exact = solver.solve_imh(x1, x2, 3, 5, 0.5, 0.2, 1e7, skip_smallest=False)
    residuals = losses.ridge_residual(x1, 0.5) + losses.ridge_residual(x2, 0.5)
    laplacians = losses.knn_laplacian(x1, 5) + losses.knn_laplacian(x2, 5)
    w1, w2 = solver.limit_codes(x1, x2, 3, residuals, laplacians, 0.5, 0.2, False)
    for ours, limit, x in ((exact["w1"], w1, x1), (exact["w2"], w2, x2)):
        for a, b in zip((x @ ours).T, (x @ limit).T):  # the same projections up to sign
            assert min(np.abs(a - b).max(), np.abs(a + b).max()) < 1e-4 * np.abs(a).max()
    # Y₂ = E Y₁ ≈ Y₁: paired items get (almost) the same relaxed codes.
    assert np.abs(exact["y1"] - exact["y2"]).max() < 1e-5


def test_parameter_search_scores_the_whole_grid_and_returns_its_best():
    rng = np.random.default_rng(2)
    labels = np.repeat(np.eye(3, dtype=np.uint8), 20, axis=0)
    x1 = labels @ rng.normal(size=(3, 6)) + 0.3 * rng.normal(size=(60, 6))
    x2 = labels @ rng.normal(size=(3, 8)) + 0.3 * rng.normal(size=(60, 8))
    beta, lam, scores = solver.select_parameters(x1 - x1.mean(0), x2 - x2.mean(0), labels, 2, 5, False,
                                                 np.random.default_rng(0))
    assert len(scores) == 25 and scores[f"beta={beta:g},lambda={lam:g}"] == max(scores.values())
    # Three separated classes (chance ≈ 0.33): the best setting finds them, the worst does not.
    assert max(scores.values()) > 0.8 and min(scores.values()) < 0.6


def test_imh_runs_through_the_command_line_and_records_that_it_reads_no_label(tmp_path, monkeypatch):
    from sdch_tf.run import results

    rng = np.random.default_rng(5)
    n, concepts = 240, 4
    labels = np.eye(concepts, dtype=np.uint8)[rng.integers(0, concepts, n)]
    features = (labels @ rng.normal(size=(concepts, 12)) + 0.3 * rng.normal(size=(n, 12))).astype(np.float32)
    texts = (labels @ rng.normal(size=(concepts, 9)) + 0.3 * rng.normal(size=(n, 9))).astype(np.float32)
    path = write_toy_features(tmp_path / "toy.h5", rng, labels, features, texts)
    out = tmp_path / "out"
    assert train_on_features("imh", path, tmp_path, monkeypatch, "--label-fraction", "0.5") == 0
    (result,) = results.read_results(str(out))
    assert result["uses_labels"] is False
    assert result["split"]["train"] == 96  # every training pair, the unlabelled ones too
    assert result["map_i2t"] > result["untrained"]["map_i2t"] + 0.2
    assert result["map_t2i"] > result["untrained"]["map_t2i"] + 0.2
