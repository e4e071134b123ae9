"""SCM (Zhang & Li, AAAI 2014): the label algebra, both solvers against plain numpy transcriptions
of the authors' MATLAB (trainSCM_seq.m, trainSCM_orth.m, trainCCA.m) and a hand-solved case, and
one run through the command line (baselines/scm/NOTES.md)."""
import numpy as np
import pytest

from baselines.scm import losses, solver
from tests.baselines.feature_files import multilabel_toy, train_on_features, write_toy_features

# Two classes of two items, x = y (docs/baselines-research/scm.md §9): S = b bᵀ with b = [1, −1, 1, −1].
TOY_X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
TOY_LABELS = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
TOY_CLASS_BITS = np.array([1, -1, 1, -1])


def dense_similarity(labels):
    """S = 2 cos(l_i, l_j) − 1, formed in full (an unlabelled row: −1 against every item)."""
    binary = (np.asarray(labels) > 0).astype(float)
    norms = np.linalg.norm(binary, axis=1, keepdims=True)
    unit = np.divide(binary, norms, out=np.zeros_like(binary), where=norms > 0)
    return 2 * unit @ unit.T - 1


def test_semantic_cross_covariance_equals_the_dense_product():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 5)), rng.normal(size=(30, 4))
    labels = (rng.random((30, 6)) < 0.3).astype(np.uint8)
    labels[3] = 0  # an unlabelled item
    expected = x.T @ dense_similarity(labels) @ y
    np.testing.assert_allclose(losses.semantic_cross_covariance(x, y, labels), expected, rtol=1e-10, atol=1e-10)


def test_normalized_labels_binarise_and_keep_unlabelled_rows_zero():
    got = losses.normalized_labels(np.array([[2, 0, 1], [0, 0, 0]]))
    np.testing.assert_allclose(got, [[1 / np.sqrt(2), 0, 1 / np.sqrt(2)], [0, 0, 0]])


def test_objective_is_the_mean_squared_error_against_c_times_s():
    rng = np.random.default_rng(1)
    codes_x, codes_y = np.sign(rng.normal(size=(9, 3))), np.sign(rng.normal(size=(9, 3)))
    labels = (rng.random((9, 4)) < 0.5).astype(np.uint8)
    expected = ((codes_x @ codes_y.T - 3 * dense_similarity(labels)) ** 2).mean()
    assert losses.scm_objective(codes_x, codes_y, labels, chunk=4) == pytest.approx(expected, rel=1e-12)
    # Codes that are the class bits fit S of the toy exactly: B Bᵀ = c S.
    codes = np.repeat(TOY_CLASS_BITS[:, None], 2, axis=1)
    assert losses.scm_objective(codes, codes, TOY_LABELS) == pytest.approx(0.0, abs=1e-12)


def test_seq_on_the_hand_solved_case():
    # C₁ = 2·[[4, 4], [4, 4]], C_xx = C_yy = 2I: μ₁ = 64; the residual C₂ = C₁ − (Xᵀb)(Xᵀb)ᵀ gives μ₂ = 16;
    # both bits are the class bits.
    got = solver.solve_seq(TOY_X, TOY_X, TOY_LABELS, bits=2, ridge=1e-6)
    np.testing.assert_allclose(got["eigenvalues"], [64, 16], rtol=1e-5)
    assert got["sequential_bits"] == 2
    for w in (got["w_x"], got["w_y"]):
        bits = np.sign(TOY_X @ w)
        for column in bits.T:
            assert abs(column @ TOY_CLASS_BITS) == 4  # the class bits up to a global sign
    # Each bit's image code and text code agree (w_y follows w_x's sign).
    np.testing.assert_array_equal(np.sign(TOY_X @ got["w_x"]), np.sign(TOY_X @ got["w_y"]))


def test_orth_on_the_hand_solved_case():
    got = solver.solve_orth(TOY_X, TOY_X, TOY_LABELS, bits=2, ridge=1e-6)
    np.testing.assert_allclose(got["eigenvalues"], [64, 0], atol=1e-4)
    first = np.sign(TOY_X @ got["w_x"][:, 0])
    assert abs(first @ TOY_CLASS_BITS) == 4
    # The second direction (eigenvalue 0) is [1, −1]: a bit across the classes.
    second = got["w_x"][:, 1] / np.linalg.norm(got["w_x"][:, 1])
    assert abs(second @ np.array([1, -1]) / np.sqrt(2)) == pytest.approx(1.0, abs=1e-6)


def matlab_train_cca(cxx, cyy, cxy, k):
    """trainCCA.m in numpy: eig(A, B) with A = Cxy / Cyy * Cxy', B = Cxx; top k; Wy = Cyy \\ Cxy' * Wx / sqrt(eigv)."""
    a = cxy @ np.linalg.inv(cyy) @ cxy.T
    values, vectors = np.linalg.eig(np.linalg.solve(cxx, a))
    order = np.argsort(-values.real)[:k]
    values, vectors = values.real[order], vectors.real[:, order]
    w_y = np.linalg.solve(cyy, cxy.T) @ vectors / np.sqrt(values)
    return vectors, w_y, values


def matlab_train_scm_seq(x, y, labels, bits, ridge):
    """trainSCM_seq.m in numpy, statement by statement (S through the labels, CCA fallback)."""
    n = x.shape[0]
    binary = (labels > 0).astype(float)
    length = np.sqrt((binary ** 2).sum(axis=1))
    length[length == 0] = 1e-8
    l_tilde = binary / length[:, None]
    cxx = x.T @ x + ridge * np.eye(x.shape[1])
    cyy = y.T @ y + ridge * np.eye(y.shape[1])
    w_x, w_y, _ = matlab_train_cca(cxx, cyy, x.T @ y, bits)
    cxy = bits * (2 * (x.T @ l_tilde) @ (y.T @ l_tilde).T - np.outer(x.T @ np.ones(n), y.T @ np.ones(n)))
    last, values = np.inf, []
    for i in range(bits):
        wx, wy, eigv = matlab_train_cca(cxx, cyy, cxy, 1)
        if eigv[0] > last:
            break
        last = eigv[0]
        values.append(eigv[0])
        w_x[:, i], w_y[:, i] = wx[:, 0], wy[:, 0]
        cxy = cxy - np.outer(x.T @ np.sign(x @ wx[:, 0]), y.T @ np.sign(y @ wy[:, 0]))
    return w_x, w_y, np.array(values)


def _random_problem(seed=2, n=60):
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, 5)) < 0.3).astype(np.uint8)
    x = labels @ rng.normal(size=(5, 7)) + 0.5 * rng.normal(size=(n, 7))
    y = labels @ rng.normal(size=(5, 6)) + 0.5 * rng.normal(size=(n, 6))
    return x - x.mean(axis=0), y - y.mean(axis=0), labels


def _same_codes(w_ours, w_theirs, rows):
    """Columns give the same codes on ``rows`` up to each column's sign (eigenvectors' sign is free)."""
    ours, theirs = np.sign(rows @ w_ours), np.sign(rows @ w_theirs)
    for a, b in zip(ours.T, theirs.T):
        assert np.array_equal(a, b) or np.array_equal(a, -b)


def test_seq_matches_the_transcribed_matlab_on_random_data():
    x, y, labels = _random_problem()
    ours = solver.solve_seq(x, y, labels, bits=4, ridge=1e-6)
    w_x, w_y, values = matlab_train_scm_seq(x, y, labels, 4, 1e-6)
    np.testing.assert_allclose(ours["eigenvalues"], values, rtol=1e-6)
    _same_codes(ours["w_x"], w_x, x)
    _same_codes(ours["w_y"], w_y, y)


def test_orth_matches_the_transcribed_matlab_on_random_data():
    x, y, labels = _random_problem(seed=3)
    ours = solver.solve_orth(x, y, labels, bits=3, ridge=1e-6)
    cxx, cyy = solver.covariances(x, y, 1e-6)
    w_x, w_y, values = matlab_train_cca(cxx, cyy, 3 * losses.semantic_cross_covariance(x, y, labels), 3)
    np.testing.assert_allclose(ours["eigenvalues"], values, rtol=1e-6)
    _same_codes(ours["w_x"], w_x, x)
    _same_codes(ours["w_y"], w_y, y)


def test_scm_trains_through_the_command_line_from_a_features_file(tmp_path, monkeypatch, capsys):
    from sdch_tf.run import results

    rng = np.random.default_rng(4)
    path = write_toy_features(tmp_path / "toy.h5", rng, *multilabel_toy(rng))
    out = tmp_path / "out"
    assert train_on_features("scm", path, tmp_path, monkeypatch) == 0
    (result,) = results.read_results(str(out))
    assert result["method"] == "scm" and result["dataset"] == "toy"
    assert result["split"] == {"query": 40, "database": 200, "train": 96}
    # Features that carry the labels: SCM lands far above its random projections.
    assert result["map_i2t"] > result["untrained"]["map_i2t"] + 0.2
    assert result["map_t2i"] > result["untrained"]["map_t2i"] + 0.2
    (record,) = result["epochs"]
    assert record["objective"] < record["objective_before"] and record["sequential_bits"] == 16
    assert not (tmp_path / "cache").exists()  # a features file needs no extraction

    # A split size the file does not have is refused, naming both.
    assert train_on_features("scm", path, tmp_path, monkeypatch, "--num-train", "50") != 0
    err = capsys.readouterr().err
    assert "error:" in err and "96 train items" in err and "50" in err


def test_features_option_is_refused_by_an_image_method(tmp_path, capsys):
    from sdch_tf import train

    assert train.main(["--method", "sdch", "--preset", "smoke", "--features", str(tmp_path / "x.h5"),
                       "--out", str(tmp_path)]) != 0
    assert "--features does not apply to --method sdch" in capsys.readouterr().err
