"""RDCMH Eq. 1, the semi-supervised semantic similarity (baselines/rdcmh/similarity.py)."""
import math

import numpy as np
import pytest

from baselines.rdcmh import similarity
from baselines.rdcmh.similarity import SemanticSimilarity, cosine_similarity, semantic_similarity


def _cos(a, b):
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(x * x for x in b))
    return 0.0 if na == 0 or nb == 0 else sum(x * y for x, y in zip(a, b)) / (na * nb)


def _eq1(features, labels, labelled):
    """Eq. 1 written out pair by pair."""
    n = len(features)
    z = [list(labels[i]) if labelled[i] else [0.0] * labels.shape[1] for i in range(n)]
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            s1 = _cos(features[i], features[j])
            if sum(v * v for v in z[i]) != 0 and sum(v * v for v in z[j]) != 0:
                out[i, j] = s1 * math.exp(_cos(z[i], z[j]) - s1)
            else:
                out[i, j] = s1
    return out


@pytest.fixture
def items():
    rng = np.random.default_rng(0)
    features = rng.integers(0, 3, size=(9, 6)).astype(np.float32)
    features[4] = 0  # an empty bag of words
    labels = (rng.random((9, 5)) < 0.4).astype(np.uint8)
    labels[2] = 0    # labelled, but with no label: Eq. 1's |z|² = 0 case
    return features, labels


def test_eq1_with_all_labels(items):
    features, labels = items
    np.testing.assert_allclose(semantic_similarity(features, labels), _eq1(features, labels, [True] * 9),
                               rtol=1e-5, atol=1e-6)


def test_eq1_with_unlabelled_items_uses_only_the_features_for_their_pairs(items, monkeypatch):
    features, labels = items
    labelled = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1], bool)
    monkeypatch.setattr(similarity, "BLOCK", 4)  # several row blocks, one partial
    s = semantic_similarity(features, labels, labelled)
    np.testing.assert_allclose(s, _eq1(features, labels, labelled), rtol=1e-5, atol=1e-6)
    s1 = cosine_similarity(features)
    np.testing.assert_allclose(s[~labelled], s1[~labelled], atol=1e-6)
    np.testing.assert_allclose(s[:, ~labelled], s1[:, ~labelled], atol=1e-6)
    assert not np.allclose(s[np.ix_(labelled, labelled)], s1[np.ix_(labelled, labelled)])


def test_non_negative_inputs_give_similarities_in_the_unit_interval(items):
    features, labels = items
    s = semantic_similarity(features, labels)
    assert s.dtype == np.float32 and s.shape == (9, 9)
    assert s.min() >= 0.0 and s.max() <= 1.0 + 1e-6
    np.testing.assert_allclose(s, s.T, atol=1e-6)
    assert np.all(s[4] == 0)  # an empty text is similar to nothing


def test_cross_modal_similarity_is_the_mean_of_the_two(items):
    features, labels = items
    rng = np.random.default_rng(1)
    image_features = rng.random((9, 4)).astype(np.float32)
    sim = SemanticSimilarity.from_features(image_features, features, labels)
    rows = np.array([3, 0, 3])
    np.testing.assert_allclose(sim.cross_rows(rows), (sim.image[rows] + sim.text[rows]) / 2, rtol=1e-6)
    np.testing.assert_allclose(sim.image, _eq1(image_features, labels, [True] * 9), rtol=1e-5, atol=1e-6)


def test_bad_shapes_are_refused(items):
    features, labels = items
    with pytest.raises(ValueError, match="same n"):
        semantic_similarity(features, labels[:5])
    with pytest.raises(ValueError, match="labelled must be a bool vector"):
        semantic_similarity(features, labels, np.ones(4, bool))
    with pytest.raises(ValueError, match="one row per item"):
        SemanticSimilarity.from_features(features[:3], features, labels)
