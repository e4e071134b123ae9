"""training.selection: the held-out share and its score, by hand."""
import numpy as np

from sdch_tf.training.selection import held_out_mask, held_out_score


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
