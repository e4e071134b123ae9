"""Tests for baselines/dvsh: the losses against numpy and the hand-solved example of
docs/baselines-research/dvsh.md §9, the bag → words layer, the networks, one step, a CLI run."""
import dataclasses
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from baselines.dvsh import METHOD, preset
from baselines.dvsh import losses
from baselines.dvsh.nets import BagToSequence, build_text_nets, max_words_of
from baselines.dvsh.trainer import build, preprocessing
from sdch_tf import train
from sdch_tf.data.pipeline import train_batches
from sdch_tf.run import experiment

SMOKE = preset("smoke")

# docs/baselines-research/dvsh.md §9: three pairs, K = 2, T = 2; pair 1's second step is padding.
H_STEPS = np.array([[[0.8, 0.6], [0.4, 0.2]], [[0.6, -0.8], [9.0, 9.0]], [[-0.2, 0.4], [-0.6, 0.0]]])
MASK = np.array([[1, 1], [1, 0], [1, 1]], np.float64)
LABELS = np.array([[1, 0], [1, 1], [0, 1]], np.float64)
U = np.array([[0.5, 0.5], [0.6, -0.6], [-0.4, 0.4]])
V_STEPS = np.array([[[0.8, 0.4], [0.4, 0.2]], [[0.6, -0.6], [-5.0, 5.0]], [[0.0, 0.4], [-0.6, 0.2]]])


def similarity(labels):
    return (labels @ labels.T > 0).astype(np.float64)


def test_hand_solved_example():
    h = losses.masked_mean(tf.constant(H_STEPS), tf.constant(MASK)).numpy()
    np.testing.assert_allclose(h, [[0.6, 0.4], [0.6, -0.8], [-0.4, 0.2]], atol=1e-12)
    S = tf.constant(similarity(LABELS))
    # hinge terms 0.444530, 0.003861, 1.394427, summed as the note writes L
    assert float(losses.cosine_margin_loss(tf.constant(h), S, 0.5)) == pytest.approx(1.842818, abs=1e-6)
    assert float(losses.bit_margin_loss(tf.constant(h), 0.5)) == pytest.approx(0.5, abs=1e-9)
    assert float(losses.image_hash_loss(tf.constant(U), tf.constant(h))) == pytest.approx(0.016667, abs=1e-6)
    assert float(losses.text_hash_loss(tf.constant(V_STEPS), tf.constant(H_STEPS), tf.constant(MASK))) == \
        pytest.approx(0.016667, abs=1e-6)
    terms = losses.objective(tf.constant(H_STEPS), tf.constant(MASK), tf.constant(U), tf.constant(V_STEPS), S,
                             0.5, 0.5, 2.0, 3.0)
    expected = 1.842818 + 2.0 * 0.5 + 3.0 * (0.016667 + 0.016667)
    assert float(terms["loss"]) == pytest.approx(expected, abs=1e-5)


def test_padding_steps_change_nothing():
    moved_h, moved_v = H_STEPS.copy(), V_STEPS.copy()
    moved_h[1, 1] = [-3.0, 0.1]
    moved_v[1, 1] = [7.0, 7.0]
    S = tf.constant(similarity(LABELS))
    a = losses.objective(tf.constant(H_STEPS), tf.constant(MASK), tf.constant(U), tf.constant(V_STEPS), S,
                         0.5, 0.5, 1.0, 1.0)
    b = losses.objective(tf.constant(moved_h), tf.constant(MASK), tf.constant(U), tf.constant(moved_v), S,
                         0.5, 0.5, 1.0, 1.0)
    for name in a:
        assert float(a[name]) == pytest.approx(float(b[name]), abs=1e-12)


def test_cosine_hinge_gradient_matches_the_hand_derivation():
    """∂ max(0, 0.5 − cos(h0, h1)) / ∂h0 = (−0.768046, 1.152070) (dvsh.md §9)."""
    h = tf.Variable([[0.6, 0.4], [0.6, -0.8]], dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = losses.cosine_margin_loss(h, tf.ones((2, 2), tf.float64), 0.5)  # one pair
    np.testing.assert_allclose(tape.gradient(loss, h).numpy()[0], [-0.768046, 1.152070], atol=1e-5)


def np_losses(h_steps, mask, u, v_steps, S, mu_c, mu_b):
    """E4–E8 by loops."""
    b = len(h_steps)
    h = np.array([sum(mask[i, t] * h_steps[i, t] for t in range(h_steps.shape[1])) / mask[i].sum() for i in range(b)])
    pairs = [(i, j) for i in range(b) for j in range(i + 1, b)]
    cos = lambda x, y: x @ y / (np.linalg.norm(x) * np.linalg.norm(y))  # noqa: E731
    L = sum(max(0.0, mu_c - (2 * S[i, j] - 1) * cos(h[i], h[j])) for i, j in pairs)
    Q = sum(max(0.0, mu_b - abs(h[i, k])) for i in range(b) for k in range(h.shape[1]))
    Lx = sum(np.sum((u[i] - h[i]) ** 2) for i in range(b)) / (2 * b)
    Ly = sum(sum(mask[i, t] * np.sum((v_steps[i, t] - h_steps[i, t]) ** 2) for t in range(mask.shape[1]))
             / mask[i].sum() for i in range(b)) / (2 * b)
    return L, Q, Lx, Ly


def test_losses_match_the_loops_on_random_inputs():
    rng = np.random.default_rng(0)
    b, T, K = 6, 4, 5
    h_steps, v_steps = np.tanh(rng.standard_normal((2, b, T, K)))
    mask = (rng.uniform(size=(b, T)) < 0.7).astype(np.float64)
    mask[:, 0] = 1.0
    u = np.tanh(rng.standard_normal((b, K)))
    S = similarity((rng.uniform(size=(b, 3)) < 0.4).astype(np.float64))
    terms = losses.objective(*(tf.constant(x) for x in (h_steps, mask, u, v_steps, S)), 0.5, 0.3, 1.0, 1.0)
    L, Q, Lx, Ly = np_losses(h_steps, mask, u, v_steps, S, 0.5, 0.3)
    for name, value in zip(losses.TERMS, (L, Q, Lx, Ly)):
        assert float(terms[name]) == pytest.approx(value, rel=1e-7)  # the cosine's ε = 1e-8 in the norms


def test_bag_to_sequence():
    bags = np.array([[0, 1, 0, 2, 1], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]], np.float32)
    np.testing.assert_array_equal(BagToSequence(3)(bags).numpy(), [[2, 4, 5], [6, 0, 0], [1, 2, 3]])
    np.testing.assert_array_equal(BagToSequence(7)(bags).numpy()[:, 5:], 0)  # T above the vocabulary: padded
    assert max_words_of(bags, 50) == 3 and max_words_of(np.zeros((2, 5)), 95) == 1


def test_text_code_is_the_masked_mean_of_the_steps():
    rng = np.random.default_rng(1)
    bags = (rng.uniform(size=(4, 9)) < 0.3).astype(np.float32)
    bags[2] = 0.0
    text_net, text_steps, fusion_text = build_text_nets(9, 3, 8, 6, 5)
    steps, ids = (x.numpy() for x in text_steps(bags))
    mask = (ids > 0).astype(np.float64)
    expected = (steps * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    np.testing.assert_allclose(text_net(bags).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert fusion_text(bags).shape == (4, 3, 5) and mask[2].tolist() == [1, 0, 0]


# ---- the model on the smoke configuration ----------------------------------------------------

@pytest.fixture(scope="module")
def smoke_data():
    data = experiment.load_data(SMOKE.data)
    return data, experiment.split_for(SMOKE.data, data, 0)


def test_a_step_trains_every_network_and_the_codes_come_from_the_hashing_nets(smoke_data):
    data, split = smoke_data
    model = build(SMOKE, data, split, 16, seed=0)
    assert set(model.variable_groups()) == {"new", "pretrained"}
    assert len(model.variable_groups()["pretrained"]) == 14   # conv1–5, fc6, fc7 kernels and biases
    batch = next(iter(train_batches(data, split.train, SMOKE.batch_size, preprocessing(SMOKE), 0, stop_epoch=1)))
    nets = {"image_hash": model.image_net.get_layer("image_hash"), "fusion_image": model.image_both.get_layer("fusion_image"),
            "text_hash": model.text_net.get_layer("text_hash"), "fusion_text": model.fusion_text.get_layer("fusion_text"),
            "conv1": model.image_net.get_layer("conv1")}
    before = {name: layer.kernel.numpy().copy() for name, layer in nets.items()}
    logs = model.train_step(batch)
    assert all(not np.array_equal(before[name], layer.kernel.numpy()) for name, layer in nets.items())
    assert float(logs["loss"]) > 0 and all(np.isfinite(float(logs[k])) for k in logs)
    codes = model.encode_text(np.asarray(data.texts[split.query[:5]], np.float32))
    np.testing.assert_array_equal(codes, np.where(model.text_net(np.asarray(data.texts[split.query[:5]],
                                                                              np.float32)).numpy() >= 0, 1, -1))


def test_head_init_centres_the_image_heads_on_training_images(smoke_data):
    from sdch_tf.nets.scaling import initialization_batch

    data, split = smoke_data
    assert SMOKE.head_init_std == 0.3
    model = build(SMOKE, data, split, 16, seed=0)
    images, _ = initialization_batch(data, np.asarray(split.train), preprocessing(SMOKE))
    _, fusion = model.image_both(images, training=False)
    np.testing.assert_allclose(fusion.numpy().mean(axis=0), 0.0, atol=1e-4)
    assert fusion.numpy().std(axis=0).mean() == pytest.approx(0.3, rel=1e-3)
    glorot = build(dataclasses.replace(SMOKE, head_init_std=0.0), data, split, 16, seed=0)
    assert np.abs(glorot.image_both(images, training=False)[1].numpy().mean(axis=0)).max() > 1e-2


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="optimizer"):
        dataclasses.replace(SMOKE, optimizer="lbfgs")
    with pytest.raises(ValueError, match="batch_size"):
        dataclasses.replace(SMOKE, batch_size=1)


def test_smoke_run_writes_a_result(tmp_path):
    assert train.main(["--method", "dvsh", "--preset", "smoke", "--out", str(tmp_path), "--quiet"]) == 0
    runs = os.listdir(tmp_path / "runs")
    assert len(runs) == 1 and runs[0].startswith("dvsh-synthetic-smoke-16bits-seed0")
    with open(tmp_path / "runs" / runs[0] / "result.json", encoding="utf-8") as f:
        result = json.load(f)
    assert result["method"] == "dvsh" and len(result["epochs"]) == SMOKE.epochs
    assert all(np.isfinite(e["loss"]) and e["loss"] > 0 for e in result["epochs"])
    assert 0.0 <= result["map_i2t"] <= 1.0 and 0.0 <= result["map_t2i"] <= 1.0


@pytest.mark.slow
def test_cpu_preset_learns_on_the_synthetic_set(tmp_path):
    config = dataclasses.replace(preset("cpu"), bits=(32,))
    data = experiment.load_data(config.data)
    result, _ = experiment.run(METHOD, config, data, 32, 0, str(tmp_path), verbose=0)
    assert result["map_i2t"] > result["untrained"]["map_i2t"] + 0.1
    assert result["map_t2i"] > result["untrained"]["map_t2i"] + 0.1
