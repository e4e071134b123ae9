"""MIRFlickr-25K from its official release (docs/data-preparation.md, "MIRFlickr-25K").

Inputs: ``mirflickr25k.zip`` (``mirflickr/im<k>.jpg``, ``mirflickr/meta/tags/tags<k>.txt``, k =
1..25000) and ``mirflickr25k_annotations_v080.zip`` (one file of image numbers per concept; the
24 "potential" labels, not the ``_r1`` "relevant" subsets, in alphabetical order). The DCMH
files' recipe: the vocabulary is the release's ``mirflickr/doc/common_tags.txt`` — the 1,386
tags found in at least 20 images, one ``<tag> <count>`` per line, in file order; items are kept in
ascending image number when they have a label and a vocabulary tag (20,015 of 25,000); texts
are tag presence (0/1). Without ``common_tags.txt`` (or with ``--min-tag-images``) the
vocabulary is computed from the tag files with the same rule, in alphabetical order.
"""
from __future__ import annotations

import re

import numpy as np

from sdch_tf.prepare import text
from sdch_tf.prepare.release import ReleaseError, open_release
from sdch_tf.prepare.writer import Plan

# The 24 potential labels of the v080 annotations (their README); the DCMH files' 24 columns.
CONCEPTS = ("animals", "baby", "bird", "car", "clouds", "dog", "female", "flower", "food", "indoor", "lake", "male",
            "night", "people", "plant_life", "portrait", "river", "sea", "sky", "structures", "sunset", "transport",
            "tree", "water")
MIN_TAG_IMAGES = 20  # tags in ≥ 20 images: the DCMH files' 1,386 words (docs/data-preparation.md)
_IMAGE = re.compile(r"(?:^|/)im(\d+)\.jpg$")


def add_arguments(parser) -> None:
    parser.add_argument("--images", required=True,
                        help="mirflickr25k.zip, or the folder it extracts to (holds mirflickr/im*.jpg and mirflickr/meta/tags)")
    parser.add_argument("--annotations", required=True,
                        help="mirflickr25k_annotations_v080.zip, or its folder (animals.txt, ..., one per concept)")
    parser.add_argument("--min-tag-images", type=int, default=None,
                        help="compute the vocabulary from the tag files: the tags at least this many images have "
                             f"(default: the release's doc/common_tags.txt, i.e. the tags of >= {MIN_TAG_IMAGES} images)")


def plan(args) -> Plan:
    images = open_release(args.images, "the MIRFlickr-25K images (mirflickr25k.zip)")
    annotations = open_release(args.annotations, "the MIRFlickr-25K annotations (mirflickr25k_annotations_v080.zip)")
    members = {int(m.group(1)): name for name in images.names() if (m := _IMAGE.search(name))}
    if not members:
        hint = ""
        if annotations.find("animals.txt") is None and images.find("animals.txt") is not None:
            hint = " (this looks like the annotations archive: are --images and --annotations swapped?)"
        raise ReleaseError(f"{images.path}: no image mirflickr/im<k>.jpg in {images.what}{hint}; {images.describe()}")
    ids = sorted(members)
    tag_files = {}
    for name in images.names():
        m = re.search(r"(?:^|/)tags/tags(\d+)\.txt$", name)
        if m and "tags_raw" not in name:
            tag_files[int(m.group(1))] = name
    if not tag_files:
        raise ReleaseError(f"{images.path}: no tag file mirflickr/meta/tags/tags<k>.txt in {images.what}; {images.describe()}")

    labels = np.zeros((len(ids), len(CONCEPTS)), np.uint8)
    row_of = {k: i for i, k in enumerate(ids)}
    for j, concept in enumerate(CONCEPTS):
        name = annotations.require(f"{concept}.txt", " (one of the 24 potential-label files of the v080 annotations)")
        for line_number, line in enumerate(annotations.read_text(name).splitlines(), 1):
            line = line.strip()
            if not line:
                continue
            if not line.isdigit():
                raise ReleaseError(f"{annotations.path}: {name} line {line_number}: {line[:40]!r} is not an image number")
            row = row_of.get(int(line))
            if row is not None:
                labels[row, j] = 1

    tags = [[t.strip().lower() for t in images.read_text(tag_files[k]).splitlines() if t.strip()]
            if k in tag_files else [] for k in ids]
    common = images.find("mirflickr/doc/common_tags.txt")
    if args.min_tag_images is None and common is not None:
        vocab, vocab_source = _common_tags(images, common), f"{common} (file order)"
    else:
        threshold = MIN_TAG_IMAGES if args.min_tag_images is None else args.min_tag_images
        vocab = text.vocabulary(tags, min_count=threshold)
        vocab_source = f"tags in >= {threshold} images, computed from meta/tags (alphabetical)"
    texts = text.bag_of_words(tags, vocab, binary=True)

    dropped = {"no label": [], "no vocabulary tag": []}
    keep = np.ones(len(ids), bool)
    for i, k in enumerate(ids):
        if not labels[i].any():
            dropped["no label"].append(f"im{k}")
            keep[i] = False
        elif not texts[i].any():
            dropped["no vocabulary tag"].append(f"im{k}")
            keep[i] = False
    rows = np.flatnonzero(keep)
    return Plan(
        dataset="mirflickr", release=images,
        image_members=[members[ids[i]] for i in rows],
        sources=[members[ids[i]] for i in rows],
        labels=labels[rows], texts=texts[rows], concepts=list(CONCEPTS), vocabulary=vocab, dropped=dropped,
        settings={"images": str(images.path), "annotations": str(annotations.path),
                  "vocabulary": vocab_source, "images_in_release": len(ids),
                  "tag_source": "meta/tags (processed tags)", "texts": "tag presence (0/1)"},
    )


def _common_tags(release, name: str) -> list[str]:
    """The tags of ``doc/common_tags.txt`` (``<tag> <count>`` per line) in file order."""
    vocab = []
    for line_number, line in enumerate(release.read_text(name).splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or not fields[1].isdigit():
            raise ReleaseError(f"{release.path}: {name} line {line_number}: {line[:60]!r}; expected '<tag> <count>'")
        vocab.append(fields[0].lower())
    if len(set(vocab)) != len(vocab):
        raise ReleaseError(f"{release.path}: {name} lists a tag twice")
    return vocab
