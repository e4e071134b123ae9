"""RDCMH through ``python -m sdch_tf.train``: smoke runs, the semi-supervised setting, and the
cpu preset learning on the synthetic set (slow)."""
import dataclasses
import json

import numpy as np
import pytest

from baselines.rdcmh import METHOD
from baselines.rdcmh import config as rdcmh_config
from baselines.rdcmh import trainer
from baselines.rdcmh.similarity import cosine_similarity, semantic_similarity
from sdch_tf import train
from sdch_tf.run import experiment
from sdch_tf.data.split import make_split


def _run(tmp_path, *args):
    assert train.main(["--preset", "smoke", "--out", str(tmp_path), "--quiet", *args]) == 0
    (path,) = tmp_path.glob("runs/*/result.json")
    return json.loads(path.read_text())


def test_smoke_run_writes_a_result(tmp_path):
    result = _run(tmp_path, "--method", "rdcmh")
    assert result["method"] == "rdcmh" and result["preset"] == "smoke" and result["bits"] == 16
    assert result["split"] == {"query": 40, "database": 200, "train": 96}
    assert [e["epoch"] for e in result["epochs"]] == [1, 2]
    assert {"loss", "xx", "yy", "xy", "yx", "quant_image", "quant_text"} <= set(result["epochs"][-1])
    assert result["config"]["lam"] == 1.0 and result["config"]["num_bins"] == 5
    for key in ("map_i2t", "map_t2i"):
        assert 0.0 < result[key] <= 1.0
    assert (next(tmp_path.glob("runs/*")) / "checkpoint.npz").exists()


def test_label_fraction_keeps_every_training_item_for_rdcmh(tmp_path):
    result = _run(tmp_path, "--method", "rdcmh", "--label-fraction", "0.3")
    # All 96 training items train (the unlabelled ones through s1); 29 = round(0.3 · 96) keep labels.
    assert result["split"] == {"query": 40, "database": 200, "train": 96, "labelled_train": 29}
    assert result["config"]["data"]["label_fraction"] == 0.3


def test_label_fraction_gives_a_supervised_method_the_labelled_items_only(tmp_path):
    result = _run(tmp_path, "--method", "sdch", "--label-fraction", "0.3")
    assert result["method"] == "sdch"
    assert result["split"] == {"query": 40, "database": 200, "train": 29}


def test_unlabelled_items_enter_the_similarity_through_their_features_only():
    cfg = rdcmh_config.preset("smoke")
    data = experiment.load_data(cfg.data)
    full = experiment.split_for(cfg.data, data, seed=0)
    split = make_split(data.num_samples, len(full.query), len(full.train), seed=0, label_fraction=0.3)
    model = trainer.build(cfg, data, split, bits=16, seed=0)
    texts, labels = data.texts[split.train], data.labels[split.train]
    s_text, unlabelled = model.similarity.text, ~split.labelled
    assert s_text.shape == (96, 96) and unlabelled.sum() == 67
    np.testing.assert_allclose(s_text[unlabelled], cosine_similarity(texts)[unlabelled], atol=1e-6)
    np.testing.assert_allclose(s_text, semantic_similarity(texts, labels, split.labelled), atol=1e-6)
    labelled = np.ix_(split.labelled, split.labelled)
    assert not np.allclose(s_text[labelled], cosine_similarity(texts)[labelled])


@pytest.mark.slow
def test_cpu_preset_learns_on_the_synthetic_set(tmp_path):
    cfg = rdcmh_config.preset("cpu")
    data = experiment.load_data(cfg.data)
    result, _ = experiment.run(METHOD, dataclasses.replace(cfg, bits=(16,)), data, 16, 0, str(tmp_path), verbose=0)
    for key in ("map_i2t", "map_t2i"):
        assert result[key] > result["untrained"][key] + 0.1, (key, result[key], result["untrained"][key])
