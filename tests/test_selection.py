"""training.selection: the held-out share and its score, by hand; the grid search and the choice
recorded in the run directory."""
import json

import numpy as np

from sdch_tf.training.selection import grid_search, held_out_mask, held_out_score, recorded_choice


def test_held_out_mask_takes_the_rounded_share_and_at_least_one():
    mask = held_out_mask(10, 0.2, np.random.default_rng(0))
    assert mask.dtype == bool and mask.sum() == 2
    assert held_out_mask(3, 0.01, np.random.default_rng(0)).sum() == 1
    np.testing.assert_array_equal(mask, held_out_mask(10, 0.2, np.random.default_rng(0)))  # seeded


def test_held_out_score_is_the_mean_of_both_directions_held_out_against_fitted():
    # Items 0, 1 held out; 2, 3 fitted. Labels: 0 ~ 2, 1 ~ 3.
    labels = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    held = np.array([True, True, False, False])
    images = np.array([[1, 1], [-1, -1], [1, 1], [-1, -1]])
    texts = np.array([[1, 1], [1, 1], [-1, -1], [1, 1]])
    # I→T: query 0 (+,+) vs database texts 2 (−,−), 3 (+,+): 3 ranked first, wrong; 2 second: AP ½.
    #      query 1 (−,−): 2 first, wrong; 3 second: AP ½.  T→I: query 0 (+,+) vs images 2 (+,+),
    #      3 (−,−): 2 first, right: AP 1; query 1 (+,+): 2 first, wrong; 3 second: AP ½.
    assert held_out_score(images, texts, labels, held, top_k=None) == 0.5 * (0.5 + 0.75)


def test_grid_search_keeps_the_best_value_and_every_score():
    best, scores = grid_search((0.5, 1.0, 2.0), lambda v: -(v - 1.0) ** 2, lambda v: f"v {v:g}", verbose=0)
    assert best == 1.0 and scores == {"0.5": -0.25, "1": 0.0, "2": -1.0}


def test_a_recorded_choice_is_searched_once_then_read_back_and_a_fixed_one_never_searched(tmp_path):
    calls = []

    def search():
        calls.append(1)
        return 1.5, {"1": 0.4, "1.5": 0.6}

    first = recorded_choice(str(tmp_path), "margin", None, search)
    assert first["margin"] == 1.5 and first["validation_map"] == 0.6 and first["margin_seconds"] >= 0
    assert recorded_choice(str(tmp_path), "margin", None, search) == first and calls == [1]
    assert json.loads((tmp_path / "margin.json").read_text())["scores"] == {"1": 0.4, "1.5": 0.6}
    assert recorded_choice(str(tmp_path), "margin", 0.25, search) == {"margin": 0.25, "margin_seconds": 0.0}
    assert calls == [1]
