"""Tests for baselines/dcmh: DCMH's loss, update rules, alternation and an end-to-end run."""
import dataclasses
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from baselines.dcmh import METHOD, preset
from sdch_tf.training.callbacks import logspace_rate
from baselines.dcmh.losses import objective, step_loss_terms
from baselines.dcmh.model import IMAGE_STEP, TEXT_STEP
from baselines.dcmh.trainer import build, epoch_batches, preprocessing, steps_per_epoch
from sdch_tf import train
from sdch_tf.data.pipeline import preprocess_images
from sdch_tf.run import experiment
from tests.baselines.alternating_checks import (check_codes_after_an_epoch_are_sign_of_f_plus_g,
                                               check_step_changes_its_network_and_buffer_rows_only, randomize_state)
from tests.nets.test_vggf import random_weights, write_vggf_mat

SMOKE = preset("smoke")


# ---- plain-numpy transcriptions of DCMH Eq. 2 and of the official code ----------------------

def np_similarity(labels_a, labels_b):
    return np.array([[float(np.any(np.logical_and(a, b))) for b in labels_b] for a in labels_a])


def np_objective(F, G, B, S, gamma, eta):
    """DCMH Eq. 2, term by term with loops (code process_DCMH.m calc_loss)."""
    n = len(F)
    logloss = 0.0
    for i in range(n):
        for j in range(n):
            theta = 0.5 * F[i] @ G[j]
            logloss += np.log1p(np.exp(theta)) - S[i, j] * theta
    quantization = gamma * (np.sum((B - F) ** 2) + np.sum((B - G) ** 2))
    balance = eta * (np.sum(F.sum(axis=0) ** 2) + np.sum(G.sum(axis=0) ** 2))
    return logloss, quantization, balance


def code_gradient(F_buffer, G, B, S, index, F_batch, gamma, eta):
    """process_DCMH.m's dJ/dF for the batch (row-major): F(:, index) = output; F1 = F·1;
    dJdFb = 0.5·G·(σ(0.5·Gᵀ·F_b) − S(:, index)) + 2γ(F_b − B_b) + 2η·F1."""
    F = F_buffer.copy()
    F[index] = F_batch
    F1 = F.sum(axis=0)
    sigma = 1.0 / (1.0 + np.exp(-0.5 * F_batch @ G.T))  # (b, n)
    return 0.5 * (sigma - S[index]) @ G + 2 * gamma * (F_batch - B[index]) + 2 * eta * F1


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    n, r, c = 9, 5, 4
    labels = (rng.uniform(size=(n, c)) < 0.35).astype(np.float32)
    F = rng.standard_normal((n, r))
    G = rng.standard_normal((n, r))
    B = np.sign(rng.standard_normal((n, r)))
    index = np.array([7, 2, 4])
    F_batch = rng.standard_normal((3, r))
    return dict(labels=labels, F=F, G=G, B=B, index=index, F_batch=F_batch, S=np_similarity(labels, labels))


def test_step_loss_is_the_batch_part_of_eq2(problem):
    p = problem
    gamma, eta = 0.7, 1.3
    F_new = p["F"].copy()
    F_new[p["index"]] = p["F_batch"]
    expected_logloss = sum(np.log1p(np.exp(0.5 * F_new[i] @ p["G"][j])) - p["S"][i, j] * 0.5 * F_new[i] @ p["G"][j]
                           for i in p["index"] for j in range(len(F_new)))
    rest = p["F"].sum(axis=0) - p["F"][p["index"]].sum(axis=0)
    terms = step_loss_terms(tf.constant(p["F_batch"]), tf.constant(p["G"]), tf.constant(p["S"][p["index"]]),
                            tf.constant(p["B"][p["index"]]), tf.constant(rest), gamma, eta)
    np.testing.assert_allclose(float(terms["logloss"]), expected_logloss, rtol=1e-9)
    np.testing.assert_allclose(float(terms["quantization"]),
                               gamma * np.sum((p["B"][p["index"]] - p["F_batch"]) ** 2), rtol=1e-9)
    np.testing.assert_allclose(float(terms["balance"]), eta * np.sum(F_new.sum(axis=0) ** 2), rtol=1e-9)


def test_step_gradient_equals_the_official_code_gradient(problem):
    p = problem
    gamma, eta = 1.0, 1.0
    rest = p["F"].sum(axis=0) - p["F"][p["index"]].sum(axis=0)
    own = tf.Variable(p["F_batch"])
    with tf.GradientTape() as tape:
        terms = step_loss_terms(own, tf.constant(p["G"]), tf.constant(p["S"][p["index"]]),
                                tf.constant(p["B"][p["index"]]), tf.constant(rest), gamma, eta)
        loss = tf.add_n(list(terms.values()))
    expected = code_gradient(p["F"], p["G"], p["B"], p["S"], p["index"], p["F_batch"], gamma, eta)
    np.testing.assert_allclose(tape.gradient(loss, own).numpy(), expected, rtol=1e-9, atol=1e-12)


def test_objective_matches_eq2(problem):
    p = problem
    got = objective(p["F"], p["G"], p["B"], p["labels"], 0.5, 2.0, chunk=4)  # chunks of 4 rows of 9
    logloss, quantization, balance = np_objective(p["F"], p["G"], p["B"], p["S"], 0.5, 2.0)
    np.testing.assert_allclose(got["logloss"], logloss, rtol=1e-5)
    np.testing.assert_allclose(got["quantization"], quantization, rtol=1e-5)
    np.testing.assert_allclose(got["balance"], balance, rtol=1e-5)
    np.testing.assert_allclose(got["objective"], logloss + quantization + balance, rtol=1e-5)


def test_learning_rate_is_matlab_logspace():
    expected = np.logspace(-1.5, -3, 500)
    got = [logspace_rate(e, 10 ** -1.5, 1e-3, 500) for e in range(500)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert logspace_rate(0, 0.1, 0.01, 1) == 0.1


# ---- the model on the smoke configuration ----------------------------------------------------

@pytest.fixture(scope="module")
def smoke_data():
    data = experiment.load_data(SMOKE.data)
    return data, experiment.split_for(SMOKE.data, data, 0)


def sgd_config(**changes):
    return dataclasses.replace(SMOKE, optimizer="sgd", lr_start=0.05, lr_end=0.05, **changes)


def first_batch(model_config, data, split, step):
    batches = epoch_batches(data, split, model_config, seed=0)
    for batch in batches:
        if int(batch["step"][0]) == step:
            return batch
    raise AssertionError("no batch of that step")


@pytest.mark.parametrize("step", [IMAGE_STEP, TEXT_STEP])
def test_a_step_changes_its_network_and_buffer_rows_only(smoke_data, step):
    data, split = smoke_data
    config = sgd_config()
    model = build(config, data, split, 16, seed=0)
    np.testing.assert_array_equal(model.codes.numpy(), 0.0)  # code: B = e_sign(γ(F + G)) with F = G = 0
    randomize_state(model)
    check_step_changes_its_network_and_buffer_rows_only(model, first_batch(config, data, split, step), step,
                                                        len(split.train))


def test_text_step_is_sgd_on_the_normalised_code_gradient(smoke_data):
    """fc3 of the text net after one step = W − lr·(dJ/dW / (batch·n) + 5e-4·W) (update_net.m)."""
    data, split = smoke_data
    config = sgd_config()
    model = build(config, data, split, 16, seed=0)
    rng = np.random.default_rng(2)
    F = rng.standard_normal(model.image_outputs.shape)
    B = np.sign(rng.standard_normal(model.codes.shape))
    model.image_outputs.assign(F.astype(np.float32))
    model.codes.assign(B.astype(np.float32))
    batch = first_batch(config, data, split, TEXT_STEP)
    index = batch["index"].numpy()
    fc1, fc3 = model.text_net.get_layer("fc1"), model.text_net.get_layer("fc3")
    W1, b1, W3, b3 = (np.float64(v.numpy()) for v in (fc1.kernel, fc1.bias, fc3.kernel, fc3.bias))
    texts = np.float64(batch["text"].numpy())
    centred = texts - np.float64(data.texts[split.train]).mean(axis=0)  # the code's normZeroMean
    hidden = np.maximum(centred @ W1 + b1, 0.0)
    G_batch = hidden @ W3 + b3
    labels = np.float64(data.labels[split.train])
    S = (labels @ labels.T > 0).astype(float)
    G_buffer = np.zeros_like(F)  # G starts at 0; the step writes the batch's rows first
    # The text step is the image step with the roles of F and G swapped (S is symmetric).
    dJ_dG = code_gradient(G_buffer, F, B, S, index, G_batch, config.gamma, config.eta)
    n = len(split.train)
    expected = W3 - 0.05 * (hidden.T @ dJ_dG / (config.batch_size * n) + config.weight_decay * W3)
    model.train_step(batch)
    np.testing.assert_allclose(fc3.kernel.numpy(), expected, rtol=2e-4, atol=1e-6)
    assert not np.allclose(expected, W3, atol=1e-6)  # the step is large enough to be seen


def test_codes_after_an_epoch_are_sign_of_f_plus_g(smoke_data):
    data, split = smoke_data
    check_codes_after_an_epoch_are_sign_of_f_plus_g(build(SMOKE, data, split, 16, seed=0))


def test_an_epoch_is_an_image_pass_then_a_text_pass(smoke_data):
    data, split = smoke_data
    n = len(split.train)
    per_epoch = steps_per_epoch(n, SMOKE.batch_size)
    batches = [(int(b["step"][0]), b["index"].numpy()) for b in epoch_batches(data, split, SMOKE, seed=0)]
    assert len(batches) == per_epoch * SMOKE.epochs  # every epoch of the run in one dataset
    first, second = batches[:per_epoch], batches[per_epoch:2 * per_epoch]
    steps = [s for s, _ in first]
    passes = len(steps) // 2
    assert steps == [IMAGE_STEP] * passes + [TEXT_STEP] * passes
    for part in (first[:passes], first[passes:]):
        np.testing.assert_array_equal(np.sort(np.concatenate([rows for _, rows in part])), np.arange(n))
    assert not np.array_equal(first[0][1], first[passes][1])  # each pass is shuffled afresh
    assert not np.array_equal(first[0][1], second[0][1])  # and each epoch
    # A run resumed after epoch 1 sees the same batches as the uninterrupted run.
    resumed = [(int(b["step"][0]), b["index"].numpy()) for b in epoch_batches(data, split, SMOKE, seed=0,
                                                                                start_epoch=1, stop_epoch=2)]
    assert len(resumed) == len(second)
    for (s1, r1), (s2, r2) in zip(resumed, second):
        assert s1 == s2
        np.testing.assert_array_equal(r1, r2)


def test_build_loads_vggf_weights_and_their_mean(smoke_data, tmp_path):
    data, split = smoke_data
    image = SMOKE.image_net
    weights = random_weights(image, np.random.default_rng(4))
    # The smoke CNN-F has a 1×1 pool5 map: fabricate a file whose fc6 is 1×1×C×K.
    weights["fc6"] = (weights["fc6"][0][:1, :1], weights["fc6"][1])
    path = write_vggf_mat(tmp_path / "vgg-f.mat", weights, "new",
                          average=np.array([[[101.0, 102.0, 103.0]]], np.float32))
    # Pretrained weights take the raw (mean-subtracted 0–255) pixels: input_scale 1.
    config = dataclasses.replace(SMOKE, weights=str(path), output_std=0.0,
                                 image_net=dataclasses.replace(image, input_scale=1.0))
    assert preprocessing(config).mean_rgb == (101.0, 102.0, 103.0)
    model = build(config, data, split, 16, seed=0)
    np.testing.assert_array_equal(model.image_net.get_layer("conv3").kernel.numpy(), weights["conv3"][0])
    np.testing.assert_array_equal(model.image_net.get_layer("fc6").kernel.numpy(),
                                  weights["fc6"][0].reshape(-1, image.fc_units[0]))


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="optimizer"):
        dataclasses.replace(SMOKE, optimizer="rmsprop")
    with pytest.raises(ValueError, match="unknown preset"):
        preset("huge")


# ---- end to end ----------------------------------------------------------------------------

def test_smoke_run_writes_a_result(tmp_path):
    assert train.main(["--method", "dcmh", "--preset", "smoke", "--out", str(tmp_path), "--quiet"]) == 0
    runs = os.listdir(tmp_path / "runs")
    assert len(runs) == 1 and runs[0].startswith("dcmh-synthetic-smoke-16bits-seed0")
    with open(tmp_path / "runs" / runs[0] / "result.json", encoding="utf-8") as f:
        result = json.load(f)
    assert result["method"] == "dcmh" and result["bits"] == 16
    assert len(result["epochs"]) == SMOKE.epochs
    assert all(np.isfinite(e["objective"]) and e["image_loss"] > 0 and e["text_loss"] > 0 for e in result["epochs"])
    assert 0.0 <= result["map_i2t"] <= 1.0 and 0.0 <= result["map_t2i"] <= 1.0


@pytest.mark.slow
def test_cpu_preset_learns_on_the_synthetic_set(tmp_path):
    config = dataclasses.replace(preset("cpu"), bits=(32,))
    data = experiment.load_data(config.data)
    result, _ = experiment.run(METHOD, config, data, 32, 0, str(tmp_path), verbose=0)
    assert result["map_i2t"] > result["untrained"]["map_i2t"] + 0.1
    assert result["map_t2i"] > result["untrained"]["map_t2i"] + 0.1


def test_paper_preprocessing_subtracts_the_full_average_image_of_the_weights_file(tmp_path):
    # code DCMH_demo.m: im - averageImage, pixel by pixel (224×224 images, no crop).
    rng = np.random.default_rng(5)
    average = (np.array([120.0, 110.0, 100.0]) + rng.uniform(-9, 9, (224, 224, 3))).astype(np.float32)
    weights = random_weights(SMOKE.image_net, rng)
    path = write_vggf_mat(tmp_path / "vgg-f.mat", weights, "old", average=average)
    paper = dataclasses.replace(preset("paper"), weights=str(path))
    images = rng.integers(0, 256, (2, 224, 224, 3)).astype(np.uint8)
    got = preprocess_images(tf.constant(images), preprocessing(paper)).numpy()
    np.testing.assert_allclose(got, images.astype(np.float32) - average, rtol=0, atol=1e-4)
    channels = preprocess_images(tf.constant(images), preprocessing(dataclasses.replace(paper, average_image=False)))
    np.testing.assert_allclose(channels.numpy(), images - average.astype(np.float64).mean(axis=(0, 1)), atol=1e-3)
    # A smaller crop gets the average image resized to it (the cpu sizes with --weights).
    small = dataclasses.replace(paper, image_net=SMOKE.image_net)
    prep = preprocessing(small)
    out = preprocess_images(tf.constant(images[:, :prep.resize, :prep.resize]), prep).numpy()
    want = images[:, :prep.resize, :prep.resize][:, prep.centre_offset:prep.centre_offset + prep.crop,
                                                  prep.centre_offset:prep.centre_offset + prep.crop] - \
        tf.image.resize(average, (prep.crop, prep.crop)).numpy()
    np.testing.assert_allclose(out, want, atol=1e-3)
