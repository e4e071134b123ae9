"""DSPAH end to end: the alternating steps, B, the registry wiring, a smoke run, a cpu run (slow)."""
import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf

from baselines.dspah import METHOD, losses, trainer
from baselines.dspah.config import preset
from sdch_tf import train
from sdch_tf.run import experiment
from sdch_tf.data.pipeline import train_batches
from sdch_tf.registry import get_method


@pytest.fixture(scope="module")
def setup():
    config = preset("smoke")
    data = experiment.load_data(config.data)
    split = experiment.split_for(config.data, data, 0)
    return config, data, split


def snapshot(variables):
    return [np.array(v) for v in variables]


def changed(before, variables):
    return [not np.array_equal(a, np.asarray(b)) for a, b in zip(before, variables)]


def first_batch(config, data, split):
    return next(iter(train_batches(data, split.train, config.batch_size, trainer.preprocessing(config), 0)))


def test_registry_exposes_dspah():
    assert get_method("dspah") is METHOD and METHOD.name == "dspah" and not METHOD.semi_supervised
    assert METHOD.preset("paper").learning_rate == pytest.approx(10 ** -1.5)


def test_build_initialises_f_g_and_b(setup):
    config, data, split = setup
    model = trainer.build(config, data, split, 16, seed=0)
    f, g, b = (np.asarray(v) for v in (model.image_outputs, model.text_outputs, model.codes))
    assert f.shape == g.shape == b.shape == (len(split.train), 16)
    assert abs(f.std() - 1) < 0.15 and abs(g.std() - 1) < 0.15 and not np.allclose(f, g)
    assert np.array_equal(b, np.where(f + g >= 0, 1.0, -1.0))
    np.testing.assert_array_equal(np.asarray(model.train_labels), data.labels[split.train])


def test_image_step_changes_the_image_net_and_its_rows_of_f_only(setup):
    config, data, split = setup
    model = trainer.build(config, data, split, 16, seed=0)
    batch = first_batch(config, data, split)
    rows = batch["index"].numpy()
    expected_rows = np.asarray(model.image_net(batch["image"], training=True))
    image_vars, text_vars = model.image_net.trainable_variables, model.text_net.trainable_variables
    before_image, before_text = snapshot(image_vars), snapshot(text_vars)
    f0, g0, b0 = (np.array(v) for v in (model.image_outputs, model.text_outputs, model.codes))

    similarity = losses.fgsc_similarity(batch["label"], model.train_labels)
    terms, new_f = model._modality_step("image", model.image_net, batch["image"], batch["index"], tf.constant(f0),
                                        tf.constant(g0), similarity, tf.gather(model.codes, batch["index"]))

    assert all(changed(before_image, image_vars)) and not any(changed(before_text, text_vars))
    np.testing.assert_allclose(np.asarray(terms["outputs"]), expected_rows, atol=1e-5)
    # F as the loss saw it (and as the text step sees it): the batch's rows hold its new outputs.
    f1 = np.asarray(new_f)
    np.testing.assert_allclose(f1[rows], expected_rows, atol=1e-5)
    others = np.setdiff1d(np.arange(len(f0)), rows)
    assert np.array_equal(f1[others], f0[others])
    # The buffers are written by train_step, after both steps.
    for buffer, before in ((model.image_outputs, f0), (model.text_outputs, g0), (model.codes, b0)):
        assert np.array_equal(np.asarray(buffer), before)


def test_train_step_updates_both_nets_then_update_codes_sets_b(setup):
    config, data, split = setup
    model = trainer.build(config, data, split, 16, seed=0)
    batch = first_batch(config, data, split)
    image_vars, text_vars = model.image_net.trainable_variables, model.text_net.trainable_variables
    before_image, before_text, b0 = snapshot(image_vars), snapshot(text_vars), np.array(model.codes)
    f0, g0 = np.array(model.image_outputs), np.array(model.text_outputs)
    logs = model.train_step(batch)
    assert set(logs) == {"loss", "loss_image", "loss_text", "inter", "intra_image", "intra_text", "quantization"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert all(changed(before_image, image_vars)) and all(changed(before_text, text_vars))
    assert np.array_equal(np.asarray(model.codes), b0)  # B changes only after the epoch
    rows = batch["index"].numpy()
    others = np.setdiff1d(np.arange(len(split.train)), rows)
    for buffer, before in ((model.image_outputs, f0), (model.text_outputs, g0)):
        assert np.all(np.abs(np.asarray(buffer)[rows]) < 1)  # this batch's F and G rows are tanh outputs now
        assert np.array_equal(np.asarray(buffer)[others], before[others])

    model.update_codes(0)
    f, g = np.asarray(model.image_outputs), np.asarray(model.text_outputs)
    assert np.array_equal(np.asarray(model.codes), np.where(f + g >= 0, 1.0, -1.0))


def test_cpu_preset_scales_the_rate_with_the_code_length(setup):
    config, data, split = setup
    paper, cpu = preset("paper"), preset("cpu")
    assert [trainer.learning_rate(paper, c) for c in (16, 64)] == [10 ** -1.5] * 2
    assert trainer.learning_rate(cpu, 16) == pytest.approx(10 ** -1.5 / 2)  # 10^-1.5 · 8/c
    assert trainer.learning_rate(cpu, 64) == pytest.approx(10 ** -1.5 / 8)
    model = trainer.build(dataclasses.replace(config, rate_scaled_from_bits=4), data, split, 16, seed=0)
    for optimizer in model.optimizers_by_name.values():
        assert float(optimizer.learning_rate) == pytest.approx(10 ** -1.5 / 4)


def test_learning_rate_schedule_is_the_dcmh_linspace():
    np.testing.assert_allclose([trainer.linear_rate(e, 10 ** -1.5, 1e-6, 500) for e in (0, 250, 500)],
                               np.linspace(10 ** -1.5, 1e-6, 501)[[0, 250, 500]])


def test_smoke_run_writes_a_result(tmp_path):
    assert train.main(["--method", "dspah", "--preset", "smoke", "--out", str(tmp_path), "--quiet"]) == 0
    (path,) = tmp_path.glob("runs/dspah-*/result.json")
    result = json.loads(path.read_text())
    assert result["method"] == "dspah" and result["bits"] == 16 and len(result["epochs"]) == 2
    assert {"inter", "intra_image", "intra_text", "quantization"} <= set(result["epochs"][0])
    for key in ("map_i2t", "map_t2i"):
        assert 0 < result[key] <= 1


@pytest.mark.slow
def test_cpu_preset_learns_on_the_synthetic_set(tmp_path):
    config = dataclasses.replace(preset("cpu"), bits=(16,))
    data = experiment.load_data(config.data)
    result, _ = experiment.run(METHOD, config, data, 16, 0, str(tmp_path), verbose=0)
    assert result["map_i2t"] > result["untrained"]["map_i2t"] + 0.1
    assert result["map_t2i"] > result["untrained"]["map_t2i"] + 0.1
