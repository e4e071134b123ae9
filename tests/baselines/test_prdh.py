"""Tests for baselines/prdh: PRDH's objective against a numpy transcription (and the hand-solved
example of docs/baselines-research/prdh.md §7), the alternating steps, λ's choice, a CLI run."""
import dataclasses
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from baselines.prdh import METHOD, preset
from baselines.prdh import trainer as prdh_trainer
from baselines.prdh.losses import decorrelation, step_loss_terms
from baselines.prdh.model import IMAGE_STEP, TEXT_STEP
from baselines.prdh.trainer import build, preprocessing
from sdch_tf import train
from sdch_tf.run import experiment
from sdch_tf.training.alternating import alternating_batches
from tests.baselines.alternating_checks import (check_codes_after_an_epoch_are_sign_of_f_plus_g,
                                               check_step_changes_its_network_and_buffer_rows_only, randomize_state)

SMOKE = preset("smoke")


# ---- plain-numpy transcription of PRDH's objective (note P1–P7) -------------------------------

def np_ell(theta, s):
    return np.log1p(np.exp(theta)) - s * theta


def np_decorrelation(H):
    """½(‖C‖² − ‖diag C‖²), C the biased covariance of H's rows (note P5, DeCov), by loops."""
    b, r = H.shape
    mu = H.mean(axis=0)
    total = 0.0
    for k in range(r):
        for l in range(r):
            if k != l:
                c = sum((H[n, k] - mu[k]) * (H[n, l] - mu[l]) for n in range(b)) / b
                total += 0.5 * c * c
    return total


def np_likelihoods(F, G, S):
    """J1, J2, J3 of note P2–P3, summed over all (i, j) by loops."""
    n = len(F)
    J1 = sum(np_ell(0.5 * F[i] @ G[j], S[i, j]) for i in range(n) for j in range(n))
    J2 = sum(np_ell(0.5 * F[i] @ F[j], S[i, j]) for i in range(n) for j in range(n))
    J3 = sum(np_ell(0.5 * G[i] @ G[j], S[i, j]) for i in range(n) for j in range(n))
    return J1, J2, J3


def np_objective(F, G, B, S, lam, gamma):
    """J of note P7 with J4 on the whole of F and G (one batch of all n)."""
    J1, J2, J3 = np_likelihoods(F, G, S)
    R = np.sum((B - F) ** 2) + np.sum((B - G) ** 2) + np.sum(F.sum(0) ** 2) + np.sum(G.sum(0) ** 2)
    return J1 + J2 + J3 + lam * (np_decorrelation(F) + np_decorrelation(G)) + gamma * R


def test_hand_solved_example():
    """docs/baselines-research/prdh.md §7: n = 2, r = 2, S = I; J = 15.2786822, J4 = 2."""
    F = np.array([[1.0, 1.0], [-1.0, -1.0]])
    G = np.array([[1.0, -1.0], [-1.0, 1.0]])
    B = np.array([[1.0, 1.0], [-1.0, -1.0]])
    S = np.eye(2)
    assert float(decorrelation(tf.constant(F))) == pytest.approx(1.0)
    assert float(decorrelation(tf.constant(G))) == pytest.approx(1.0)
    assert np_objective(F, G, B, S, 1.0, 1.0) == pytest.approx(15.2786822, abs=1e-6)
    # The image step of batch {item 0} against the buffers: inter 2·log 2, intra 3·ℓ(1, 1) exact,
    # 2·ℓ(1, 1) one-sided (torchcmh), with gradients −0.5378828 and half of it.
    for one_sided, intra, grad in ((False, 0.9397851, -0.5378828), (True, 0.6265234, -0.2689414)):
        own = tf.Variable(F[:1])
        with tf.GradientTape() as tape:
            terms = step_loss_terms(own, tf.constant(F), tf.constant(G), tf.constant([0]), tf.constant(S[:1]),
                                    tf.constant(B[:1]), 1.0, 1.0, intra_one_sided=one_sided)
        assert float(terms["inter"]) == pytest.approx(2 * np.log(2), abs=1e-6)
        assert float(terms["intra"]) == pytest.approx(intra, abs=1e-6)
        assert float(terms["decorrelation"]) == 0.0  # a batch of one has no covariance
        np.testing.assert_allclose(tape.gradient(terms["intra"], own).numpy(), [[grad, grad]], atol=1e-6)


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    n, r, c = 8, 3, 4
    labels = (rng.uniform(size=(n, c)) < 0.4).astype(np.float64)
    S = (labels @ labels.T > 0).astype(np.float64)
    return dict(F=rng.standard_normal((n, r)), G=rng.standard_normal((n, r)), B=np.sign(rng.standard_normal((n, r))),
                S=S, rows=np.array([6, 1, 3]), batch=rng.standard_normal((3, r)))


def test_decorrelation_matches_the_loops(problem):
    np.testing.assert_allclose(float(decorrelation(tf.constant(problem["batch"]))),
                               np_decorrelation(problem["batch"]), rtol=1e-12)


def test_step_loss_is_the_part_of_J_that_depends_on_the_batch(problem):
    """Value: J(F with the batch's rows) − the same J's pairs and rows that do not touch the batch.
    Gradient: dJ/d(batch rows) by central differences of the numpy J (λ = 0: J4 is the batch's own)."""
    p = problem
    gamma = 0.7
    rows, other = p["rows"], np.setdiff1d(np.arange(8), p["rows"])

    def J_without_decorrelation(batch):
        F = p["F"].copy()
        F[rows] = batch
        return np_objective(F, p["G"], p["B"], p["S"], 0.0, gamma)

    own = tf.Variable(p["batch"])
    with tf.GradientTape() as tape:
        terms = step_loss_terms(own, tf.constant(p["F"]), tf.constant(p["G"]), tf.constant(rows, tf.int32),
                                tf.constant(p["S"][rows]), tf.constant(p["B"][rows]), 0.3, gamma)
        total = terms["inter"] + terms["intra"] + terms["quantization"] + terms["balance"]
    F_new = p["F"].copy()
    F_new[rows] = p["batch"]
    J1, J2, _ = np_likelihoods(F_new, p["G"], p["S"])
    J1_rest = sum(np_ell(0.5 * p["F"][i] @ p["G"][j], p["S"][i, j]) for i in other for j in range(8))
    J2_rest = sum(np_ell(0.5 * p["F"][i] @ p["F"][j], p["S"][i, j]) for i in other for j in other)
    np.testing.assert_allclose(float(terms["inter"]), J1 - J1_rest, rtol=1e-10)
    np.testing.assert_allclose(float(terms["intra"]), J2 - J2_rest, rtol=1e-10)
    np.testing.assert_allclose(float(terms["quantization"]), gamma * np.sum((p["B"][rows] - p["batch"]) ** 2))
    np.testing.assert_allclose(float(terms["balance"]), gamma * np.sum(F_new.sum(0) ** 2), rtol=1e-10)
    np.testing.assert_allclose(float(terms["decorrelation"]), 0.3 * np_decorrelation(p["batch"]), rtol=1e-10)
    numeric = np.zeros_like(p["batch"])
    for index in np.ndindex(*p["batch"].shape):
        step = np.zeros_like(p["batch"])
        step[index] = 1e-6
        numeric[index] = (J_without_decorrelation(p["batch"] + step) - J_without_decorrelation(p["batch"] - step)) / 2e-6
    np.testing.assert_allclose(tape.gradient(total, own).numpy(), numeric, rtol=1e-5, atol=1e-6)


# ---- the model on the smoke configuration ----------------------------------------------------

@pytest.fixture(scope="module")
def smoke_data():
    data = experiment.load_data(SMOKE.data)
    return data, experiment.split_for(SMOKE.data, data, 0)


def first_batch(config, data, split, step):
    for batch in alternating_batches(data, split, config.batch_size, preprocessing(config),
                                     config.image_net.input_size, 0, 0, 1):
        if int(batch["step"][0]) == step:
            return batch
    raise AssertionError("no batch of that step")


@pytest.mark.parametrize("step", [IMAGE_STEP, TEXT_STEP])
def test_a_step_changes_its_network_and_buffer_rows_only(smoke_data, step):
    data, split = smoke_data
    model = build(dataclasses.replace(SMOKE, lam=0.5), data, split, 16, seed=0)
    np.testing.assert_array_equal(model.codes.numpy(), 0.0)
    randomize_state(model)
    logs = check_step_changes_its_network_and_buffer_rows_only(model, first_batch(SMOKE, data, split, step), step,
                                                               len(split.train))
    assert float(logs[("image" if step == IMAGE_STEP else "text") + "_decorrelation"]) > 0


def test_the_step_loss_adds_the_unnormalised_decorrelation(smoke_data):
    data, split = smoke_data
    model = build(dataclasses.replace(SMOKE, lam=0.5), data, split, 16, seed=0)
    logs = model.train_step(first_batch(SMOKE, data, split, IMAGE_STEP))
    scaled = sum(float(logs[f"image_{k}"]) for k in ("inter", "intra", "quantization", "balance"))
    expected = scaled / (SMOKE.batch_size * len(split.train)) + float(logs["image_decorrelation"])
    assert float(logs["image_loss"]) == pytest.approx(expected, rel=1e-5)


def test_codes_after_an_epoch_are_sign_of_f_plus_g(smoke_data):
    data, split = smoke_data
    check_codes_after_an_epoch_are_sign_of_f_plus_g(build(SMOKE, data, split, 16, seed=0))


def test_text_net_has_three_fully_connected_layers(smoke_data):
    data, split = smoke_data
    model = build(SMOKE, data, split, 16, seed=0)
    dense = [layer for layer in model.text_net.layers if hasattr(layer, "kernel")]
    assert [layer.kernel.shape[1] for layer in dense] == list(SMOKE.text_hidden) + [16]


def test_lambda_is_chosen_on_held_out_pairs_once_per_run(smoke_data, tmp_path, monkeypatch):
    data, split = smoke_data
    monkeypatch.setattr(prdh_trainer, "LAMBDA_GRID", (0.0, 1.0))
    config = dataclasses.replace(SMOKE, lam=None, epochs=1)
    model = build(config, data, split, 16, seed=0)
    records = prdh_trainer.fit(model, config, data, split, str(tmp_path), 0, verbose=0)
    with open(tmp_path / "lam.json", encoding="utf-8") as f:
        choice = json.load(f)
    assert set(choice["scores"]) == {"0", "1"} and choice["lam"] in (0.0, 1.0)
    assert choice["validation_map"] == max(choice["scores"].values())
    assert model.lam == choice["lam"] and records[0]["lam"] == choice["lam"]


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="lam"):
        dataclasses.replace(SMOKE, lam=-1.0)
    with pytest.raises(ValueError, match="held_out"):
        dataclasses.replace(SMOKE, held_out=1.0)


# ---- end to end ----------------------------------------------------------------------------

def test_smoke_run_writes_a_result(tmp_path):
    assert train.main(["--method", "prdh", "--preset", "smoke", "--out", str(tmp_path), "--quiet"]) == 0
    runs = os.listdir(tmp_path / "runs")
    assert len(runs) == 1 and runs[0].startswith("prdh-synthetic-smoke-16bits-seed0")
    with open(tmp_path / "runs" / runs[0] / "result.json", encoding="utf-8") as f:
        result = json.load(f)
    assert result["method"] == "prdh" and len(result["epochs"]) == SMOKE.epochs
    assert all(np.isfinite(e["image_loss"]) and e["image_loss"] > 0 and e["text_loss"] > 0 for e in result["epochs"])
    assert 0.0 <= result["map_i2t"] <= 1.0 and 0.0 <= result["map_t2i"] <= 1.0


@pytest.mark.slow
def test_cpu_preset_learns_on_the_synthetic_set(tmp_path):
    config = dataclasses.replace(preset("cpu"), bits=(32,))
    data = experiment.load_data(config.data)
    result, _ = experiment.run(METHOD, config, data, 32, 0, str(tmp_path), verbose=0)
    assert result["map_i2t"] > result["untrained"]["map_i2t"] + 0.1
    assert result["map_t2i"] > result["untrained"]["map_t2i"] + 0.1
