"""Tests of the embedded synthetic dataset (sdch_tf/data/synthetic.py).

Statistical tests compare sample frequencies with the probabilities the generator's design
fixes (written out here in plain numpy) within four standard errors, or with thresholds the
design guarantees by a wide margin; images are checked pixel by pixel on hand-built scenes.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sdch_tf.data.dataset import ArrayImages, CrossModalData
from sdch_tf.data.synthetic import (
    ALL_SHAPES, CONCEPT_COLOURS, DISTRACTOR_COLOURS, PALETTE, SHAPES, SceneLayout, SyntheticConfig,
    _signed_distance, make_layout, make_synthetic, make_world, render_images, sample_labels, sample_texts,
)

SMALL = SyntheticConfig(num_samples=400, image_size=48, vocab_size=300, seed=3)


@pytest.fixture(scope="module")
def small():
    return make_synthetic(SMALL)


def _arrays(data: CrossModalData):
    return data.images.read(np.arange(data.num_samples)), data.texts, data.labels


def _labels_and_texts(config: SyntheticConfig):
    world = make_world(config)
    rng_l, rng_t = np.random.default_rng(100 + config.seed), np.random.default_rng(200 + config.seed)
    labels, topics = sample_labels(world, config, rng_l)
    return world, labels, topics, sample_texts(labels, topics, world, config, rng_t)


# --- the dataset as a whole -------------------------------------------------------------

def test_shapes_dtypes_and_ranges(small):
    images, texts, labels = _arrays(small)
    assert small.name == "synthetic"
    assert isinstance(small.images, ArrayImages)
    assert images.shape == (400, 48, 48, 3) and images.dtype == np.uint8
    assert texts.shape == (400, 300) and texts.dtype == np.float32
    assert labels.shape == (400, 24) and labels.dtype == np.uint8
    assert set(np.unique(texts)) == {0.0, 1.0}
    assert set(np.unique(labels)) == {0, 1}
    assert texts.sum(axis=1).min() >= 1           # no empty text
    assert images.std() > 20                      # not a constant image


def test_label_names():
    names = make_world(SyntheticConfig()).label_names
    assert len(names) == 24 and len(set(names)) == 24
    # Concept c is colour c mod 8, shape c div 8: each colour is shared by three concepts.
    assert names[:9] == ("red-disc", "green-disc", "blue-disc", "yellow-disc", "magenta-disc", "cyan-disc",
                         "orange-disc", "purple-disc", "red-square")
    assert names[-1] == "purple-triangle"
    assert make_world(SyntheticConfig(num_concepts=48)).label_names[-1] == "purple-diamond"
    four = make_world(SyntheticConfig(concept_colours=4)).label_names
    assert four[:5] == ("red-disc", "green-disc", "blue-disc", "yellow-disc", "red-square")
    assert four[-1] == "yellow-diamond"


def test_same_config_is_bit_identical(small):
    again = make_synthetic(SMALL)
    for a, b in zip(_arrays(small), _arrays(again)):
        np.testing.assert_array_equal(a, b)
    assert again.label_names == small.label_names


def test_different_seed_differs_everywhere(small):
    other = make_synthetic(dataclasses.replace(SMALL, seed=4))
    for a, b in zip(_arrays(small), _arrays(other)):
        assert a.shape == b.shape and not np.array_equal(a, b)


def test_image_knobs_leave_labels_and_texts_unchanged(small):
    other = make_synthetic(dataclasses.replace(SMALL, image_size=32, pixel_noise=0.0, distractors=3.0))
    np.testing.assert_array_equal(other.labels, small.labels)
    np.testing.assert_array_equal(other.texts, small.texts)
    assert other.images.shape == (400, 32, 32, 3)


def test_the_smoke_preset_sizes_work():
    data = make_synthetic(SyntheticConfig(num_samples=240, image_size=48, vocab_size=200))
    assert data.num_samples == 240 and data.text_dim == 200 and data.num_labels == 24


@pytest.mark.parametrize("changes, field", [
    (dict(vocab_size=120), "vocab_size"),          # 24 × 4 synonyms + 8 × 3 context words = 120
    (dict(num_concepts=49), "num_concepts"),
    (dict(num_concepts=24, concept_colours=3), "num_concepts"),  # 3 colours × 6 shapes = 18 < 24
    (dict(concept_colours=9), "concept_colours"),
    (dict(num_concepts=3, topic_size=4), "topic_size"),
    (dict(tag_prob=1.5), "tag_prob"),
    (dict(scale_range=(0.2, 0.1)), "scale_range"),
    (dict(image_size=8), "image_size"),
    (dict(noise_words=-1.0), "noise_words"),
])
def test_bad_config_names_the_field(changes, field):
    with pytest.raises(ValueError, match=f"SyntheticConfig.{field}"):
        SyntheticConfig(**changes)


# --- labels -----------------------------------------------------------------------------

def test_every_sample_has_a_label_and_a_few_on_average():
    config = SyntheticConfig(num_samples=20000)
    world, labels, topics, _ = _labels_and_texts(config)
    counts = labels.sum(axis=1)
    assert counts.min() >= 1
    assert 2.0 <= counts.mean() <= 4.5
    assert 2 <= np.median(counts) <= 4

    # The expected count, transcribed: a sample's topic pair (t, u) gives concept
    # probabilities q; E[count | t, u] = Σ q + Π (1 − q) (an empty sample gets one concept).
    prob, prior, m = world.topic_concept_prob, world.topic_prior, config.second_topic_prob
    num_t = config.num_topics
    expected = 0.0
    for t in range(num_t):
        expected += prior[t] * (1 - m) * (prob[t].sum() + np.prod(1 - prob[t]))
        for u in range(num_t):
            if u != t:
                q = 1 - (1 - prob[t]) * (1 - prob[u])
                expected += prior[t] * m / (num_t - 1) * (q.sum() + np.prod(1 - q))
    assert abs(counts.mean() - expected) < 4 * counts.std() / np.sqrt(len(counts))
    assert abs((topics[:, 1] >= 0).mean() - m) < 4 * np.sqrt(m * (1 - m) / len(counts))
    assert np.all(topics[:, 0] != topics[:, 1])


def test_concepts_of_a_topic_co_occur():
    config = SyntheticConfig(num_samples=6000)
    world, labels, _, _ = _labels_and_texts(config)
    y = labels.astype(np.float64)
    p = y.mean(axis=0)
    lift = (y.T @ y / len(y)) / np.outer(p, p)     # P(a, b) / (P(a) P(b)); 1 under independence
    same_topic = np.zeros((24, 24), dtype=bool)
    for members in world.topic_members:
        same_topic[np.ix_(members, members)] = True
    off_diagonal = ~np.eye(24, dtype=bool)
    # Core probabilities ≥ 0.35 against a 2% background: a shared topic more than doubles
    # the joint frequency (≈ 3.5 on average); concepts that share no topic anti-correlate.
    assert lift[same_topic & off_diagonal].min() > 1.5
    assert lift[same_topic & off_diagonal].mean() > 2.5
    assert lift[~same_topic].mean() < 1.0
    # Every concept is core to some topic (8 topics × 4 members ≥ 24 concepts).
    assert set(world.topic_members.ravel()) == set(range(24))


# --- texts ------------------------------------------------------------------------------

def test_texts_name_present_concepts_with_missing_and_wrong_tags():
    config = SyntheticConfig(num_samples=6000)
    world, labels, _, texts = _labels_and_texts(config)
    present = labels.astype(bool)
    synonym_hits = texts[:, world.synonyms].astype(bool)  # (N, C, words_per_concept)
    tagged = synonym_hits.any(axis=2)

    # Wrong tags go to absent concepts only, so a present concept is named with tag_prob.
    rate = tagged[present].mean()
    assert abs(rate - config.tag_prob) < 4 * np.sqrt(config.tag_prob * (1 - config.tag_prob) / present.sum())
    # Each synonym of a tagged concept: word_prob, plus its share of the forced word.
    w, q = config.words_per_concept, config.word_prob
    per_word = config.tag_prob * (q + (1 - q) ** w / w)
    hits = synonym_hits[present]
    assert abs(hits.mean() - per_word) < 4 * np.sqrt(per_word * (1 - per_word) / hits.size)
    # Missing tags: about 30% of the present concepts are not named at all.
    assert 0.25 < 1 - rate < 0.35
    # Wrong tags: Poisson(wrong_tag_rate) absent-concept words per text (fewer if two coincide).
    wrong_per_text = (synonym_hits & ~present[:, :, None]).sum(axis=(1, 2))
    assert 0.9 * config.wrong_tag_rate < wrong_per_text.mean() <= config.wrong_tag_rate + 4 * np.sqrt(
        config.wrong_tag_rate / len(texts))
    # Signal: a named concept is far likelier present than absent.
    assert tagged[present].mean() > 20 * tagged[~present].mean()


def test_vocabulary_parts_are_disjoint_and_noise_words_follow_zipf():
    config = SyntheticConfig(num_samples=6000)
    world, _, _, texts = _labels_and_texts(config)
    parts = np.concatenate([world.synonyms.ravel(), world.topic_vocab.ravel(), world.noise_vocab])
    np.testing.assert_array_equal(np.sort(parts), np.arange(config.vocab_size))
    # Poisson(λ) draws thin into independent Poisson(λ p_r) counts, so word r appears with
    # probability 1 − exp(−λ p_r) (texts left empty add a little, far below 4 SE).
    for rank in (0, 1, 9):
        expected = 1 - np.exp(-config.noise_words * world.noise_prob[rank])
        observed = texts[:, world.noise_vocab[rank]].mean()
        assert abs(observed - expected) < 4 * np.sqrt(expected * (1 - expected) / len(texts))
    assert world.noise_prob[0] / world.noise_prob[9] == pytest.approx(10.0)   # Zipf exponent 1


def test_topic_words_follow_the_sample_topics():
    config = SyntheticConfig(num_samples=6000)
    world, _, topics, texts = _labels_and_texts(config)
    in_topic = np.zeros((len(texts), config.num_topics), dtype=bool)
    for which in (0, 1):
        ok = topics[:, which] >= 0
        in_topic[np.flatnonzero(ok), topics[ok, which]] = True
    hits = texts[:, world.topic_vocab].astype(bool)        # (N, T, topic_words)
    rate = hits[in_topic].mean()
    assert abs(rate - config.topic_word_prob) < 4 * np.sqrt(0.3 * 0.7 / hits[in_topic].size)
    assert not hits[~in_topic].any()


# --- layout -----------------------------------------------------------------------------

def _layout(config: SyntheticConfig, seed: int = 0):
    world = make_world(config)
    labels, _ = sample_labels(world, config, np.random.default_rng(seed))
    return world, labels, make_layout(labels, world, config, np.random.default_rng(seed + 1))


def test_layout_has_one_object_per_label_and_distractors_that_are_no_concept():
    config = SyntheticConfig(num_samples=2000, hidden_prob=0.0)
    world, labels, layout = _layout(config)
    is_concept = layout.concept >= 0
    drawn = np.zeros_like(labels)
    drawn[layout.sample[is_concept], layout.concept[is_concept]] = 1
    np.testing.assert_array_equal(drawn, labels)
    assert is_concept.sum() == labels.sum()
    np.testing.assert_array_equal(layout.shape[is_concept], world.concept_shape[layout.concept[is_concept]])
    np.testing.assert_array_equal(layout.palette[is_concept], world.concept_colour[layout.concept[is_concept]])

    # A distractor shares exactly one attribute with the concepts: its shape or its colour.
    shape, palette = layout.shape[~is_concept], layout.palette[~is_concept]
    concept_shape = shape < len(SHAPES)
    concept_colour = palette < len(CONCEPT_COLOURS)
    np.testing.assert_array_equal(concept_shape, ~concept_colour)
    assert 0.4 < concept_shape.mean() < 0.6
    assert abs((~is_concept).sum() / 2000 - config.distractors) < 0.1
    # Drawing order: slots 0..k-1 within each image.
    for i in range(20):
        np.testing.assert_array_equal(layout.slot[layout.sample == i], np.arange((layout.sample == i).sum()))


def test_hidden_prob_drops_concept_objects():
    config = SyntheticConfig(num_samples=2000, hidden_prob=0.3)
    _, labels, layout = _layout(config)
    kept = (layout.concept >= 0).sum() / labels.sum()
    assert abs(kept - 0.7) < 4 * np.sqrt(0.21 / labels.sum())


def test_objects_survive_an_88_percent_crop():
    config = SyntheticConfig(num_samples=2000)
    _, _, layout = _layout(config)
    c, r = layout.centre, layout.radius[:, None]
    assert np.all(c >= np.maximum(0.12, r) - 1e-6) and np.all(c <= 1 - np.maximum(0.12, r) + 1e-6)
    lo, hi = config.scale_range
    assert layout.radius.min() >= lo - 1e-6 and layout.radius.max() <= hi + 1e-6


def test_objects_rarely_overlap_when_there_is_room():
    # With the default (large) objects a 64-pixel scene has no room to keep them all apart, so
    # the re-placement is checked where it can succeed: smaller objects.
    config = SyntheticConfig(num_samples=2000, scale_range=(0.09, 0.16))
    _, _, layout = _layout(config)
    c = layout.centre
    # Pairs closer than min_separation × (r_a + r_b) are re-placed; only a few remain.
    close = total = 0
    for i in range(300):
        sel = layout.sample == i
        p, rad = c[sel], layout.radius[sel]
        d = np.linalg.norm(p[:, None] - p[None], axis=-1)
        upper = np.triu(np.ones_like(d, dtype=bool), 1)
        close += (d < config.min_separation * (rad[:, None] + rad[None]))[upper].sum()
        total += upper.sum()
    assert close / total < 0.03


# --- rendering --------------------------------------------------------------------------

CLEAN = SyntheticConfig(image_size=64, pixel_noise=0.0, illumination=0.0, colour_jitter=0.0, stripe_prob=0.0)


def _scene(shape: str, centre=(0.5, 0.5), radius=0.1, angle=0.0, colour="red", striped=False) -> SceneLayout:
    palette = (list(CONCEPT_COLOURS) + list(DISTRACTOR_COLOURS)).index(colour)
    return SceneLayout(
        sample=np.array([0]), slot=np.array([0]), concept=np.array([-1]), shape=np.array([ALL_SHAPES.index(shape)]),
        palette=np.array([palette]), colour=PALETTE[[palette]], centre=np.array([centre], np.float32),
        radius=np.array([radius], np.float32), angle=np.array([angle], np.float32),
        striped=np.array([striped]), stripe_angle=np.array([0.0], np.float32),
    )


def _empty_scene() -> SceneLayout:
    scene = _scene("disc")
    return SceneLayout(**{f.name: getattr(scene, f.name)[:0] for f in dataclasses.fields(SceneLayout)})


def test_a_drawn_disc_is_its_colour_inside_and_leaves_the_background_outside():
    background = render_images(_empty_scene(), 1, CLEAN, np.random.default_rng(7))[0].astype(int)
    image = render_images(_scene("disc", centre=(0.5, 0.25)), 1, CLEAN, np.random.default_rng(7))[0].astype(int)
    # Pixel centres at (i + 0.5) / 64 of the side; the disc has radius 6.4 px at (32, 16).
    yy, xx = np.mgrid[0:64, 0:64] + 0.5
    dist = np.hypot(xx - 32, yy - 16)
    assert np.all(image[dist < 6.4 - 0.5] == (220, 40, 40))
    np.testing.assert_array_equal(image[dist > 6.4 + 0.5], background[dist > 6.4 + 0.5])
    # The background is muted: far from the saturated red.
    assert np.abs(background - (220, 40, 40)).sum(axis=-1).min() > 60


@pytest.mark.parametrize("shape, area", [
    ("disc", np.pi),
    ("square", 1.6 ** 2),
    ("diamond", 2 * 1.13 ** 2),
    ("triangle", 3 * np.sqrt(3) / 4 * 1.2 ** 2),
    ("ring", np.pi * (1 - 0.44 ** 2)),
    ("cross", 2 * 2 * 0.6 - 0.6 ** 2),
    ("bar", 2.2 * 0.6),
    ("crescent", None),
])
def test_shape_areas(shape, area):
    # Signed distance on a fine grid (radius 1, step 0.01): the area inside, in units of r².
    grid = (np.arange(-150, 150) + 0.5) / 100
    x, y = np.meshgrid(grid, grid)
    inside = (_signed_distance(shape, x[None], y[None], np.ones((1, 1, 1))) < 0).sum() / 100 ** 2
    if area is None:   # crescent: the unit disc minus the disc of radius 0.8 centred at (0.45, 0)
        area = np.pi - (np.hypot(x - 0.45, y) < 0.8)[np.hypot(x, y) < 1].sum() / 100 ** 2
    assert inside == pytest.approx(area, rel=0.01)


def test_square_and_diamond_are_told_apart_by_their_corners():
    # The square's corner (0.8, 0.8) r is inside the square and outside the diamond.
    r = np.ones((1, 1, 1))
    corner = np.full((1, 1, 1), 0.78)
    assert _signed_distance("square", corner, corner, r) < 0 < _signed_distance("diamond", corner, corner, r)
    tip = np.full((1, 1, 1), 1.1)
    zero = np.zeros((1, 1, 1))
    assert _signed_distance("diamond", tip, zero, r) < 0 < _signed_distance("square", tip, zero, r)


def test_rendering_is_anti_aliased_and_occlusion_follows_the_slots():
    first, second = _scene("square", colour="blue"), _scene("disc", colour="yellow", radius=0.05)
    scene = SceneLayout(**{f.name: np.concatenate([getattr(first, f.name), getattr(second, f.name)])
                           for f in dataclasses.fields(SceneLayout)})
    scene = dataclasses.replace(scene, slot=np.array([0, 1]), sample=np.array([0, 0]))
    image = render_images(scene, 1, CLEAN, np.random.default_rng(0))[0]
    np.testing.assert_array_equal(image[32, 32], (235, 215, 45))          # the later disc is on top
    np.testing.assert_array_equal(image[32, 32 + 4], (45, 75, 230))       # the square around it
    edge = image[32, 32 + 5]                                              # 5.12 px square edge at 37.12
    assert not np.array_equal(edge, (45, 75, 230))


def test_pixel_statistics_follow_the_concepts(small):
    # Pixels near the red palette colour: far more of them in images with a red concept than
    # in images without one (where red appears only through distractors).
    images, _, labels = _arrays(small)
    img = images.astype(int)
    reddish = (img[..., 0] > 150) & (img[..., 1] < 100) & (img[..., 2] < 100)
    red_concepts = [i for i, n in enumerate(small.label_names) if n.startswith("red-")]
    has_red = labels[:, red_concepts].any(axis=1)
    assert 10 < has_red.sum() < len(labels) - 10
    assert reddish[has_red].mean() > 4 * reddish[~has_red].mean()


def test_concept_objects_are_visible_in_the_rendered_images():
    # With default noise, jitter and illumination the centre pixel of a visible concept
    # object (not ring: its centre is a hole) stays close to its palette colour.
    config = SyntheticConfig(num_samples=300, image_size=64, seed=5)
    world = make_world(config)
    labels, _ = sample_labels(world, config, np.random.default_rng(0))
    layout = make_layout(labels, world, config, np.random.default_rng(1))
    images = render_images(layout, 300, config, np.random.default_rng(2)).astype(np.float64)
    last = np.r_[layout.sample[1:] != layout.sample[:-1], True]           # drawn last: never occluded
    sel = last & (layout.concept >= 0) & (layout.shape != ALL_SHAPES.index("ring")) & ~layout.striped
    px = np.floor(layout.centre[sel] * 64).astype(int)
    centre = images[layout.sample[sel], px[:, 1], px[:, 0]]
    err = np.abs(centre - layout.colour[sel]).mean(axis=1)
    background = np.abs(images[layout.sample[sel], 1, 1] - layout.colour[sel]).mean(axis=1)
    assert sel.sum() > 100
    assert np.median(err) < 25 < np.median(background)


@pytest.mark.parametrize("resize, crop", [(94, 83), (256, 227)])
def test_an_object_at_the_margin_survives_resize_and_the_worst_crop(resize, crop):
    # The closest a small object gets to the border: centre at 12% of the side. Upsample
    # bilinearly (as the input pipelines do), then crop 88% flush against the far side.
    from scipy.ndimage import zoom

    image = render_images(_scene("disc", centre=(0.12, 0.5), radius=0.07), 1, CLEAN, np.random.default_rng(1))[0]
    big = zoom(image.astype(np.float64), (resize / 64, resize / 64, 1), order=1)
    cropped = big[:, resize - crop:]
    row = big.shape[0] // 2
    centre_col = int(0.12 * resize) - (resize - crop)
    assert centre_col >= 0                                  # the centre is inside the crop
    visible = np.abs(cropped[row - 2:row + 3, :max(centre_col, 1) + 2] - (220, 40, 40)).max(axis=-1) < 30
    assert visible.sum() >= 5


def test_image_size_changes_the_resolution_not_the_scene():
    quiet = dataclasses.replace(SMALL, num_samples=50, pixel_noise=0.0)
    small = make_synthetic(dataclasses.replace(quiet, image_size=32)).images.read(np.arange(50)).astype(float)
    large = make_synthetic(dataclasses.replace(quiet, image_size=64)).images.read(np.arange(50)).astype(float)
    pooled = large.reshape(50, 32, 2, 32, 2, 3).mean(axis=(2, 4))     # 2×2 average pooling
    other = make_synthetic(dataclasses.replace(quiet, image_size=32, seed=9)).images.read(np.arange(50))
    assert np.abs(pooled - small).mean() < 5
    assert np.abs(other - small).mean() > 30
