"""An ImageNet stand-in: a procedurally generated single-label classification set.

Every method of SDCH's comparison fine-tunes an ImageNet-pretrained backbone; no such file can be
had on a machine without downloads, so ``python -m sdch_tf.pretrain`` trains the backbones on this
set instead (docs/reproduction.md §1, "Pretrained stand-in"). It is drawn with the renderer of the
synthetic retrieval set (``synthetic.render_images``) so that the low-level statistics match, as
ImageNet's and MIRFlickr's photographs do, but it shares no item and no label with it:

- **Classes are not the retrieval concepts.** A retrieval concept of the default synthetic set is
  a (shape, hue) pair — 24 of them, three shapes in each of the eight hues — and a retrieval image
  holds several. A stand-in image holds one salient object, and its class is the (shape, hue) of
  that object for every pair that is *no* concept: the other five shapes in each hue, 40 classes
  (``classes="non_concepts"``). A backbone trained on it learns shape and colour detectors —
  useful for the retrieval concepts — but has never had to name a concept's shape or find every
  object of a cluttered scene, which fine-tuning must add. That is the intended imperfection.
  (The alternative ``"family"``, shape × warm/cool over all eight hues, transferred worse than
  random features.)
- **Items are new.** Images come from their own seed stream (``SeedSequence((seed, STREAM))``),
  with a larger, more variable salient object, small clutter objects of any shape and colour
  (black and white included), and wider colour jitter than the retrieval set.

Deterministic for a seed: the same config gives bit-identical arrays.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdch_tf.data import synthetic
from sdch_tf.data.synthetic import ALL_SHAPES, CONCEPT_COLOURS, PALETTE, SceneLayout, SyntheticConfig

# Colour families of the class label (indices into synthetic.PALETTE): hue halves of the wheel.
WARM = tuple(list(CONCEPT_COLOURS).index(c) for c in ("red", "orange", "yellow", "magenta"))
COOL = tuple(list(CONCEPT_COLOURS).index(c) for c in ("green", "blue", "cyan", "purple"))
FAMILIES = {"warm": WARM, "cool": COOL}
CLASS_SETS = ("non_concepts", "family")
# Mixed into the seed so that no stand-in stream equals a retrieval-set stream of the same seed.
STREAM = 0x57A1D


@dataclass(frozen=True)
class StandInConfig:
    """Size and difficulty of the stand-in classification set."""

    num_images: int = 12000
    image_size: int = 64
    seed: int = 0
    salient_scale: tuple[float, float] = (0.16, 0.2)   # radius of the class object, fraction of the side
    clutter: float = 1.5               # mean number of small clutter objects (Poisson, capped at 4)
    clutter_scale: tuple[float, float] = (0.06, 0.1)
    colour_jitter: float = 20.0        # std of the per-object RGB offset (0–255); the retrieval set has 10
    rotation: float = 25.0             # the class object is rotated by up to ± this many degrees
    stripe_prob: float = 0.2
    illumination: float = 0.1
    pixel_noise: float = 6.0
    # "non_concepts": class = (shape, exact hue) for every pair that is no concept of the default
    # retrieval set (40 classes); "family": shape × warm/cool over all hues (16), which transferred
    # worse than random features (docs/reproduction.md §2.3, the probe figures).
    classes: str = "non_concepts"

    def __post_init__(self):
        for name in ("salient_scale", "clutter_scale"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.classes not in CLASS_SETS:
            raise ValueError(f"StandInConfig.classes must be one of {CLASS_SETS}, got {self.classes!r}")
        if self.num_images < 1 or self.image_size < 16:
            raise ValueError(f"StandInConfig needs num_images ≥ 1 and image_size ≥ 16, got {self.num_images}, "
                             f"{self.image_size}")
        for name in ("salient_scale", "clutter_scale"):
            lo, hi = getattr(self, name)
            if not 0.0 < lo <= hi <= 0.2:
                raise ValueError(f"StandInConfig.{name} must be (lo, hi) with 0 < lo ≤ hi ≤ 0.2, got {(lo, hi)}")


def concept_pairs() -> set[tuple[int, int]]:
    """(shape, palette index) of every concept of the default retrieval set (``SyntheticConfig()``)."""
    world = synthetic.make_world(SyntheticConfig())
    return {(int(s), int(c)) for s, c in zip(world.concept_shape, world.concept_colour)}


def class_table(config: StandInConfig | None = None) -> list[tuple[str, int, tuple[int, ...]]]:
    """Per class: (name, shape index, the palette indices its object may take)."""
    config = config or StandInConfig()
    hues = list(CONCEPT_COLOURS)
    if config.classes == "family":
        return [(f"{family}-{shape}", s, members) for s, shape in enumerate(ALL_SHAPES)
                for family, members in FAMILIES.items()]
    concepts = concept_pairs()
    return [(f"{hue}-{shape}", s, (h,)) for s, shape in enumerate(ALL_SHAPES) for h, hue in enumerate(hues)
            if (s, h) not in concepts]


def class_names(config: StandInConfig | None = None) -> tuple[str, ...]:
    return tuple(name for name, _, _ in class_table(config))


def num_classes(config: StandInConfig | None = None) -> int:
    return len(class_table(config))


NUM_CLASSES = num_classes()  # of the default config


def make_standin(config: StandInConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (n, S, S, 3) RGB, labels int64 (n,) in [0, NUM_CLASSES)), balanced over classes."""
    config = config or StandInConfig()
    rng = np.random.default_rng(np.random.SeedSequence((config.seed, STREAM)))
    labels, layout = make_layout(config, rng)
    render = SyntheticConfig(image_size=config.image_size, scale_range=(min(config.clutter_scale[0],
                                                                            config.salient_scale[0]),
                                                                        config.salient_scale[1]),
                             illumination=config.illumination, pixel_noise=config.pixel_noise)
    return synthetic.render_images(layout, config.num_images, render, rng), labels


def make_layout(config: StandInConfig, rng: np.random.Generator) -> tuple[np.ndarray, SceneLayout]:
    """(labels (n,), the objects of every image): small clutter objects first, then the class object
    on top (its ``concept`` field holds the class; −1 for clutter)."""
    n = config.num_images
    table = class_table(config)
    labels = rng.permutation(np.arange(n) % len(table)).astype(np.int64)
    shape = np.array([s for _, s, _ in table])[labels]
    width = max(len(m) for _, _, m in table)
    options = np.array([[m[i % len(m)] for i in range(width)] for _, _, m in table])
    colour_id = options[labels, rng.integers(width, size=n)]

    k = np.minimum(rng.poisson(config.clutter, size=n), 4)
    c_sample = np.repeat(np.arange(n), k)
    m = len(c_sample)
    sample = np.concatenate([c_sample, np.arange(n)])            # clutter first, the class object on top
    order = np.argsort(sample, kind="stable")
    sample = sample[order]
    is_salient = np.concatenate([np.zeros(m, bool), np.ones(n, bool)])[order]
    obj_shape = np.concatenate([rng.integers(len(ALL_SHAPES), size=m), shape])[order]
    obj_colour = np.concatenate([rng.integers(len(PALETTE), size=m), colour_id])[order]
    radius = np.concatenate([rng.uniform(*config.clutter_scale, size=m), rng.uniform(*config.salient_scale, size=n)])
    radius = radius[order]
    slot = np.arange(len(sample)) - np.searchsorted(sample, sample, side="left")
    margin = np.maximum(0.12, radius)
    centre = rng.uniform(0, 1, size=(len(sample), 2)) * (1 - 2 * margin[:, None]) + margin[:, None]
    jitter = np.deg2rad(config.rotation)
    angle = np.where(is_salient, rng.uniform(-jitter, jitter, size=len(sample)),
                     rng.uniform(0, 2 * np.pi, size=len(sample)))
    colour = np.clip(PALETTE[obj_colour] + rng.normal(0.0, config.colour_jitter, size=(len(sample), 3)), 0, 255)
    layout = SceneLayout(
        sample=sample.astype(np.int64), slot=slot.astype(np.int64), concept=np.where(is_salient, labels[sample], -1),
        shape=obj_shape.astype(np.int64), palette=obj_colour.astype(np.int64), colour=colour.astype(np.float32),
        centre=centre.astype(np.float32), radius=radius.astype(np.float32), angle=angle.astype(np.float32),
        striped=rng.random(len(sample)) < config.stripe_prob,
        stripe_angle=rng.uniform(0, np.pi, size=len(sample)).astype(np.float32),
    )
    return labels, layout
