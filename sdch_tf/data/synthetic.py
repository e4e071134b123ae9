"""Embedded synthetic multi-label image–text dataset, a stand-in for MIRFlickr-25K.

It is the dataset every newcomer trains on first: generated procedurally from a seed, no
data files, the same config always gives bit-identical arrays, and 6,000 samples at 64×64
take a few seconds (everything is drawn with vectorised numpy). Like MIRFlickr-25K in
SDCH §4.1 it has 24 concepts, several per sample, a binary bag-of-words text per sample
(like ``YAll``) and RGB images; "similar" means sharing at least one concept.

How a sample is generated
-------------------------
1. **World** (``make_world``). Concept c is the conjunction of a colour and a shape:
   ``CONCEPT_COLOURS[c % K]`` and ``SHAPES[c // K]`` with K = ``concept_colours``
   (``label_names`` such as ``"red-disc"``). With 24 concepts and K = 8 every colour is
   shared by three concepts and every shape by eight: colour narrows a concept down to
   three (learnt first, it already gives partial credit), the shape decides. (K = 4, six
   concepts per colour, is much harder: a small CNN then needs ~6 epochs to leave the label
   prior, too slow for the ``cpu`` preset.) ``num_topics``
   latent topics (scenes) each have ``topic_size`` core concepts, taken in turn from a
   seeded permutation so that every concept is core to some topic and some concepts to
   two; a core concept appears with probability drawn from ``core_prob``, every other
   concept with ``background_prob``. The vocabulary is split (at seeded random positions)
   into ``words_per_concept`` synonyms per concept, ``topic_words`` context words per
   topic, and the remaining noise words, ranked for a Zipf law.
2. **Labels** (``sample_labels``). Each sample draws a topic (mildly skewed prior) and,
   with ``second_topic_prob``, a second, different topic; concept c is present with
   probability 1 − Π_t (1 − p_tc). Core concepts of a topic therefore co-occur. A sample
   with no concept gets one core concept of its first topic.
3. **Text** (``sample_texts``). A present concept is tagged with ``tag_prob``; a tagged
   concept emits each of its synonyms with ``word_prob`` (at least one). Missing tags are
   the untagged present concepts. Wrong tags: Poisson(``wrong_tag_rate``) synonyms of
   absent concepts. Each topic of the sample emits each of its context words with
   ``topic_word_prob``. Poisson(``noise_words``) words from the noise vocabulary follow
   the Zipf law of exponent ``zipf_exponent``. A text left empty gets one noise word.
4. **Image layout** (``make_layout``). One object per present concept (dropped with
   ``hidden_prob``) and Poisson(``distractors``) clutter objects that are no concept but
   share an attribute with concepts: a concept shape in a distractor colour (black,
   white) or a distractor shape (bar, crescent) in a concept colour. Radii are drawn from
   ``scale_range`` (fraction of the side); centres keep ≥ 12% of the side (and ≥ the
   radius) from the border, so that a centre survives any 88% crop of the resized image
   (the cpu preset's 94→83, the paper's 256→227); objects are re-placed a few times to
   stay ``min_separation`` × (sum of radii) apart, and later objects occlude earlier ones.
   Concept shapes are rotated by ±``rotation_jitter`` degrees (so square and diamond stay
   distinct); distractor shapes by any angle. Colours get Gaussian ``colour_jitter``;
   objects are striped with ``stripe_prob`` (a texture that carries no label).
5. **Rendering** (``render_images``). A muted background with a per-channel linear
   gradient, anti-aliased objects (signed distance functions), a global brightness gain
   and white-balance shift of ±``illumination``, then pixel noise of std ``pixel_noise``
   (triangular, i.e. the sum of two uniforms: nearly Gaussian and cheaper to draw).

Labels, texts, layouts and pixels use separate random streams spawned from ``seed``:
changing an image knob (even ``image_size``) leaves labels and texts unchanged, and
layouts, backgrounds and lighting are drawn in fractions of the side, so a different
``image_size`` renders the same scenes (only the pixel noise differs).

Difficulty knobs
----------------
Label structure: ``num_topics``, ``topic_size``, ``core_prob``, ``background_prob``,
``second_topic_prob`` (more topics or fewer mixed samples → fewer similar pairs, i.e. a
lower chance level of mAP). Text: ``tag_prob``, ``word_prob`` (missing tags),
``wrong_tag_rate``, ``noise_words``, ``zipf_exponent``, ``topic_words``,
``topic_word_prob``. Images: ``distractors``, ``hidden_prob``, ``scale_range``,
``min_separation``, ``colour_jitter``, ``illumination``, ``stripe_prob``,
``rotation_jitter``, ``pixel_noise``.

Calibration
-----------
The defaults, measured with seed 0 (6,000 samples, split seed 0 with 500 queries, the
other 5,500 the database and 2,000 of them for training, as in the ``cpu`` preset):

- 3.65 concepts per sample on average (median 3; 10% have one, 61% have two to four);
  concept frequencies 8%–32%. 41.9% of query–database pairs share a concept: the mAP of
  a random ranking is 0.42 (mAP@500, docs/reproduction.md §3).
- Text: 15.5 words per text; text→text mAP@500 with raw bag-of-words cosine 0.79; a
  logistic-regression probe per concept (trained on the 2,000) reaches mean AP 0.83
  (0.70–0.91) on the queries, against 0.16 (the mean prevalence) for a random score.
- Images: raw-pixel cosine retrieval is at chance (image→image mAP@500 0.43); a linear
  probe on a 4×4×4 RGB histogram reaches mean AP 0.38 (colour alone is not enough). A
  small CNN (conv 32/64/96/96, dense 256, Adam 1e-3, 64×64 input, trained on the 2,000)
  stays near the label prior for ~6 epochs, then reaches mean AP 0.28 (epoch 9), 0.45
  (15) and 0.57 (30, per concept 0.23–0.95; ~4.5 minutes on a shared 2-core CPU); ranking
  the database by the cosine of its predicted probabilities gives image→image mAP@500 0.81.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdch_tf.data.dataset import ArrayImages, CrossModalData

SHAPES = ("disc", "square", "triangle", "ring", "cross", "diamond")
DISTRACTOR_SHAPES = ("bar", "crescent")
ALL_SHAPES = SHAPES + DISTRACTOR_SHAPES
# Saturated concept colours, in the order concepts use them (with the default concept_colours = 8, the
# 24 concepts are these 8 hues × the first 3 shapes).
CONCEPT_COLOURS = {
    "red": (220, 40, 40), "green": (40, 175, 60), "blue": (45, 75, 230), "yellow": (235, 215, 45),
    "magenta": (210, 50, 200), "cyan": (40, 200, 215), "orange": (245, 135, 25), "purple": (115, 45, 165),
}
# Far from every concept colour and from the muted backgrounds.
DISTRACTOR_COLOURS = {"black": (20, 20, 20), "white": (240, 240, 240)}
PALETTE = np.array(list(CONCEPT_COLOURS.values()) + list(DISTRACTOR_COLOURS.values()), np.float32)
MAX_CONCEPTS = len(SHAPES) * len(CONCEPT_COLOURS)

_CROP_MARGIN = 0.12      # centres stay inside any crop of 88% of the side (docs/reproduction.md §1: 227/256)
_MAX_DISTRACTORS = 6     # caps the Poisson tail so the number of drawing slots stays small
_PLACEMENT_ROUNDS = 20   # re-placement rounds for objects that overlap too much
_TOPIC_SKEW = 0.5        # topic prior ∝ rank^-0.5: some scenes are commoner, as MIRFlickr's labels are
_STRIPE_DEPTH = 0.4      # striped objects alternate between full and 60% colour
_TRIANGULAR_STD = float(np.sqrt(2 * (256**2 - 1) / 12))  # std of the sum of two uniform bytes
_RENDER_PIXELS = 500 * 64 * 64  # pixels rendered at once (500 images of 64×64, ~50 MB of float32 canvas)


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of the procedurally generated dataset (no data files needed).

    The defaults are calibrated for the ``cpu`` preset (module docstring, "Calibration").
    """

    num_samples: int = 6000
    num_concepts: int = 24       # like MIRFlickr-25K's 24 labels (SDCH §4.1); at most 48
    image_size: int = 64
    vocab_size: int = 1000
    seed: int = 0
    concept_colours: int = 8     # colours concepts are drawn in (≤ 8); concept c is colour c mod K, shape c div K
    # Labels
    num_topics: int = 8          # latent scenes; more topics → fewer similar pairs
    topic_size: int = 4          # core concepts per topic; these co-occur
    core_prob: tuple[float, float] = (0.35, 0.8)  # range of P(core concept | topic)
    background_prob: float = 0.02  # P(concept | topic) for a topic's non-core concepts
    second_topic_prob: float = 0.4  # P(a sample mixes in a second topic)
    # Text
    words_per_concept: int = 4   # synonyms per concept
    tag_prob: float = 0.7        # P(a present concept is tagged at all); the rest are missing tags
    word_prob: float = 0.45      # P(each synonym of a tagged concept is emitted); at least one is
    wrong_tag_rate: float = 0.5  # mean number of synonyms of absent concepts per text (Poisson)
    topic_words: int = 3         # context words per topic (hint at the scene, name no concept)
    topic_word_prob: float = 0.3  # P(each context word of a sample's topic is emitted)
    noise_words: float = 10.0    # mean number of Zipf-distributed noise words per text (Poisson)
    zipf_exponent: float = 1.0   # Zipf exponent of the noise-word frequencies
    # Images
    scale_range: tuple[float, float] = (0.14, 0.2)  # object radius as a fraction of the side
    min_separation: float = 0.8  # objects are re-placed until centres are ≥ this × (sum of radii) apart
    distractors: float = 0.5     # mean number of clutter objects per image (Poisson, capped at 6)
    hidden_prob: float = 0.05    # P(a present concept is not drawn): labels without visual evidence
    rotation_jitter: float = 10.0  # concept shapes are rotated by up to ± this many degrees
    colour_jitter: float = 10.0  # std of the per-object RGB offset (0–255 scale)
    stripe_prob: float = 0.1     # P(an object is striped): texture that carries no label
    illumination: float = 0.05   # ± brightness gain; ± half of it per-channel white balance
    pixel_noise: float = 5.0     # std of the (near-Gaussian) pixel noise (0–255 scale)

    def __post_init__(self):
        # Configs read back from JSON records carry lists; keep the fields hashable tuples.
        for name in ("core_prob", "scale_range"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

        def fail(name, expected):
            raise ValueError(f"SyntheticConfig.{name} must be {expected}, got {getattr(self, name)!r}")

        for name in ("num_samples", "image_size", "vocab_size", "num_topics", "topic_size", "words_per_concept"):
            if getattr(self, name) < 1:
                fail(name, "≥ 1")
        if not 1 <= self.concept_colours <= len(CONCEPT_COLOURS):
            fail("concept_colours", f"between 1 and {len(CONCEPT_COLOURS)}")
        if not 1 <= self.num_concepts <= len(SHAPES) * self.concept_colours:
            fail("num_concepts", f"between 1 and {len(SHAPES) * self.concept_colours} "
                                 f"({len(SHAPES)} shapes × concept_colours={self.concept_colours})")
        if self.topic_size > self.num_concepts:
            fail("topic_size", f"≤ num_concepts={self.num_concepts}")
        if self.image_size < 16:
            fail("image_size", "≥ 16 pixels (objects would be a few pixels wide)")
        for name in ("background_prob", "second_topic_prob", "tag_prob", "word_prob", "topic_word_prob",
                     "hidden_prob", "stripe_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                fail(name, "a probability in [0, 1]")
        for name in ("wrong_tag_rate", "noise_words", "zipf_exponent", "distractors", "min_separation",
                     "rotation_jitter", "colour_jitter", "pixel_noise", "topic_words"):
            if getattr(self, name) < 0:
                fail(name, "≥ 0")
        if not 0.0 <= self.illumination < 1.0:
            fail("illumination", "in [0, 1)")
        lo, hi = self.core_prob
        if not 0.0 <= lo <= hi <= 1.0:
            fail("core_prob", "a range (lo, hi) with 0 ≤ lo ≤ hi ≤ 1")
        lo, hi = self.scale_range
        if not 0.0 < lo <= hi <= 0.2:
            fail("scale_range", "a range (lo, hi) with 0 < lo ≤ hi ≤ 0.2 (fractions of the side)")
        reserved = self.num_concepts * self.words_per_concept + self.num_topics * self.topic_words
        if reserved >= self.vocab_size:
            fail("vocab_size", f"> {reserved} (num_concepts × words_per_concept + num_topics × topic_words) "
                               "to leave room for noise words")


@dataclass(frozen=True, eq=False)
class SyntheticWorld:
    """The seeded structure shared by all samples (step 1 of the module docstring).

    Attributes:
        concept_shape: int64 (C,) index into ``ALL_SHAPES``.
        concept_colour: int64 (C,) index into ``PALETTE``.
        label_names: C names "colour-shape".
        topic_prior: float64 (T,), sums to 1.
        topic_members: int64 (T, topic_size) core concepts of each topic.
        topic_concept_prob: float64 (T, C) P(concept | topic).
        synonyms: int64 (C, words_per_concept) vocabulary indices of each concept's words.
        topic_vocab: int64 (T, topic_words) vocabulary indices of each topic's context words.
        noise_vocab: int64 (V_noise,) the remaining vocabulary indices, most frequent first.
        noise_prob: float64 (V_noise,) Zipf probabilities of ``noise_vocab``.
    """

    concept_shape: np.ndarray
    concept_colour: np.ndarray
    label_names: tuple[str, ...]
    topic_prior: np.ndarray
    topic_members: np.ndarray
    topic_concept_prob: np.ndarray
    synonyms: np.ndarray
    topic_vocab: np.ndarray
    noise_vocab: np.ndarray
    noise_prob: np.ndarray


@dataclass(frozen=True, eq=False)
class SceneLayout:
    """All M objects of N images, sorted by (sample, slot); slot is the drawing order.

    Attributes:
        sample: int64 (M,) image index.
        slot: int64 (M,) position in the image's drawing order (later occludes earlier).
        concept: int64 (M,) concept index, −1 for a distractor.
        shape: int64 (M,) index into ``ALL_SHAPES``.
        palette: int64 (M,) index into ``PALETTE`` (the colour before jitter).
        colour: float32 (M, 3) RGB in [0, 255], jitter included.
        centre: float32 (M, 2) (x, y) in fractions of the side.
        radius: float32 (M,) fraction of the side.
        angle: float32 (M,) rotation in radians.
        striped: bool (M,).
        stripe_angle: float32 (M,) direction of the stripes in radians.
    """

    sample: np.ndarray
    slot: np.ndarray
    concept: np.ndarray
    shape: np.ndarray
    palette: np.ndarray
    colour: np.ndarray
    centre: np.ndarray
    radius: np.ndarray
    angle: np.ndarray
    striped: np.ndarray
    stripe_angle: np.ndarray


def _streams(seed: int) -> dict[str, np.random.Generator]:
    names = ("world", "labels", "texts", "layout", "pixels")
    return dict(zip(names, (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(names)))))


def make_world(config: SyntheticConfig) -> SyntheticWorld:
    """Concepts, topics and vocabulary of ``config`` (deterministic in ``config.seed``)."""
    rng = _streams(config.seed)["world"]
    num_c, num_t, size = config.num_concepts, config.num_topics, config.topic_size
    concepts = np.arange(num_c)
    concept_colour = concepts % config.concept_colours
    concept_shape = concepts // config.concept_colours
    colour_names = list(CONCEPT_COLOURS)
    label_names = tuple(f"{colour_names[k]}-{SHAPES[s]}" for s, k in zip(concept_shape, concept_colour))

    # Consecutive windows of one permutation, wrapping around: each topic's members are
    # distinct and, when num_topics × topic_size ≥ C, every concept is core somewhere.
    perm = rng.permutation(num_c)
    members = perm[(np.arange(num_t)[:, None] * size + np.arange(size)) % num_c]
    prob = np.full((num_t, num_c), config.background_prob)
    prob[np.arange(num_t)[:, None], members] = rng.uniform(*config.core_prob, size=(num_t, size))
    prior = (1.0 + np.arange(num_t)) ** -_TOPIC_SKEW
    prior = prior[rng.permutation(num_t)] / prior.sum()

    words = rng.permutation(config.vocab_size)
    n_syn = num_c * config.words_per_concept
    n_top = num_t * config.topic_words
    noise_vocab = words[n_syn + n_top:]
    noise_prob = (1.0 + np.arange(len(noise_vocab))) ** -config.zipf_exponent
    return SyntheticWorld(
        concept_shape=concept_shape, concept_colour=concept_colour, label_names=label_names,
        topic_prior=prior, topic_members=members, topic_concept_prob=prob,
        synonyms=words[:n_syn].reshape(num_c, config.words_per_concept),
        topic_vocab=words[n_syn:n_syn + n_top].reshape(num_t, config.topic_words),
        noise_vocab=noise_vocab, noise_prob=noise_prob / noise_prob.sum(),
    )


def sample_labels(world: SyntheticWorld, config: SyntheticConfig, rng: np.random.Generator):
    """Labels from the latent topics (step 2).

    Returns:
        labels: uint8 (N, C), every row has at least one 1.
        topics: int64 (N, 2), each sample's topic and its second topic (−1 if none).
    """
    n, num_t = config.num_samples, config.num_topics
    first = rng.choice(num_t, size=n, p=world.topic_prior)
    # A second topic is a different one (offset 1..T−1), so mixing always adds concepts.
    second = (first + 1 + rng.integers(max(num_t - 1, 1), size=n)) % num_t
    mixed = (rng.random(n) < config.second_topic_prob) & (num_t > 1)
    p_absent = 1.0 - world.topic_concept_prob[first]
    p_absent = p_absent * np.where(mixed[:, None], 1.0 - world.topic_concept_prob[second], 1.0)
    labels = rng.random(p_absent.shape) >= p_absent
    empty = np.flatnonzero(~labels.any(axis=1))
    pick = world.topic_members[first[empty], rng.integers(config.topic_size, size=len(empty))]
    labels[empty, pick] = True
    topics = np.stack([first, np.where(mixed, second, -1)], axis=1).astype(np.int64)
    return labels.astype(np.uint8), topics


def sample_texts(labels: np.ndarray, topics: np.ndarray, world: SyntheticWorld, config: SyntheticConfig,
                 rng: np.random.Generator) -> np.ndarray:
    """Binary bag-of-words texts (step 3): labels uint8 (N, C), topics (N, 2) → float32 (N, V)."""
    present = labels.astype(bool)
    n, num_c = present.shape
    w = config.words_per_concept
    text = np.zeros((n, config.vocab_size), dtype=bool)

    tagged = present & (rng.random((n, num_c)) < config.tag_prob)
    emit = tagged[:, :, None] & (rng.random((n, num_c, w)) < config.word_prob)
    forced = rng.integers(w, size=(n, num_c))
    rows, cols = np.nonzero(tagged & ~emit.any(axis=2))
    emit[rows, cols, forced[rows, cols]] = True
    rows, cols, word = np.nonzero(emit)
    text[rows, world.synonyms[cols, word]] = True

    # Wrong tags: the random keys of present concepts are pushed above every absent one,
    # so the argmin is a uniformly chosen absent concept (none if all are present).
    rows = np.repeat(np.arange(n), rng.poisson(config.wrong_tag_rate, size=n))
    keys = rng.random((len(rows), num_c)) + present[rows]
    wrong = keys.argmin(axis=1)
    word = rng.integers(w, size=len(rows))
    ok = ~present[rows, wrong]
    text[rows[ok], world.synonyms[wrong[ok], word[ok]]] = True

    emit = (topics >= 0)[:, :, None] & (rng.random((n, 2, config.topic_words)) < config.topic_word_prob)
    rows, which, word = np.nonzero(emit)
    text[rows, world.topic_vocab[topics[rows, which], word]] = True

    rows = np.repeat(np.arange(n), rng.poisson(config.noise_words, size=n))
    text[rows, rng.choice(world.noise_vocab, size=len(rows), p=world.noise_prob)] = True
    empty = np.flatnonzero(~text.any(axis=1))
    text[empty, rng.choice(world.noise_vocab, size=len(empty), p=world.noise_prob)] = True
    return text.astype(np.float32)


def make_layout(labels: np.ndarray, world: SyntheticWorld, config: SyntheticConfig,
                rng: np.random.Generator) -> SceneLayout:
    """Objects of every image (step 4): concept objects for the labels, plus distractors."""
    n = labels.shape[0]
    c_sample, c_concept = np.nonzero(labels)
    keep = rng.random(len(c_sample)) >= config.hidden_prob
    c_sample, c_concept = c_sample[keep], c_concept[keep]

    d_sample = np.repeat(np.arange(n), np.minimum(rng.poisson(config.distractors, size=n), _MAX_DISTRACTORS))
    shapes_used = np.unique(world.concept_shape)
    colours_used = np.unique(world.concept_colour)
    recoloured = rng.random(len(d_sample)) < 0.5   # concept shape in a distractor colour
    d_shape = np.where(recoloured, rng.choice(shapes_used, size=len(d_sample)),
                       len(SHAPES) + rng.integers(len(DISTRACTOR_SHAPES), size=len(d_sample)))
    d_colour = np.where(recoloured, len(CONCEPT_COLOURS) + rng.integers(len(DISTRACTOR_COLOURS), size=len(d_sample)),
                        rng.choice(colours_used, size=len(d_sample)))

    sample = np.concatenate([c_sample, d_sample]).astype(np.int64)
    concept = np.concatenate([c_concept, np.full(len(d_sample), -1)]).astype(np.int64)
    shape = np.concatenate([world.concept_shape[c_concept], d_shape]).astype(np.int64)
    colour_id = np.concatenate([world.concept_colour[c_concept], d_colour]).astype(np.int64)
    order = np.lexsort((rng.random(len(sample)), sample))   # random drawing order within each image
    sample, concept, shape, colour_id = sample[order], concept[order], shape[order], colour_id[order]
    slot = np.arange(len(sample)) - np.searchsorted(sample, sample, side="left")
    m = len(sample)

    radius = rng.uniform(*config.scale_range, size=m)
    centre = _place(sample, slot, radius, n, config.min_separation, rng)
    jitter = np.deg2rad(config.rotation_jitter)
    angle = np.where(shape < len(SHAPES), rng.uniform(-jitter, jitter, size=m), rng.uniform(0, 2 * np.pi, size=m))
    colour = np.clip(PALETTE[colour_id] + rng.normal(0.0, config.colour_jitter, size=(m, 3)), 0, 255)
    return SceneLayout(
        sample=sample, slot=slot, concept=concept, shape=shape, palette=colour_id, colour=colour.astype(np.float32),
        centre=centre.astype(np.float32), radius=radius.astype(np.float32), angle=angle.astype(np.float32),
        striped=rng.random(m) < config.stripe_prob, stripe_angle=rng.uniform(0, np.pi, size=m).astype(np.float32),
    )


def _place(sample, slot, radius, n, min_separation, rng):
    """Centres (M, 2), re-drawn for later objects that sit too close to an earlier one."""
    k = int(slot.max()) + 1 if len(slot) else 1
    valid = np.zeros((n, k), dtype=bool)
    valid[sample, slot] = True
    rad = np.zeros((n, k))
    rad[sample, slot] = radius
    lo = np.maximum(_CROP_MARGIN, rad)[..., None]
    pos = lo + rng.random((n, k, 2)) * (1 - 2 * lo)
    earlier = np.tri(k, k, -1, dtype=bool).T     # [i, j]: slot i is drawn before slot j
    rows = np.arange(n)                          # images that may still hold a clash
    for _ in range(_PLACEMENT_ROUNDS):
        p, r = pos[rows], rad[rows]
        dist = np.sqrt(((p[:, :, None] - p[:, None, :]) ** 2).sum(axis=-1))
        clash = (dist < min_separation * (r[:, :, None] + r[:, None, :])) & earlier
        clash &= valid[rows][:, :, None] & valid[rows][:, None, :]
        bad = clash.any(axis=1)
        rows = rows[bad.any(axis=1)]
        if not len(rows):
            break
        bad = bad[bad.any(axis=1)]
        b_row, b_slot = rows[np.nonzero(bad)[0]], np.nonzero(bad)[1]
        low = lo[b_row, b_slot]
        pos[b_row, b_slot] = low + rng.random((len(b_row), 2)) * (1 - 2 * low)
    return pos[sample, slot]


def _signed_distance(shape: str, x: np.ndarray, y: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Signed distance in pixels (negative inside) of a shape of radius r at the origin.

    x, y are rotated pixel offsets (k, P, P); r is (k, 1, 1). Sizes are chosen so that the
    filled shapes have roughly the area of the disc of radius r.
    """
    if shape == "disc":
        return np.hypot(x, y) - r
    if shape == "square":
        return np.maximum(np.abs(x), np.abs(y)) - 0.8 * r
    if shape == "diamond":
        return (np.abs(x) + np.abs(y) - 1.13 * r) / np.sqrt(2.0)
    if shape == "triangle":   # equilateral, inradius 0.6 r, circumradius 1.2 r
        normals = [(np.cos(t), np.sin(t)) for t in np.pi / 2 + 2 * np.pi / 3 * np.arange(3)]
        return np.max([nx * x + ny * y for nx, ny in normals], axis=0) - 0.6 * r
    if shape == "ring":       # outer radius r, inner 0.44 r
        return np.abs(np.hypot(x, y) - 0.72 * r) - 0.28 * r
    if shape == "cross":
        arm_x = np.maximum(np.abs(x) - r, np.abs(y) - 0.3 * r)
        arm_y = np.maximum(np.abs(x) - 0.3 * r, np.abs(y) - r)
        return np.minimum(arm_x, arm_y)
    if shape == "bar":
        return np.maximum(np.abs(x) - 1.1 * r, np.abs(y) - 0.3 * r)
    if shape == "crescent":
        return np.maximum(np.hypot(x, y) - r, 0.8 * r - np.hypot(x - 0.45 * r, y))
    raise ValueError(f"unknown shape {shape!r}; expected one of {ALL_SHAPES}")


def render_images(layout: SceneLayout, num_images: int, config: SyntheticConfig,
                  rng: np.random.Generator) -> np.ndarray:
    """Draws the scenes (step 5): uint8 (num_images, S, S, 3) with S = config.image_size."""
    size = config.image_size
    # Half-width of an object's patch: the largest extent is the triangle's 1.2 r, plus the soft edge.
    half = int(np.ceil(1.2 * config.scale_range[1] * size + 1.5))
    pad = half + 1
    axis = ((np.arange(size) + 0.5) / size - 0.5).astype(np.float32)
    # Per-image parameters first, so that backgrounds and lighting do not depend on the size.
    # Muted backgrounds: a grey level, a tint and a per-channel linear gradient.
    base = rng.uniform(70, 170, size=(num_images, 1, 1, 1)) + rng.normal(0, 20, size=(num_images, 1, 1, 3))
    slope = rng.normal(0, 35, size=(num_images, 2, 1, 1, 3))
    gain = rng.uniform(1 - config.illumination, 1 + config.illumination, size=(num_images, 1, 1, 1))
    balance = rng.uniform(1 - config.illumination / 2, 1 + config.illumination / 2, size=(num_images, 1, 1, 3))
    light = (gain * balance).astype(np.float32)
    base, slope = base.astype(np.float32), slope.astype(np.float32)

    out = np.empty((num_images, size, size, 3), dtype=np.uint8)
    chunk = max(1, _RENDER_PIXELS // size ** 2)
    for start in range(0, num_images, chunk):
        stop = min(start + chunk, num_images)
        canvas = np.zeros((stop - start, size + 2 * pad, size + 2 * pad, 3), dtype=np.float32)
        canvas[:, pad:pad + size, pad:pad + size] = (base[start:stop] + slope[start:stop, 0] * axis[None, None, :, None]
                                                     + slope[start:stop, 1] * axis[None, :, None, None])

        lo, hi = np.searchsorted(layout.sample, [start, stop])
        slots = layout.slot[lo:hi]
        for slot in range(int(slots.max()) + 1 if hi > lo else 0):
            _draw(canvas, lo + np.flatnonzero(slots == slot), layout, start, size, half, pad)

        image = canvas[:, pad:pad + size, pad:pad + size] * light[start:stop]
        if config.pixel_noise > 0:
            # Triangular noise (the sum of two uniform bytes, std 104.5), nearly Gaussian and
            # several times cheaper to draw than normal variates, which dominated the run time.
            noise = rng.integers(0, 256, size=image.shape, dtype=np.uint8).astype(np.int16)
            noise += rng.integers(0, 256, size=image.shape, dtype=np.uint8)
            noise -= 255
            image += noise * np.float32(config.pixel_noise / _TRIANGULAR_STD)
        np.rint(image, out=image)
        out[start:stop] = np.clip(image, 0, 255, out=image)
    return out


def _draw(canvas, idx, layout, start, size, half, pad):
    """Alpha-blends objects ``idx`` (at most one per image) into ``canvas`` (k, S+2pad, S+2pad, 3)."""
    centre_px = layout.centre[idx] * np.float32(size)       # (m, 2)
    origin = np.floor(centre_px).astype(np.int64) - half
    offsets = np.arange(2 * half + 1)
    local = (offsets + np.float32(0.5)) + (origin - centre_px)[:, :, None]  # pixel centres minus object centre
    lx, ly = local[:, 0, None, :], local[:, 1, :, None]     # (m, 1, P), (m, P, 1)
    cos, sin = np.cos(layout.angle[idx])[:, None, None], np.sin(layout.angle[idx])[:, None, None]
    x, y = cos * lx + sin * ly, cos * ly - sin * lx          # (m, P, P) in the object's frame
    radius = (layout.radius[idx] * np.float32(size))[:, None, None]
    alpha = np.empty(x.shape, dtype=np.float32)
    shapes = layout.shape[idx]
    for s in np.unique(shapes):
        sel = shapes == s
        dist = _signed_distance(ALL_SHAPES[s], x[sel], y[sel], radius[sel])
        alpha[sel] = np.clip(0.5 - dist, 0.0, 1.0)           # one-pixel anti-aliased edge

    # Only the covered pixels are read and written back (about a third of each patch).
    obj, row, col = np.nonzero(alpha)
    a = alpha[obj, row, col][:, None]
    colour = layout.colour[idx][obj]
    striped = layout.striped[idx][obj]
    if striped.any():
        phi = layout.stripe_angle[idx][obj]
        along = np.cos(phi) * lx[obj, 0, col] + np.sin(phi) * ly[obj, row, 0]
        period = np.maximum(4.0, 0.8 * radius[obj, 0, 0])
        dark = striped & (np.sin(2 * np.pi * along / period) > 0)
        colour = colour * (1.0 - _STRIPE_DEPTH * dark[:, None]).astype(np.float32)
    hp, wp = canvas.shape[1:3]
    flat = canvas.reshape(-1, 3)
    where = ((layout.sample[idx][obj] - start) * hp + origin[obj, 1] + row + pad) * wp + origin[obj, 0] + col + pad
    before = flat[where]
    flat[where] = before + a * (colour - before)


def vocabulary_names(world: SyntheticWorld, vocab_size: int) -> tuple[str, ...]:
    """Readable names of the ``vocab_size`` words (step 1's split of the vocabulary).

    A concept's synonyms are its label name, then "<name>·2", "<name>·3"...; topic t's
    context words "topic<t>·w1"...; a noise word is "w<vocabulary index>".
    """
    names = [f"w{i}" for i in range(vocab_size)]
    for concept, words in enumerate(world.synonyms):
        for j, word in enumerate(words):
            names[word] = world.label_names[concept] + ("" if j == 0 else f"·{j + 1}")
    for topic, words in enumerate(world.topic_vocab):
        for j, word in enumerate(words):
            names[word] = f"topic{topic}·w{j + 1}"
    return tuple(names)


def make_synthetic(config: SyntheticConfig | None = None) -> CrossModalData:
    """The synthetic dataset of ``config`` (default ``SyntheticConfig()``).

    Returns ``CrossModalData`` named "synthetic": images ``ArrayImages`` uint8 (N, S, S, 3),
    texts float32 (N, vocab_size) in {0, 1}, labels uint8 (N, C), ``label_names`` such as
    "red-disc" and ``vocabulary`` (``vocabulary_names``). Bit-identical for equal configs.
    """
    config = SyntheticConfig() if config is None else config
    rng = _streams(config.seed)
    world = make_world(config)
    labels, topics = sample_labels(world, config, rng["labels"])
    texts = sample_texts(labels, topics, world, config, rng["texts"])
    layout = make_layout(labels, world, config, rng["layout"])
    images = render_images(layout, config.num_samples, config, rng["pixels"])
    return CrossModalData(name="synthetic", images=ArrayImages(images), texts=texts, labels=labels,
                          label_names=world.label_names, vocabulary=vocabulary_names(world, config.vocab_size))

