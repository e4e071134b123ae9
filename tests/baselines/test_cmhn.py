"""CMHN (Liong et al., ICIP 2017): each step against a plain transcription of its equation,
the alternation's effect on the variables, and end-to-end runs."""
import dataclasses
import json
import os

import keras
import numpy as np
import pytest
import scipy.optimize

from baselines.cmhn import losses
from baselines.cmhn.codes import binary_code_step
from baselines.cmhn.config import preset
from baselines.cmhn.model import CMHN
from sdch_tf.training.optimizers import make_optimizer
from baselines.cmhn.svm import fit_linear_svm, fit_projection
from baselines.cmhn.unified import check_unified_split
from sdch_tf.data.split import make_split


# ------------------------------------------------------------------ classification step (Eq. 3)


def test_svm_two_symmetric_points_hand_solved():
    # Hard margin (large C): the maximum-margin hyperplane of ±(1, 1) is w = (½, ½), bias 0,
    # margin exactly 1 on both points.
    w, bias = fit_linear_svm(np.array([[1.0, 1.0], [-1.0, -1.0]]), np.array([1, -1]), c=1e3)
    np.testing.assert_allclose(w, [0.5, 0.5], atol=1e-6)
    assert bias == pytest.approx(0.0, abs=1e-6)


def test_svm_sign_does_not_depend_on_libsvm_label_order():
    # LibSVM's decision value is positive for the first label it meets: here −1. The weight
    # vector must still point to the +1 class.
    x = np.array([[2.0, 0.0], [0.0, 0.5]])
    for order in ([0, 1], [1, 0]):
        w, bias = fit_linear_svm(x[order], np.array([1, -1])[order], c=1e3)
        # Hand-solved: w ∝ x+ − x− = (2, −0.5) with w·(x+ − x−) = 2, so w = (16/17, −4/17);
        # w·x+ + b = 1 gives b = 1 − 32/17 = −15/17.
        np.testing.assert_allclose(w, [16 / 17, -4 / 17], atol=1e-6)
        assert bias == pytest.approx(-15 / 17, abs=1e-6)
        assert np.sign(x @ w + bias).tolist() == [1.0, -1.0]


def primal_objective(w, bias, x, y, c):
    """½‖w‖² + C Σ max(0, 1 − y (w·x + b)), LibSVM's form of Eq. 3 with a bias."""
    return 0.5 * w @ w + c * np.maximum(0.0, 1.0 - y * (x @ w + bias)).sum()


def test_svm_minimises_the_primal_objective_on_a_noisy_problem():
    rng = np.random.default_rng(0)
    x = np.where(rng.random((40, 3)) < 0.5, -1.0, 1.0)
    y = np.where(x[:, 0] + 0.5 * x[:, 1] + rng.normal(0, 0.8, 40) > 0, 1, -1)
    w, bias = fit_linear_svm(x, y, c=0.5)
    found = primal_objective(w, bias, x, y, 0.5)
    best = scipy.optimize.minimize(lambda p: primal_objective(p[:3], p[3], x, y, 0.5), np.zeros(4),
                                   method="Powell", options={"xtol": 1e-8, "ftol": 1e-10}).fun
    assert found <= best + 1e-3
    assert np.linalg.norm(w) > 0.1  # informative features: not the trivial w = 0


def test_svm_one_class_problem_gives_zero_weights():
    x = np.ones((4, 3))
    for value in (1, -1):
        w, bias = fit_linear_svm(x, np.full(4, value), c=0.5)
        assert w.tolist() == [0.0, 0.0, 0.0] and bias == value


def test_projection_has_one_column_per_class_with_signed_targets():
    rng = np.random.default_rng(1)
    codes = np.where(rng.random((60, 4)) < 0.5, -1.0, 1.0)
    # Class 0 follows bit 0, class 1 is the negation of bit 2; class 2 is never present.
    labels = np.stack([codes[:, 0] > 0, codes[:, 2] < 0, np.zeros(60, bool)], axis=1).astype(np.int64)
    projection, bias = fit_projection(codes, labels, c=0.5)
    assert projection.shape == (4, 3) and bias.shape == (3,)
    for j in range(2):
        w, b = fit_linear_svm(codes, np.where(labels[:, j] > 0, 1, -1), 0.5)
        np.testing.assert_allclose(projection[:, j], w)
        assert bias[j] == pytest.approx(b)
    assert projection[0, 0] > 0 and projection[2, 1] < 0
    assert np.array_equal(codes @ projection[:, :2] + bias[:2] >= 0, labels[:, :2] > 0)
    assert projection[:, 2].tolist() == [0.0] * 4 and bias[2] == -1.0


def test_projection_rejects_bad_input():
    with pytest.raises(ValueError, match="codes must be -1 or"):
        fit_projection(np.zeros((3, 2)), np.zeros((3, 2)), 0.5)
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        fit_projection(np.ones((3, 2)), np.full((3, 2), -1), 0.5)


# ------------------------------------------------------------------- binary code step (Eq. 7)


def test_binary_code_step_matches_eq7_elementwise():
    rng = np.random.default_rng(2)
    n, bits, num_labels, lambda1 = 7, 5, 4, 0.2
    labels = (rng.random((n, num_labels)) < 0.4).astype(np.int64)
    projection = rng.normal(size=(bits, num_labels))
    h_u, h_v = np.tanh(rng.normal(size=(n, bits))), np.tanh(rng.normal(size=(n, bits)))
    got = binary_code_step(labels, projection, h_u, h_v, lambda1)
    for i in range(n):
        for k in range(bits):
            # b_nk = sgn(Σ_j y_nj M_kj + λ1 (h_un,k + h_vn,k)), y in {0, 1}, sgn(0) = +1.
            score = sum(labels[i, j] * projection[k, j] for j in range(num_labels)) + lambda1 * (h_u[i, k] + h_v[i, k])
            assert got[i, k] == (1.0 if score >= 0 else -1.0)


def test_binary_code_step_absent_classes_do_not_push_and_zero_is_positive():
    zero = np.zeros((1, 1))
    # Class 1 is absent, so only m_0 = 1 counts: +1 (signed labels would give 1 − 2 < 0).
    assert binary_code_step([[1, 0]], np.array([[1.0, 2.0]]), zero, zero, 0.2).tolist() == [[1.0]]
    # No class: the code is the sign of λ1 (h_u + h_v) alone, sgn(0) = +1.
    assert binary_code_step([[0, 0]], np.array([[3.0, -5.0]]), zero, zero, 0.2).tolist() == [[1.0]]
    assert binary_code_step([[0, 0]], np.array([[3.0, -5.0]]), zero - 0.1, zero, 0.2).tolist() == [[-1.0]]


# ------------------------------------------------------------------ network objective (Eq. 8)


def test_network_loss_matches_eq8_transcription():
    rng = np.random.default_rng(3)
    b, bits, lambda1, alpha = 6, 4, 0.2, 0.001
    h_u, h_v = np.tanh(rng.normal(size=(b, bits))), np.tanh(rng.normal(size=(b, bits)))
    codes = np.where(rng.random((b, bits)) < 0.5, -1.0, 1.0)
    mu_u, mu_v = rng.normal(size=bits) * 0.1, rng.normal(size=bits) * 0.1
    quantization = variance = 0.0
    for i in range(b):
        for k in range(bits):
            quantization += (codes[i, k] - h_u[i, k]) ** 2 + (codes[i, k] - h_v[i, k]) ** 2
            variance += (h_u[i, k] - mu_u[k]) ** 2 + (h_v[i, k] - mu_v[k]) ** 2
    terms = losses.network_loss(h_u, h_v, codes, mu_u, mu_v, lambda1, alpha)
    assert float(terms["quantization"]) == pytest.approx(quantization, rel=1e-5)
    assert float(terms["variance"]) == pytest.approx(variance, rel=1e-5)
    assert float(terms["loss"]) == pytest.approx(lambda1 * quantization - lambda1 * alpha * variance, rel=1e-5)


def test_weight_decay_penalty_is_half_l2():
    a, b = np.array([[1.0, -2.0]]), np.array([3.0])
    assert float(losses.weight_decay_penalty([a, b], 1e-4)) == pytest.approx(0.5 * 1e-4 * (1 + 4 + 9))
    assert float(losses.weight_decay_penalty([], 1e-4)) == 0.0


def test_network_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="one shape"):
        losses.network_loss(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 4)), np.zeros(3), np.zeros(3), 0.2, 0.1)


# ------------------------------------------------------------------------- the alternation

N, BITS, CLASSES, SIDE, DIM = 12, 6, 3, 4, 5


def tiny_model(lambda1=0.2, weight_decay=1e-4, seed=0):
    keras.utils.set_random_seed(seed)
    image_in = keras.Input((SIDE, SIDE, 3))
    backbone = keras.layers.Dense(8, activation="relu", name="backbone_fc")
    x = backbone(keras.layers.Flatten()(image_in))
    image_net = keras.Model(image_in, keras.layers.Dense(BITS, activation="tanh", name="head")(x))
    text_in = keras.Input((DIM,))
    text_net = keras.Model(text_in, keras.layers.Dense(BITS, activation="tanh")(
        keras.layers.Dense(7, activation="relu")(text_in)))
    labels = (np.random.default_rng(seed).random((N, CLASSES)) < 0.5).astype(np.int64)
    labels[:, 0] = np.arange(N) % 2  # both targets present in every class problem
    model = CMHN(image_net, text_net, BITS, N, labels, lambda1, 0.001, 0.5, weight_decay,
                 backbone_variables=[backbone.kernel, backbone.bias])
    model.compile(optimizers={name: make_optimizer("momentum", 0.1, momentum=0.9) for name in ("backbone", "image", "text")})
    rng = np.random.default_rng(seed + 1)
    images = rng.normal(size=(N, SIDE, SIDE, 3)).astype(np.float32)
    texts = rng.random((N, DIM)).astype(np.float32)
    model.initialize_codes(*model.network_outputs([images], texts), seed=seed)
    return model, images, texts, labels


def snapshot(model):
    return {v.path: np.array(v) for v in model.weights}


def test_initialize_codes_is_eq7_with_the_seeded_projection():
    model, images, texts, labels = tiny_model()
    h_u, h_v = model.network_outputs([images], texts)
    projection = np.random.default_rng([0, 2]).standard_normal((BITS, CLASSES))
    np.testing.assert_allclose(np.asarray(model.projection), projection, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(model.codes), binary_code_step(labels, projection, h_u, h_v, 0.2))
    np.testing.assert_allclose(np.asarray(model.image_outputs), h_u, rtol=1e-6)


def test_train_step_updates_both_networks_and_the_batch_records_only():
    model, images, texts, labels = tiny_model()
    # Blank records, so that the step's writes show.
    model.image_outputs.assign(np.zeros((N, BITS)))
    model.text_outputs.assign(np.zeros((N, BITS)))
    before = snapshot(model)
    rows = np.array([3, 0, 7], np.int32)
    h_u, h_v = np.asarray(model.image_net(images[rows])), np.asarray(model.text_net(texts[rows]))
    batch = {"image": images[rows], "text": texts[rows], "label": labels[rows].astype(np.float32), "index": rows}
    logs = model.train_step(batch)
    after = snapshot(model)
    changed = {path for path in before if not np.array_equal(before[path], after[path])}
    trainable = {v.path for v in model.trainable_variables}
    assert trainable <= changed  # every weight of both nets and the backbone moved
    assert not any(name in path for path in changed for name in ("codes", "projection", "svm_bias"))
    for buffer, outputs in (("image_outputs", h_u), ("text_outputs", h_v)):
        path = next(p for p in before if p.endswith(buffer))
        moved = np.flatnonzero((before[path] != after[path]).any(axis=1))
        assert sorted(moved.tolist()) == sorted(rows.tolist())
        np.testing.assert_allclose(after[path][rows], outputs, rtol=1e-5, atol=1e-6)  # outputs before the update
    assert set(logs) == {"loss", "quantization", "variance"}


def test_weight_decay_is_an_l2_gradient_through_sgd():
    # With λ1 = 0 only the weight decay acts: the first momentum step is w − lr · wd · w.
    model, images, texts, labels = tiny_model(lambda1=0.0, weight_decay=0.01)
    before = {v.path: np.array(v) for v in model.trainable_variables}
    rows = np.arange(4, dtype=np.int32)
    model.train_step({"image": images[rows], "text": texts[rows], "label": labels[rows].astype(np.float32),
                      "index": rows})
    for v in model.trainable_variables:
        np.testing.assert_allclose(np.array(v), before[v.path] * (1 - 0.1 * 0.01), rtol=1e-5, atol=1e-7)


def test_update_codes_is_svm_then_eq7_and_leaves_the_networks():
    model, images, texts, labels = tiny_model()
    codes = np.asarray(model.codes).copy()
    h_u, h_v = np.asarray(model.image_outputs), np.asarray(model.text_outputs)
    weights = {v.path: np.array(v) for v in model.trainable_variables}
    stats = model.update_codes(0)
    projection, bias = fit_projection(codes, labels, 0.5)
    np.testing.assert_allclose(np.asarray(model.projection), projection, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(model.svm_bias), bias, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(model.codes), binary_code_step(labels, projection, h_u, h_v, 0.2))
    assert all(np.array_equal(np.array(v), weights[v.path]) for v in model.trainable_variables)
    assert stats["code_changes"] == pytest.approx(np.mean(np.asarray(model.codes) != codes))
    assert 0.0 <= stats["svm_accuracy"] <= 1.0


def test_checkpoint_restores_codes_projection_and_optimisers(tmp_path):
    from sdch_tf.training import checkpoint

    model, images, texts, labels = tiny_model()
    rows = np.arange(5, dtype=np.int32)
    model.train_step({"image": images[rows], "text": texts[rows], "label": labels[rows].astype(np.float32),
                      "index": rows})
    model.update_codes(0)
    checkpoint.save(tmp_path / "ckpt.npz", model, epoch=1)
    other, *_ = tiny_model(seed=5)
    assert checkpoint.restore(tmp_path / "ckpt.npz", other) == 1
    for mine, theirs in zip(model.weights, other.weights):
        np.testing.assert_array_equal(np.array(mine), np.array(theirs))
    for name, optimizer in model.optimizers_by_name.items():
        for mine, theirs in zip(optimizer.variables, other.optimizers_by_name[name].variables):
            np.testing.assert_array_equal(np.array(mine), np.array(theirs))


def test_model_rejects_labels_of_the_wrong_shape():
    model, *_ = tiny_model()
    with pytest.raises(ValueError, match="labels must be"):
        CMHN(model.image_net, model.text_net, BITS, N + 1, np.zeros((N, CLASSES)), 0.2, 0.001, 0.5, 1e-4,
             backbone_variables=model.image_net.trainable_variables[:1])


# ---------------------------------------------------------------------------- end to end


def test_smoke_run_writes_a_cmhn_result(tmp_path):
    from sdch_tf import train

    assert train.main(["--method", "cmhn", "--preset", "smoke", "--out", str(tmp_path), "--quiet"]) == 0
    (run,) = os.listdir(tmp_path / "runs")
    result = json.loads((tmp_path / "runs" / run / "result.json").read_text())
    assert result["method"] == "cmhn" and result["bits"] == 16 and len(result["epochs"]) == 3
    assert 0.0 < result["map_i2t"] <= 1.0 and 0.0 < result["map_t2i"] <= 1.0
    assert {"svm_accuracy", "code_changes", "quantization"} <= set(result["epochs"][-1])


def test_unified_codes_need_the_whole_database_as_training_set(tmp_path):
    split = make_split(100, 20, 50, seed=0)
    with pytest.raises(ValueError, match="--num-train 80"):
        check_unified_split(split)
    check_unified_split(make_split(100, 20, 80, seed=0))


def test_unified_scores_are_written_when_asked(tmp_path):
    from sdch_tf.run import experiment
    from sdch_tf.registry import get_method

    config = preset("smoke")
    config = dataclasses.replace(config, epochs=1, score_unified_codes=True,
                                 data=dataclasses.replace(config.data, num_train=200))
    data = experiment.load_data(config.data)
    result, path = experiment.run(get_method("cmhn"), config, data, 16, 0, str(tmp_path), verbose=0)
    unified = json.loads((tmp_path / "runs" / result["run_id"] / "unified.json").read_text())
    assert set(unified) == {"map_i2t", "map_t2i", "map_all_i2t", "map_all_t2i", "ndcg_i2t", "ndcg_t2i", "ndcg_k"}
    assert 0.0 < unified["map_i2t"] <= 1.0


@pytest.mark.slow
def test_cpu_preset_learns_on_the_synthetic_set(tmp_path):
    from sdch_tf import train

    assert train.main(["--method", "cmhn", "--bits", "16", "--out", str(tmp_path), "--quiet"]) == 0
    (run,) = os.listdir(tmp_path / "runs")
    result = json.loads((tmp_path / "runs" / run / "result.json").read_text())
    assert result["map_i2t"] > result["untrained"]["map_i2t"] + 0.1
    assert result["map_t2i"] > result["untrained"]["map_t2i"] + 0.1
