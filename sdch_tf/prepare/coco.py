"""MS-COCO 2014 from its official files (docs/data-preparation.md, "MS-COCO").

Inputs: ``train2014/`` and ``val2014/`` (``COCO_<part>2014_<12-digit id>.jpg``; the zips or
folders, one ``--images`` each or one folder holding both) and ``annotations_trainval2014.zip``
(``annotations/instances_{train,val}2014.json``, ``annotations/captions_{train,val}2014.json``).
The recipe most cross-modal hashing code follows: train and val pooled (123,287 images), ordered
by image id; images with no object category dropped (122,218 remain); labels are the 80
categories in ascending category id; the text is a 2,000-d binary bag of words of the image's
captions put together — English stop words removed, words in at most 80% of the images, the
2,000 found in the most images (COCO4CMH's ``CountVectorizer`` settings).
"""
from __future__ import annotations

import json

import numpy as np

from sdch_tf.prepare import text
from sdch_tf.prepare.release import ReleaseError, open_release
from sdch_tf.prepare.writer import Plan

VOCABULARY_SIZE = 2000   # COCO4CMH coco_data.py: max_features=2000
MAX_DOCUMENT_FRACTION = 0.8  # COCO4CMH: max_df=0.8
MIN_DOCUMENT_FRACTION = 0.0005  # COCO4CMH: min_df=0.0005
PARTS = ("train2014", "val2014")


def add_arguments(parser) -> None:
    parser.add_argument("--images", required=True, nargs="+",
                        help="train2014.zip and val2014.zip (or their folders, or one folder holding both)")
    parser.add_argument("--annotations", required=True,
                        help="annotations_trainval2014.zip or its folder (annotations/instances_*2014.json, captions_*2014.json)")
    parser.add_argument("--vocabulary-size", type=int, default=VOCABULARY_SIZE,
                        help="words in the bag of words: those found in the most images (default 2,000)")


def plan(args) -> Plan:
    annotations = open_release(args.annotations, "the MS-COCO 2014 annotations (annotations_trainval2014.zip)")
    releases = [open_release(path, "MS-COCO 2014 images (train2014.zip / val2014.zip)") for path in args.images]
    member_of, release_of = {}, {}
    for release in releases:
        for name in release.names():
            base = name.rsplit("/", 1)[-1]
            if base.startswith("COCO_") and base.lower().endswith(".jpg"):
                member_of.setdefault(base, name)
                release_of.setdefault(base, release)
    if not member_of:
        raise ReleaseError(f"{releases[0].path}: no COCO_<part>2014_<id>.jpg image in {releases[0].what}; "
                           f"{releases[0].describe()}")
    if len({id(r) for r in release_of.values()}) > 1:
        release = _Several(releases, release_of, member_of)
    else:
        release = next(iter(release_of.values()))

    files, categories, labels_of, captions_of = {}, {}, {}, {}
    for part in PARTS:
        instances = _json(annotations, f"annotations/instances_{part}.json")
        captions = _json(annotations, f"annotations/captions_{part}.json")
        for image in instances.get("images", []):
            files[int(image["id"])] = image["file_name"]
        for category in instances.get("categories", []):
            categories[int(category["id"])] = category["name"]
        for ann in instances.get("annotations", []):
            labels_of.setdefault(int(ann["image_id"]), set()).add(int(ann["category_id"]))
        for ann in captions.get("annotations", []):
            captions_of.setdefault(int(ann["image_id"]), []).append(ann["caption"])

    ids = sorted(files)
    dropped = {"no object category": [], "image file not found": []}
    kept = []
    for image_id in ids:
        if not labels_of.get(image_id):
            dropped["no object category"].append(files[image_id])
        elif files[image_id] not in member_of:
            dropped["image file not found"].append(files[image_id])
        else:
            kept.append(image_id)
    category_ids = sorted(categories)
    column = {c: j for j, c in enumerate(category_ids)}
    labels = np.zeros((len(kept), len(category_ids)), np.uint8)
    for i, image_id in enumerate(kept):
        labels[i, [column[c] for c in labels_of[image_id]]] = 1
    stop = text.english_stop_words()
    docs = [text.words(" ".join(captions_of.get(image_id, [])), stop) for image_id in kept]
    vocab = text.vocabulary(docs, min_count=max(1, int(np.ceil(MIN_DOCUMENT_FRACTION * len(docs)))),
                            max_fraction=MAX_DOCUMENT_FRACTION, max_words=args.vocabulary_size)
    members = [member_of[files[i]] for i in kept]
    return Plan(
        dataset="coco", release=release, image_members=members, sources=members, labels=labels,
        texts=text.bag_of_words(docs, vocab, binary=True), concepts=[categories[c] for c in category_ids],
        vocabulary=vocab, dropped=dropped,
        settings={"images": [str(r.path) for r in releases], "annotations": str(annotations.path),
                  "pool": "train2014 + val2014, ascending image id", "labels": "80 categories, ascending category id",
                  "vocabulary_size": args.vocabulary_size, "max_document_fraction": MAX_DOCUMENT_FRACTION,
                  "min_document_fraction": MIN_DOCUMENT_FRACTION, "texts": "binary bag of words of all captions",
                  "stop_words": "Glasgow IR group English list (318)"},
    )


def _json(release, tail: str) -> dict:
    name = release.require(tail, " (the 2014 instances and captions files)")
    try:
        data = json.loads(release.read_bytes(name))
    except (ValueError, UnicodeDecodeError) as e:
        raise ReleaseError(f"{release.path}: {name} is not valid JSON ({e}); is the download complete?") from None
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise ReleaseError(f"{release.path}: {name} lacks 'images' or 'annotations'; expected a COCO annotation file")
    return data


class _Several:
    """The train and val images given as two releases, read as one."""

    random_access = True

    def __init__(self, releases, release_of, member_of):
        self.path = ", ".join(str(r.path) for r in releases)
        self._release_of = {member_of[b]: r for b, r in release_of.items()}

    def members_in_read_order(self, wanted):
        wanted = list(wanted)
        for release in {id(r): r for r in self._release_of.values()}.values():
            yield from release.members_in_read_order(w for w in wanted if self._release_of[w] is release)
