"""CM-NN: the contrastive loss against a plain-numpy transcription and hand values
(baselines/cmnn/NOTES.md), and one run through the command line."""
import numpy as np
import pytest
import tensorflow as tf

from baselines.cmnn.config import MARGIN_GRID
from baselines.cmnn.losses import cmnn_loss, contrastive_loss, label_similarity
from tests.baselines.feature_files import multilabel_toy, train_on_features, write_toy_features


def numpy_contrastive(a, b, s, m):
    """½ mean_ij [s_ij d_ij² + (1 − s_ij) max(0, m − d_ij)²], d_ij = ‖a_i − b_j‖."""
    d = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    return 0.5 * np.mean(s * d ** 2 + (1 - s) * np.maximum(0, m - d) ** 2)


def test_contrastive_loss_by_hand():
    a = np.array([[1.0, 0.0]], np.float32)
    b = np.array([[0.0, 0.0], [3.0, 0.0], [0.5, 0.0]], np.float32)
    s = np.array([[1.0, 0.0, 0.0]], np.float32)
    # d = 1, 2, 0.5: the similar pair costs 1², the far dissimilar one nothing (2 = m), the near
    # one (2 − 0.5)² = 2.25; ½ · (1 + 0 + 2.25) / 3.
    assert float(contrastive_loss(a, b, s, 2.0)) == pytest.approx(0.5 * 3.25 / 3, abs=1e-6)


def test_contrastive_loss_matches_the_transcription_and_has_finite_gradients_at_equal_codes():
    rng = np.random.default_rng(0)
    a = np.tanh(rng.normal(size=(5, 4))).astype(np.float32)
    b = np.tanh(rng.normal(size=(5, 4))).astype(np.float32)
    b[2] = a[2]  # a pair at distance 0
    labels = (rng.random((5, 3)) < 0.4).astype(np.float32)
    s = (labels @ labels.T > 0).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(label_similarity(labels, labels)), s)
    assert float(contrastive_loss(a, b, s, 1.5)) == pytest.approx(numpy_contrastive(a, b, s, 1.5), rel=1e-5)
    ta = tf.Variable(a)
    with tf.GradientTape() as tape:
        loss = cmnn_loss(ta, b, labels, 1.5)["loss"]
    assert np.all(np.isfinite(tape.gradient(loss, ta).numpy()))


def test_intra_modal_terms_enter_only_with_their_weights():
    rng = np.random.default_rng(1)
    a, b = (np.tanh(rng.normal(size=(4, 3))).astype(np.float32) for _ in range(2))
    labels = np.eye(4, dtype=np.float32)[[0, 0, 1, 2]]
    s = (labels @ labels.T > 0).astype(np.float32)
    terms = cmnn_loss(a, b, labels, 1.0)
    assert float(terms["loss"]) == pytest.approx(float(terms["cross_modal"]))
    weighted = cmnn_loss(a, b, labels, 1.0, image_intra_weight=0.5, text_intra_weight=2.0)
    expected = numpy_contrastive(a, b, s, 1.0) + 0.5 * numpy_contrastive(a, a, s, 1.0) + \
        2.0 * numpy_contrastive(b, b, s, 1.0)
    assert float(weighted["loss"]) == pytest.approx(expected, rel=1e-5)


def test_cmnn_runs_through_the_command_line_and_learns(tmp_path, monkeypatch):
    from sdch_tf.run import results

    rng = np.random.default_rng(6)
    labels, features, texts = multilabel_toy(rng)
    path = write_toy_features(tmp_path / "toy.h5", rng, labels, features, texts)
    assert train_on_features("cmnn", path, tmp_path, monkeypatch, "--epochs", "20") == 0
    (result,) = results.read_results(str(tmp_path / "out"))
    assert result["uses_labels"] is True and result["method"] == "cmnn"
    first = result["epochs"][0]
    assert first["margin"] in MARGIN_GRID and first["seconds"] >= first["margin_seconds"] > 0
    assert result["map_i2t"] > result["untrained"]["map_i2t"] + 0.1
    assert result["map_t2i"] > result["untrained"]["map_t2i"] + 0.1
