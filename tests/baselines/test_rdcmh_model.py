"""One RDCMH iteration (Algorithm 1, lines 5–8) on a tiny model: what each step changes."""
import dataclasses

import keras
import numpy as np
import pytest

from baselines.rdcmh import config as rdcmh_config
from baselines.rdcmh import trainer
from baselines.rdcmh.model import RDCMH
from baselines.rdcmh.triplets import TripletSampler, triplet_batches
from sdch_tf.run import experiment

LR = 1e-3


def _setup(lr_image=LR, lr_text=LR, scope="train"):
    base = rdcmh_config.preset("smoke")
    cfg = dataclasses.replace(
        base, optimizer="sgd", lr_image=lr_image, lr_text=lr_text, triplet_scope=scope,
        image_net=dataclasses.replace(base.image_net, dropout=0.0),
        text_net=dataclasses.replace(base.text_net, dropout=0.0),
    )
    data = experiment.load_data(cfg.data)
    split = experiment.split_for(cfg.data, data, seed=0)
    model = trainer.build(cfg, data, split, bits=16, seed=0)
    sampler = TripletSampler(model.similarity, cfg.num_bins)
    batch = next(iter(triplet_batches(data, split.train, sampler, 8, trainer.preprocessing(cfg), seed=0,
                                      scope=scope, stop_epoch=1)))
    return model, batch


def _weights(variables):
    return [np.array(v) for v in variables]


@pytest.fixture(scope="module")
def stepped():
    model, batch = _setup()
    before = {name: _weights(getattr(model, name).trainable_variables) for name in ("image_net", "text_net")}
    buffers = {name: np.array(getattr(model, name)) for name in ("image_outputs", "text_outputs", "codes")}
    logs = model.train_step(batch)
    return model, batch, before, buffers, logs


def test_build_gives_initial_codes_from_the_initial_networks(stepped):
    _, _, _, buffers, _ = stepped
    f, g = buffers["image_outputs"], buffers["text_outputs"]
    assert np.abs(f).sum() > 0 and np.abs(g).sum() > 0
    np.testing.assert_array_equal(buffers["codes"], np.where(f + g >= 0, 1.0, -1.0))  # Eq. 12 at t = 0
    # The data-dependent init: unit std per bit on the first training samples.
    assert 0.5 < f.std(axis=0).mean() < 2.0 and 0.5 < g.std(axis=0).mean() < 2.0


def test_one_iteration_updates_both_networks(stepped):
    model, _, before, _, logs = stepped
    for name in ("image_net", "text_net"):
        after = _weights(getattr(model, name).trainable_variables)
        changed = [not np.array_equal(a, b) for a, b in zip(before[name], after)]
        assert all(changed), f"{name}: some variables did not move"
    assert set(logs) == {"loss", "xx", "yy", "xy", "yx", "quant_image", "quant_text"}


def test_buffers_and_codes_change_for_the_queries_only(stepped):
    model, batch, _, buffers, _ = stepped
    b = len(batch["triplets"])
    queries = np.asarray(batch["rows"])[:b]
    others = np.setdiff1d(np.arange(model.num_train), queries)
    for name in ("image_outputs", "text_outputs", "codes"):
        np.testing.assert_array_equal(np.array(getattr(model, name))[others], buffers[name][others])
    f, g = np.array(model.image_outputs)[queries], np.array(model.text_outputs)[queries]
    assert not np.allclose(f, buffers["image_outputs"][queries])
    np.testing.assert_array_equal(np.array(model.codes)[queries], np.where(f + g >= 0, 1.0, -1.0))  # Eq. 12


@pytest.mark.parametrize("frozen, other", [("image", "text_net"), ("text", "image_net")])
def test_each_step_sees_the_other_network_before_its_update(stepped, frozen, other):
    """Step 2 uses F of step 1's forward pass and step 1 uses G of the not-yet-updated text net:
    each network's update is the same whether or not the other one moves in this iteration."""
    moving, batch, before, _, _ = stepped
    still, same_batch = _setup(**{f"lr_{frozen}": 0.0})
    np.testing.assert_array_equal(np.asarray(same_batch["rows"]), np.asarray(batch["rows"]))
    still.train_step(same_batch)
    for a, b in zip(getattr(moving, other).trainable_variables, getattr(still, other).trainable_variables):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-5, atol=1e-7)
    for a, b in zip(getattr(still, f"{frozen}_net").trainable_variables, before[f"{frozen}_net"]):
        np.testing.assert_array_equal(np.array(a), b)


def _eq4_image_objective(F, G, B, sim, rows, triplets, lam, margin):
    """Step 1's objective as a function of the batch's image outputs F (m, c): Eq. 4's terms with
    an image side (xx, xy, yx) with the margin inside [·]_+, plus λ/2‖B − F‖², triplet by triplet."""
    Sxx, Syy = sim.image, sim.text
    dh = lambda a, b: (len(a) - a @ b) / 2  # noqa: E731
    total = 0.5 * lam * ((B - F) ** 2).sum()
    for t in triplets:
        q = t[0]
        for i in t[1:]:
            for j in t[1:]:
                if i == j:
                    continue
                rq, ri, rj = rows[q], rows[i], rows[j]
                sxy = lambda a, b: (Sxx[a, b] + Syy[a, b]) / 2  # noqa: E731
                if Sxx[rq, ri] > Sxx[rq, rj]:
                    total += (1 - Sxx[ri, rj]) * max(0.0, margin + dh(F[q], F[i]) - dh(F[q], F[j]))
                if sxy(rq, ri) > sxy(rq, rj):
                    total += (1 - sxy(ri, rj)) * max(0.0, margin + dh(F[q], F[i]) - dh(G[q], G[j]))
                    total += (1 - sxy(ri, rj)) * max(0.0, margin + dh(G[q], G[i]) - dh(F[q], F[j]))
    return total


def test_image_step_is_a_gradient_step_on_eq4_with_text_fixed():
    model, batch = _setup(lr_text=0.0)
    assert model.margin == 8.0  # half of 16 bits
    rows, triplets = np.asarray(batch["rows"]), np.asarray(batch["triplets"])
    head = model.image_net.get_layer("img_fc8")
    hidden = keras.Model(model.image_net.input, model.image_net.get_layer("img_drop7").output)
    h = np.asarray(hidden(batch["image"]), np.float64)
    F = np.asarray(model.image_net(batch["image"]), np.float64)
    G = np.asarray(model.text_net(batch["text"]), np.float64)
    B = np.array(model.codes, np.float64)[rows]
    kernel = np.array(head.kernel, np.float64)
    # ∂L/∂F by central differences of the transcription (Eqs. 8–10 in their relaxed form).
    def objective(outputs):
        return _eq4_image_objective(outputs, G, B, model.similarity, rows, triplets, model.lam, model.margin)

    grad, eps = np.zeros_like(F), 1e-5
    for idx in np.ndindex(*F.shape):
        step = np.zeros_like(F)
        step[idx] = eps
        grad[idx] = (objective(F + step) - objective(F - step)) / (2 * eps)
    model.train_step(batch)
    np.testing.assert_allclose(np.array(head.kernel, np.float64), kernel - LR * h.T @ grad, rtol=2e-3, atol=2e-5)


def test_lambda_must_be_positive(stepped):
    model = stepped[0]
    with pytest.raises(ValueError, match="lam"):
        RDCMH(model.image_net, model.text_net, 16, 10, lam=0.0)
