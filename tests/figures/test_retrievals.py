"""Tests of SDCH Figure 3 (sdch_tf/figures/retrievals.py) and the synthetic set's vocabulary names.

The layout is checked on a hand-made 10-sample dataset whose word statistics are computed
by hand; the drawing on smoke-size synthetic data (no TensorFlow, no training).
"""
from __future__ import annotations

import dataclasses
import json
import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from sdch_tf.configs import DataConfig, smoke_data
from sdch_tf.sdch.config import SDCHConfig
from sdch_tf.data.dataset import ArrayImages, CrossModalData
from sdch_tf.data.synthetic import SyntheticConfig, make_synthetic, make_world
from sdch_tf.figures import retrievals as R

# --- a hand-made dataset: 10 samples, 5 words, 3 labels ------------------------------------

VOCAB = ("common", "half", "pair", "unique", "pair2")
# Document frequencies: common 10, half 5, pair 2, unique 1, pair2 2 → idf log(10/df).
TEXTS = np.zeros((10, 5), np.float32)
TEXTS[:, 0] = 1
TEXTS[:5, 1] = 1
TEXTS[[0, 7], 2] = 1
TEXTS[0, 3] = 1
TEXTS[[1, 2], 4] = 1
LABELS = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1],
                   [1, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1], [0, 0, 1]], np.uint8)
NAMES = ("sky", "sea", "dog")


def hand_data(vocabulary=VOCAB, label_names=NAMES) -> CrossModalData:
    images = np.repeat(np.arange(10, dtype=np.uint8)[:, None, None, None] * 20, 4, axis=1)
    images = np.repeat(np.repeat(images, 4, axis=2), 3, axis=3)
    return CrossModalData("hand", ArrayImages(images), TEXTS.copy(), LABELS.copy(), label_names=label_names,
                          vocabulary=vocabulary)


def recorded(query, retrieved, labels=LABELS):
    """A ``retrievals[direction]`` record with distances 0, 1, ... and relevance from ``labels``."""
    relevant = [[bool((labels[q] & labels[i]).any()) for i in row] for q, row in zip(query, retrieved)]
    return {"query": list(query), "retrieved": [list(r) for r in retrieved],
            "distance": [list(range(len(r))) for r in retrieved], "relevant": relevant}


QUERIES = [0, 2, 4, 6]
SDCH_I2T = [[1, 5, 7, 2, 3], [3, 8, 5, 0, 1], [6, 7, 9, 0, 1], [4, 9, 8, 7, 0]]
SDCH_T2I = [[5, 1, 2, 3, 4], [8, 3, 1, 4, 7], [9, 6, 8, 1, 2], [9, 4, 3, 5, 7]]
DCMH_I2T = [[2, 3, 1, 4, 6], [0, 1, 3, 5, 8], [1, 2, 3, 7, 9], [0, 1, 2, 3, 4]]
DCMH_T2I = [[3, 4, 5, 6, 7], [1, 5, 8, 9, 0], [0, 6, 7, 1, 3], [1, 2, 8, 9, 4]]


def run(method, i2t, t2i, seed=1, bits=32, dataset="synthetic", data=None, query=QUERIES, labels=LABELS):
    config = SDCHConfig(method=method, data=data or smoke_data(DataConfig()))
    return {"method": method, "dataset": dataset, "bits": bits, "seed": seed,
            "run_id": f"{method}-{dataset}-{bits}bits-seed{seed}-0000000{seed}", "top_k": 500,
            "map_i2t": 0.5, "map_t2i": 0.5,
            "retrievals": {"i2t": recorded(query, i2t, labels), "t2i": recorded(query, t2i, labels)},
            "config": json.loads(json.dumps(dataclasses.asdict(config)))}


# --- word ranking --------------------------------------------------------------------------

def test_idf_ranks_a_texts_words_rarest_first():
    idf = R.inverse_document_frequency(TEXTS)
    np.testing.assert_allclose(idf, np.log(10 / np.array([10, 5, 2, 1, 2])))
    # Sample 0 holds common, half, pair, unique: rarest first.
    assert R.top_words(TEXTS[0], idf, VOCAB, 6) == (("unique", "pair", "half", "common"), 0)
    assert R.top_words(TEXTS[0], idf, VOCAB, 2) == (("unique", "pair"), 2)
    # Equal idf (pair and pair2, both in 2 texts): the lower index first; no vocabulary: w<index>.
    both = np.array([0, 0, 1, 0, 1], np.float32)
    assert R.top_words(both, idf, None, 6) == (("w2", "w4"), 0)


def test_label_information_is_the_mutual_information_with_the_best_label():
    labels = np.array([[1, 1], [1, 1], [0, 1], [0, 1]], np.uint8)    # label 1 is constant
    texts = np.array([[1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 0]], np.float32)
    # word 0 = label 0: I = H(label 0) = log 2; word 1 is independent of label 0: 0;
    # word 2 (sample 0 only): joint (1,1) 1/4, (0,1) 1/4, (0,0) 1/2, (1,0) 0.
    word2 = 0.25 * math.log(0.25 / (0.25 * 0.5)) + 0.25 * math.log(0.25 / (0.75 * 0.5)) \
        + 0.5 * math.log(0.5 / (0.75 * 0.5))
    np.testing.assert_allclose(R.label_information(texts, labels, chunk=3), [math.log(2), 0.0, word2], atol=1e-12)
    assert R.top_words(texts[0], R.label_information(texts, labels), ("a", "b", "c"), 2) == (("a", "c"), 1)


# --- choosing the runs ---------------------------------------------------------------------

def test_pick_runs_prefers_a_seed_with_both_methods_and_falls_back_to_a_recorded_length():
    runs = [run("sdch", SDCH_I2T, SDCH_T2I, seed=0, bits=16), run("sdch", SDCH_I2T, SDCH_T2I, seed=1, bits=16),
            run("dcmh", DCMH_I2T, DCMH_T2I, seed=1, bits=16), run("dcmh", DCMH_I2T, DCMH_T2I, seed=2, bits=64),
            {**run("cmhn", DCMH_I2T, DCMH_T2I, seed=0, bits=16)},
            {k: v for k, v in run("sdch", SDCH_I2T, SDCH_T2I, seed=0, bits=32).items() if k != "retrievals"}]
    sel = R.pick_runs(runs, bits=32)
    assert (sel.dataset, sel.bits, sel.seed) == ("synthetic", 16, 1)   # 32 bits has no retrievals; 16 is closest
    assert list(sel.runs) == ["sdch", "dcmh"] and sel.missing == ()
    assert sel.notes == ("no 32-bit run with retrievals; drawing 16 bits",)
    alone = R.pick_runs(runs, bits=16, seed=0)
    assert list(alone.runs) == ["sdch"] and alone.missing == ("dcmh",)
    assert "DCMH: no run with retrievals, SDCH drawn alone" in R.figure_title(alone)
    assert R.pick_runs(runs, bits=64).seed == 2


def test_pick_runs_without_retrievals_raises_a_clear_error():
    bare = {k: v for k, v in run("sdch", SDCH_I2T, SDCH_T2I).items() if k != "retrievals"}
    with pytest.raises(R.NoRetrievals, match="no SDCH or DCMH run recorded retrievals"):
        R.pick_runs([bare])
    with pytest.raises(R.NoRetrievals, match="seeds with some: 1"):
        R.pick_runs([run("sdch", SDCH_I2T, SDCH_T2I)], seed=5)


def test_data_config_rebuilds_the_recorded_split_and_dataset():
    recorded_run = run("sdch", SDCH_I2T, SDCH_T2I)
    assert R.data_config(recorded_run) == smoke_data(DataConfig())
    assert R.data_config(recorded_run, data_dir="/x").data_dir == "/x"


# --- the layout ----------------------------------------------------------------------------

def test_panels_hold_the_recorded_items_flags_and_words():
    data = hand_data()
    runs = {"dcmh": run("dcmh", DCMH_I2T, DCMH_T2I), "sdch": run("sdch", SDCH_I2T, SDCH_T2I)}
    panels = R.retrieval_panels(runs, data, image_queries=2, text_queries=2, max_words=2, rank="idf")
    # Image queries are positions 0, 1 of the list, text queries continue at 2, 3.
    assert [(p.direction, p.position, p.query.index, p.query.modality) for p in panels] == [
        ("i2t", 0, 0, "image"), ("i2t", 1, 2, "image"), ("t2i", 2, 4, "text"), ("t2i", 3, 6, "text")]
    assert [[m for m, _ in p.rows] for p in panels] == [["sdch", "dcmh"]] * 4    # SDCH's row on top
    first = panels[0]
    assert first.query_labels == ("sky",)
    sdch_items = first.rows[0][1]
    assert [i.index for i in sdch_items] == [1, 5, 7, 2, 3]
    # Query 0 is "sky": samples 1, 5, 7 share it, 2 and 3 do not.
    assert [i.relevant for i in sdch_items] == [True, True, True, False, False]
    assert [i.distance for i in sdch_items] == [0, 1, 2, 3, 4]
    # Retrieved texts by idf, two words: sample 1 has common, half, pair2 → pair2, half (+1).
    assert (sdch_items[0].modality, sdch_items[0].words, sdch_items[0].more_words) == ("text", ("pair2", "half"), 1)
    assert [i.index for i in first.rows[1][1]] == DCMH_I2T[0]
    assert [i.relevant for i in first.rows[1][1]] == [False, False, True, False, False]
    # A text query shows its words; its items are images.
    text_panel = panels[2]
    assert (text_panel.query.words, text_panel.query.more_words) == (("half", "common"), 0)
    assert text_panel.query_labels == ("dog",)
    assert {i.modality for _, items in text_panel.rows for i in items} == {"image"}
    assert [i.relevant for i in text_panel.rows[0][1]] == [True, True, True, False, False]   # 9, 6, 8 hold dog
    assert R.relevance_mismatches(panels, LABELS) == 0
    assert R.relevance_mismatches(panels, 1 - LABELS) > 0


def test_panels_match_other_methods_by_query_index_and_honour_query_positions():
    data = hand_data(vocabulary=None, label_names=None)
    shuffled = [2, 0, 6, 4]    # DCMH's queries in another order: rows follow the dataset index
    dcmh = run("dcmh", [DCMH_I2T[1], DCMH_I2T[0], DCMH_I2T[3], DCMH_I2T[2]],
               [DCMH_T2I[1], DCMH_T2I[0], DCMH_T2I[3], DCMH_T2I[2]], query=shuffled)
    runs = {"sdch": run("sdch", SDCH_I2T, SDCH_T2I), "dcmh": dcmh}
    panels = R.retrieval_panels(runs, data, image_queries=1, text_queries=0, queries=[3], rank="idf")
    assert [(p.direction, p.query.index) for p in panels] == [("i2t", 6)]
    assert [i.index for i in panels[0].rows[1][1]] == DCMH_I2T[3]
    assert panels[0].query_labels == ("c2",)
    assert panels[0].rows[0][1][4].words == ("w3", "w2", "w1", "w0")   # sample 0, rarest first, no vocabulary
    # A query the other run did not record leaves its row empty.
    partial = run("dcmh", DCMH_I2T[:1], DCMH_T2I[:1], query=[0])
    panels = R.retrieval_panels({"sdch": runs["sdch"], "dcmh": partial}, data, 2, 0, rank="idf")
    assert [len(p.rows[1][1]) for p in panels] == [5, 0]
    with pytest.raises(ValueError, match="query position 9 not recorded"):
        R.retrieval_panels(runs, data, queries=[9])


# --- drawing -------------------------------------------------------------------------------

def smoke_synthetic(cfg):
    return make_synthetic(cfg.synthetic)


def write_runs(root, runs):
    for r in runs:
        d = root / "runs" / r["run_id"]
        d.mkdir(parents=True)
        (d / "result.json").write_text(json.dumps(r))


def test_draw_retrievals_writes_png_and_pdf(tmp_path, capsys):
    # Smoke-size synthetic data (240 samples): indices below 240.
    # Relevance as the evaluator records it, from the synthetic set's own labels.
    labels = make_synthetic(smoke_data(DataConfig()).synthetic).labels
    query = [100, 101, 102, 103]
    sdch = run("sdch", [[10, 11, 12, 13, 14]] * 4, [[20, 21, 22, 23, 24]] * 4, query=query, labels=labels)
    dcmh = run("dcmh", [[30, 31, 32, 33, 34]] * 4, [[40, 41, 42, 43, 44]] * 4, query=query, labels=labels)
    write_runs(tmp_path, [sdch, dcmh])
    paths = R.draw_retrievals(str(tmp_path), str(tmp_path / "figures" / "fig3"), load=smoke_synthetic)
    assert paths == [str(tmp_path / "figures" / "fig3.png"), str(tmp_path / "figures" / "fig3.pdf")]
    png, pdf = (open(p, "rb").read() for p in paths)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and pdf[:5] == b"%PDF-"
    width = int.from_bytes(png[16:20], "big")
    assert width == 7 * 300                                          # 7 in at 300 dpi: paper width
    assert "disagree" not in capsys.readouterr().err


def test_draw_retrievals_alone_and_without_runs(tmp_path, capsys):
    empty = tmp_path / "empty"
    write_runs(empty, [{k: v for k, v in run("sdch", SDCH_I2T, SDCH_T2I).items() if k != "retrievals"}])
    assert R.draw_retrievals(str(empty), str(tmp_path / "none"), load=smoke_synthetic) == []
    assert "Figure 3 not drawn: no SDCH or DCMH run recorded retrievals" in capsys.readouterr().err
    alone = tmp_path / "alone"
    write_runs(alone, [run("sdch", SDCH_I2T, SDCH_T2I)])
    paths = R.draw_retrievals(str(alone), str(tmp_path / "alone_fig"), image_queries=1, text_queries=1,
                              load=smoke_synthetic)
    assert len(paths) == 2
    # The hand-made relevance flags do not fit the synthetic labels: the figure says so.
    assert "recorded relevance flags disagree" in capsys.readouterr().err


# --- the synthetic set's vocabulary ---------------------------------------------------------

def test_synthetic_vocabulary_names_every_word():
    config = smoke_data(DataConfig()).synthetic
    data = make_synthetic(config)
    world = make_world(config)
    vocab = data.vocabulary
    assert len(vocab) == config.vocab_size == data.text_dim == 200 and len(set(vocab)) == 200
    # Concept 0 is red-disc (colour 0, shape 0): its 4 synonyms carry its label name.
    assert [vocab[w] for w in world.synonyms[0]] == ["red-disc", "red-disc·2", "red-disc·3", "red-disc·4"]
    assert vocab[world.synonyms[9, 0]] == data.label_names[9] == "green-square"
    assert [vocab[w] for w in world.topic_vocab[3]] == ["topic3·w1", "topic3·w2", "topic3·w3"]
    assert all(vocab[w] == f"w{w}" for w in world.noise_vocab)
    assert len(world.noise_vocab) == 200 - 24 * 4 - 8 * 3


def test_vocabulary_length_is_validated():
    with pytest.raises(ValueError, match="4 vocabulary words for 5 text dimensions"):
        hand_data(vocabulary=VOCAB[:4])
    assert SyntheticConfig().vocab_size == len(make_world(SyntheticConfig()).noise_vocab) + 24 * 4 + 8 * 3
