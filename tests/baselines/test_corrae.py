"""CorrAE: the Corr-AE objective, deepnet's SGD and the CD-trained RBMs against plain-numpy
transcriptions (baselines/corrae/NOTES.md), and one run through the command line."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from baselines.corrae import rbm as rbm_lib
from baselines.corrae.config import ALPHA_GRID, IMAGE_RBM1, TEXT_RBM1, TEXT_RBM2, preset
from baselines.corrae.losses import corr_ae_loss
from baselines.corrae.model import CorrAE
from baselines.corrae.nets import build_decoder, build_encoder
from baselines.corrae.optimizer import deepnet_sgd
from tests.baselines.feature_files import multilabel_toy, train_on_features, write_toy_features


def sig(z):
    return 1 / (1 + np.exp(-z))


# A hand-sized Corr-AE: 2 pairs, image inputs of 3, texts of 2, 2-unit codes (NOTES.md, "Tests").
P = np.array([[0.2, 0.9, 0.1], [0.7, 0.3, 0.5]])
Q = np.array([[1.0, 0.0], [0.0, 1.0]])
WI = np.array([[0.1, -0.2], [0.3, 0.1], [-0.1, 0.2]])
WT = np.array([[0.2, 0.1], [-0.3, 0.4]])
WI_RECON = np.array([[0.5, -0.5, 0.1], [0.2, 0.3, -0.4]])
WT_RECON = np.array([[0.3, -0.1], [0.1, 0.2]])


def numpy_corr_ae(wi, alpha=0.8):
    """Per-pair L = (1−α)·½(‖p̂ − p‖² + ‖q̂ − q‖²) + α·½‖h_I − h_T‖², zero biases."""
    h_i, h_t = sig(P @ wi), sig(Q @ WT)
    p_hat, q_hat = sig(h_i @ WI_RECON), sig(h_t @ WT_RECON)
    return (1 - alpha) * 0.5 * (((p_hat - P) ** 2).sum(1) + ((q_hat - Q) ** 2).sum(1)) + \
        alpha * 0.5 * ((h_i - h_t) ** 2).sum(1)


def hand_model():
    """A CorrAE whose top layers hold the hand-sized weights (the RBM stacks are not used here)."""
    config = preset("smoke")
    # Top representations of 3 (image) and 2 (text) units: P and Q stand for them.
    image_rbms = tuple(dataclasses.replace(c, hidden_units=3) for c in config.image_rbms)
    text_rbms = tuple(dataclasses.replace(c, hidden_units=2) for c in config.text_rbms)
    image_net, _ = build_encoder(5, image_rbms, 2, "image")
    text_net, _ = build_encoder(5, text_rbms, 2, "text")
    model = CorrAE(image_net, text_net, build_decoder(2, 3, "image"), build_decoder(2, 2, "text"), 2, 0.8)
    for layer, kernel in ((model.image_code, WI), (model.text_code, WT),
                          (model.image_decoder.layers[-1], WI_RECON), (model.text_decoder.layers[-1], WT_RECON)):
        layer.kernel.assign(kernel)
        layer.bias.assign(np.zeros(kernel.shape[1]))
    return model


def test_corr_ae_loss_matches_the_numpy_transcription_and_the_hand_value():
    model = hand_model()
    codes_i, codes_t, recon_i, recon_t = model.autoencode(tf.constant(P, tf.float32), tf.constant(Q, tf.float32))
    terms = corr_ae_loss(P, Q, recon_i, recon_t, codes_i, codes_t, 0.8)
    expected = numpy_corr_ae(WI)
    np.testing.assert_allclose(expected, [0.093829, 0.065537], atol=1e-6)  # worked by hand, NOTES.md
    np.testing.assert_allclose(float(terms["loss"]), expected.mean(), atol=1e-6)
    np.testing.assert_allclose(float(terms["correlation"]),
                               0.5 * ((sig(P @ WI) - sig(Q @ WT)) ** 2).sum(1).mean(), atol=1e-6)
    # α weighs the correlation: at α = 1 only it is left.
    assert float(corr_ae_loss(P, Q, recon_i, recon_t, codes_i, codes_t, 1.0)["loss"]) == pytest.approx(
        float(terms["correlation"]), abs=1e-7)


def test_corr_ae_gradient_is_the_derivative_of_the_per_pair_mean():
    model = hand_model()
    with tf.GradientTape() as tape:
        codes_i, codes_t, recon_i, recon_t = model.autoencode(tf.constant(P, tf.float32), tf.constant(Q, tf.float32))
        loss = corr_ae_loss(P.astype(np.float32), Q.astype(np.float32), recon_i, recon_t, codes_i, codes_t, 0.8)["loss"]
    grad = tape.gradient(loss, model.image_code.kernel).numpy()
    numeric = np.zeros_like(WI)
    for index in np.ndindex(*WI.shape):
        step = np.zeros_like(WI)
        step[index] = 1e-6
        numeric[index] = (numpy_corr_ae(WI + step).mean() - numpy_corr_ae(WI - step).mean()) / 2e-6
    np.testing.assert_allclose(grad, numeric, atol=1e-5)


def test_deepnet_sgd_follows_parameter_update_with_decay_on_weights_only():
    kernel = tf.Variable(np.array([[1.0, -2.0]], np.float32), name="kernel")
    bias = tf.Variable(np.array([0.5, 0.5], np.float32), name="bias")
    import keras
    dense = keras.layers.Dense(2)
    dense.build((None, 1))
    dense.kernel.assign(kernel)
    dense.bias.assign(bias)
    opt = deepnet_sgd(0.1, half_life=2, initial_momentum=0.5, final_momentum=0.9, momentum_change_steps=4,
                      l2_decay=0.01)
    w, b = np.array([[1.0, -2.0]]), np.array([0.5, 0.5])
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    grads = [(np.array([[0.3, -0.1]]), np.array([0.2, 0.4])), (np.array([[-0.5, 0.2]]), np.array([0.1, -0.3]))]
    for t, (gw, gb) in enumerate(grads):
        opt.apply_gradients([(tf.constant(gw, tf.float32), dense.kernel), (tf.constant(gb, tf.float32), dense.bias)])
        m = 0.9 - 0.4 * np.exp(-t / 4)
        eps = 0.1 / (1 + t / 2)
        vw = m * vw + gw + 0.01 * w
        vb = m * vb + gb
        w, b = w - eps * vw, b - eps * vb
    np.testing.assert_allclose(dense.kernel.numpy(), w, atol=1e-6)
    np.testing.assert_allclose(dense.bias.numpy(), b, atol=1e-6)


def test_schedules_as_deepnet_computes_them():
    assert rbm_lib.momentum_at(0, 0.5, 0.9, 10000) == pytest.approx(0.5)
    assert rbm_lib.momentum_at(10000, 0.5, 0.9, 10000) == pytest.approx(0.9 - 0.4 / np.e)
    assert rbm_lib.rate_at(10000, 0.1, 10000) == pytest.approx(0.05)
    # text_rbm1: CD-1 until step 15000, then 1 + 1 + (t − 15000)//5000 steps.
    assert [rbm_lib.gibbs_steps_at(t, TEXT_RBM1) for t in (0, 15000, 15001, 19999, 20001)] == [1, 1, 2, 2, 3]
    assert rbm_lib.gibbs_steps_at(19999, IMAGE_RBM1) == 1  # start_step_up_cd_after 50000 > 20000 steps


def test_replicated_softmax_units_by_hand():
    rbm = rbm_lib.RBM("replicated_softmax", np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], np.float32),
                      np.array([0.0, 0.5, -0.5], np.float32), np.array([0.1, -0.2], np.float32), up_factor=10.0)
    counts = np.array([[2.0, 0.0, 1.0]], np.float32)  # N = 3
    # hidden input: 10·(v W) + N·c = 10·[3, 1] + 3·[0.1, −0.2]
    np.testing.assert_allclose(rbm.hidden_probabilities(counts), sig(np.array([[30.3, 9.4]])), rtol=1e-6)
    h = np.array([[1.0, 0.0]], np.float32)
    logits = np.array([1.0, 0.5, 0.5])
    np.testing.assert_allclose(rbm.visible_means(h, np.array([3.0], np.float32)),
                               [3 * np.exp(logits) / np.exp(logits).sum()], rtol=1e-6)


def numpy_cd1(kind, w, b, c, v, sparsity_cost, target, damping, means, u_hidden, up=1.0):
    """One CD-1 statistic as layer.py / edge.py collect it, with the hidden sample drawn from the
    uniforms ``u_hidden`` (the same draws as the implementation's generator)."""
    n = v.sum(1) + rbm_lib.TINY if kind == "replicated_softmax" else None
    def up_pass(x):
        pre = up * x @ w + (n[:, None] * c if n is not None else c)
        return sig(pre)
    h0 = up_pass(v)
    means = damping * means + (1 - damping) * h0.mean(0)
    s = sparsity_cost * (means - target) / (means * (1 - means))
    hs = (u_hidden < h0).astype(float)
    pre_v = hs @ w.T + b
    if kind == "gaussian":
        v1 = pre_v
    elif kind == "logistic":
        v1 = sig(pre_v)
    else:
        e = np.exp(pre_v - pre_v.max(1, keepdims=True))
        v1 = n[:, None] * e / e.sum(1, keepdims=True)
    h1 = up_pass(v1)
    edge = (lambda x: x / n[:, None]) if n is not None else (lambda x: x)
    bsz = len(v)
    return ((edge(v).T @ (h0 - s) - edge(v1).T @ h1) / bsz, (v.sum(0) - v1.sum(0)) / bsz,
            ((h0 - s).sum(0) - h1.sum(0)) / bsz)


@pytest.mark.parametrize("kind", ["gaussian", "logistic", "replicated_softmax"])
def test_cd_statistics_match_the_numpy_transcription(kind):
    rng = np.random.default_rng(0)
    v = rng.random((4, 3)).astype(np.float32)
    if kind == "replicated_softmax":
        v = rng.integers(0, 4, (4, 3)).astype(np.float32)
    w = rng.normal(size=(3, 2)).astype(np.float32)
    b, c = rng.normal(size=3).astype(np.float32), rng.normal(size=2).astype(np.float32)
    config = dataclasses.replace(TEXT_RBM2, visible=kind, sparsity_cost=0.1)
    model = rbm_lib.RBM(kind, w, b, c, up_factor=2.0)
    state = rbm_lib.CDState.start(model, config.sparsity_target)
    got = rbm_lib.cd_statistics(model, config, v, state, 0, np.random.default_rng(7))
    u = np.random.default_rng(7).random((4, 2))
    expected = numpy_cd1(kind, w, b, c, v, 0.1, config.sparsity_target, config.sparsity_damping,
                         np.full(2, config.sparsity_target), u, up=2.0)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


def test_cd_training_lowers_the_reconstruction_error():
    rng = np.random.default_rng(1)
    prototypes = (rng.random((3, 12)) < 0.5).astype(np.float32)
    data = prototypes[rng.integers(0, 3, 300)]
    config = dataclasses.replace(TEXT_RBM2, hidden_units=8, steps=400, batch_size=30, base_rate=0.1,
                                 rate_half_life=400, momentum_change_steps=100)
    before = rbm_lib.reconstruction_error(rbm_lib.initial_rbm(config, 12, np.random.default_rng(2)), data)
    trained = rbm_lib.train_rbm(config, data, np.random.default_rng(2), verbose=0)
    assert rbm_lib.reconstruction_error(trained, data) < 0.3 * before


def test_frozen_stack_layer_computes_the_numpy_stack():
    rng = np.random.default_rng(3)
    stacks = (("gaussian", (IMAGE_RBM1, TEXT_RBM2), 5), ("replicated_softmax", (TEXT_RBM1, TEXT_RBM2), 6))
    for kind, configs, dim in stacks:
        configs = tuple(dataclasses.replace(c, hidden_units=h, init_std=0.3) for c, h in zip(configs, (4, 3)))
        _, stack = build_encoder(dim, configs, 2, "image")
        rbms = [rbm_lib.initial_rbm(configs[0], dim, rng), rbm_lib.initial_rbm(configs[1], 4, rng)]
        for r in rbms:
            r.hidden_bias = rng.normal(size=r.hidden_bias.shape).astype(np.float32)
        x = rng.integers(0, 3, (7, dim)).astype(np.float32)
        mean, std = x.mean(0), x.std(0) + 0.5
        stack.set_stack(rbms, mean, std)
        inputs = (x - mean) / std if kind == "gaussian" else x
        expected = rbms[1].hidden_probabilities(rbms[0].hidden_probabilities(inputs))
        np.testing.assert_allclose(np.asarray(stack(x)), expected, rtol=1e-5, atol=1e-6)


def test_corrae_runs_through_the_command_line_reads_no_label_and_shares_its_rbms(tmp_path, monkeypatch):
    from sdch_tf.run import results

    rng = np.random.default_rng(4)
    labels, features, texts = multilabel_toy(rng)
    path = write_toy_features(tmp_path / "toy.h5", rng, labels, features, texts)
    assert train_on_features("corrae", path, tmp_path, monkeypatch, "--label-fraction", "0.5") == 0
    (result,) = results.read_results(str(tmp_path / "out"))
    assert result["uses_labels"] is False and result["method"] == "corrae"
    assert result["split"]["train"] == 96
    first = result["epochs"][0]
    assert len(result["epochs"]) == 2 and first["seconds"] >= first["rbm_seconds"] + first["alpha_seconds"]
    assert first["alpha"] in ALPHA_GRID and 0 < first["validation_map"] <= 1  # chosen on held-out pairs
    losses = [e["loss"] for e in result["epochs"]]
    assert losses[1] < losses[0]
    # The RBM stacks do not depend on the code length: a 32-bit run of the same seed reads them.
    assert len(list((tmp_path / "cache" / "stages").glob("corrae-rbm-stacks-*.npz"))) == 1
    assert train_on_features("corrae", path, tmp_path, monkeypatch, "--label-fraction", "0.5", "--bits", "32") == 0
    (second,) = [r for r in results.read_results(str(tmp_path / "out")) if r["bits"] == 32]
    assert second["epochs"][0]["rbm_seconds"] == first["rbm_seconds"]  # the recorded time of the one training
