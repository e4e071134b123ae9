"""DBRC: the adaptive tanh and the objective against plain-numpy transcriptions (the hand case of
docs/baselines-research/dbrc.md), and one run through the command line."""
import numpy as np
import pytest
import tensorflow as tf

from baselines.dbrc.losses import adaptive_tanh, dbrc_loss
from tests.baselines.feature_files import multilabel_toy, train_on_features, write_toy_features

X = np.array([[0.5, -1.0, 0.2, 0.0], [1.5, 0.3, -0.7, 0.9]])
Y = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
Z = np.array([[0.3, -1.2], [-0.4, 2.0]])
DX = np.array([[0.2, -0.1, 0.4, 0.3], [0.5, 0.2, -0.3, 0.1]])
DY = np.array([[0.6, -0.2, 0.1], [-0.1, 0.3, 0.4]])


def numpy_objective(alpha, lam=1e-3):
    h = np.tanh(alpha * Z)
    return ((X - h @ DX) ** 2).mean() + ((Y - h @ DY) ** 2).mean() + lam * np.sum(alpha ** -2.0)


def test_objective_and_scale_gradient_match_the_hand_case():
    alpha = tf.Variable(np.ones(2, np.float32))
    with tf.GradientTape() as tape:
        h = adaptive_tanh(tf.constant(Z, tf.float32), alpha)
        terms = dbrc_loss(X.astype(np.float32), Y.astype(np.float32), h @ DX.astype(np.float32),
                          h @ DY.astype(np.float32), alpha, 1e-3)
    np.testing.assert_allclose(h.numpy(), [[0.291313, -0.833655], [-0.379949, 0.964028]], atol=1e-6)
    # The research notes' case with per-element means (their 3.250895 sums over each row).
    assert float(terms["loss"]) == pytest.approx(0.938212, abs=1e-5)
    assert float(terms["loss"]) == pytest.approx(numpy_objective(np.ones(2)), abs=1e-5)
    # Central differences of the numpy objective: −0.025096, 0.066305.
    np.testing.assert_allclose(tape.gradient(terms["loss"], alpha).numpy(), [-0.025096, 0.066305], atol=1e-5)


def test_large_scales_give_the_signs():
    np.testing.assert_allclose(np.asarray(adaptive_tanh(Z.astype(np.float32), np.full(2, 50.0, np.float32))),
                               np.sign(Z), atol=1e-6)


def test_dbrc_runs_through_the_command_line_reads_no_label_and_raises_its_scales(tmp_path, monkeypatch):
    from sdch_tf.run import results

    rng = np.random.default_rng(8)
    labels, features, texts = multilabel_toy(rng)
    path = write_toy_features(tmp_path / "toy.h5", rng, labels, features, texts)
    assert train_on_features("dbrc", path, tmp_path, monkeypatch, "--epochs", "30", "--label-fraction", "0.5") == 0
    (result,) = results.read_results(str(tmp_path / "out"))
    assert result["uses_labels"] is False and result["split"]["train"] == 96
    epochs = result["epochs"]
    # The penalty λΣα⁻² falls as the scales grow (from 1e-3·16 at α = 1).
    assert epochs[-1]["scale_penalty"] < epochs[0]["scale_penalty"] < 1e-3 * 16
    assert epochs[-1]["loss"] < epochs[0]["loss"]
    assert result["map_i2t"] > result["untrained"]["map_i2t"] + 0.05
    assert result["map_t2i"] > result["untrained"]["map_t2i"] + 0.05
