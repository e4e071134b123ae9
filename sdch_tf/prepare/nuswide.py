"""NUS-WIDE from its official files (docs/data-preparation.md, "NUS-WIDE").

Inputs: the image folders (``Flickr/<concept dir>/<NNNN>_<photo id>.jpg``, from a mirror: NUS
distributes URLs only), ``ImageList/Imagelist.txt`` (269,648 Windows paths ``actor\\0001_2124494179.jpg``,
sometimes with a ``C:\\ImageData\\Flickr\\`` prefix), ``Groundtruth/AllLabels/Labels_<concept>.txt``
(81 files, one 0/1 per image) and ``NUS_WID_Tags/AllTags1k.txt`` (one line of 1,000 0/1 per image,
columns named by ``TagList1k.txt``). The DCMH files' recipe: the 21 (or 10) concepts with the most
images, kept in the alphabetical order of the 81; the images with at least one of them, in list
order (195,834 / 186,577); texts are the AllTags1k rows as they are (empty ones kept).
"""
from __future__ import annotations

import re

import numpy as np

from sdch_tf.prepare.release import ReleaseError, open_release
from sdch_tf.prepare.writer import Plan

_LABELS = re.compile(r"(?:^|/)Groundtruth/AllLabels/Labels_(.+)\.txt$")
_PREFIX = re.compile(r"^(?:[A-Za-z]:/)?(?:.*?/)?ImageData/Flickr/", re.IGNORECASE)
DATASET_OF = {21: "nuswide", 10: "nuswide-tc10"}


def add_arguments(parser) -> None:
    parser.add_argument("--images", required=True,
                        help="the image folder Flickr/ (with its <concept>/<NNNN>_<id>.jpg sub-folders) or an archive of it")
    parser.add_argument("--image-list", required=True, help="ImageList.zip or its folder (ImageList/Imagelist.txt)")
    parser.add_argument("--groundtruth", required=True, help="Groundtruth.zip or its folder (Groundtruth/AllLabels/Labels_*.txt)")
    parser.add_argument("--tags", required=True, help="NUS_WID_Tags.zip or its folder (NUS_WID_Tags/AllTags1k.txt, TagList1k.txt)")
    parser.add_argument("--concepts", type=int, default=21, choices=sorted(DATASET_OF),
                        help="keep the C most frequent concepts: 21 → --dataset nuswide, 10 → --dataset nuswide-tc10")


def plan(args) -> Plan:
    lists = open_release(args.image_list, "the NUS-WIDE image list (ImageList.zip)")
    truth = open_release(args.groundtruth, "the NUS-WIDE ground truth (Groundtruth.zip)")
    tags = open_release(args.tags, "the NUS-WIDE tags (NUS_WID_Tags.zip)")
    images = open_release(args.images, "the NUS-WIDE images (the Flickr/ folder)")

    list_name = lists.require("Imagelist.txt", " (ImageList/Imagelist.txt: one image path per line)")
    entries = [_normalised(line) for line in lists.read_text(list_name).splitlines() if line.strip()]
    n = len(entries)

    label_files = sorted((m.group(1), name) for name in truth.names() if (m := _LABELS.search(name)))
    if not label_files:
        raise ReleaseError(f"{truth.path}: no Groundtruth/AllLabels/Labels_<concept>.txt in {truth.what}; {truth.describe()}")
    concepts = [c for c, _ in label_files]
    labels = np.zeros((n, len(concepts)), np.uint8)
    for j, (concept, name) in enumerate(label_files):
        values = truth.read_text(name).split()
        if len(values) != n:
            raise ReleaseError(f"{truth.path}: {name} has {len(values)} lines but {list_name} lists {n} images; "
                               "both come from one NUS-WIDE release, one line per image")
        column = np.array(values)
        bad = ~np.isin(column, ("0", "1"))
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ReleaseError(f"{truth.path}: {name} line {first + 1}: {column[first]!r}; expected 0 or 1")
        labels[:, j] = column == "1"

    tag_name = tags.require("AllTags1k.txt", " (NUS_WID_Tags/AllTags1k.txt: 1,000 0/1 per image)")
    texts = _tag_matrix(tags, tag_name, n, list_name)
    list_of_tags = tags.find("TagList1k.txt")
    vocab = ([w.strip() for w in tags.read_text(list_of_tags).splitlines() if w.strip()]
             if list_of_tags else [f"tag{j}" for j in range(texts.shape[1])])
    if len(vocab) != texts.shape[1]:
        raise ReleaseError(f"{tags.path}: {list_of_tags} names {len(vocab)} tags but {tag_name} has {texts.shape[1]} columns")

    top = np.sort(np.argsort(-labels.sum(axis=0), kind="stable")[:args.concepts])
    labels = labels[:, top]
    concepts = [concepts[j] for j in top]

    by_path, by_file = {}, {}
    for name in images.names():
        if name.lower().endswith(".jpg"):
            parts = name.split("/")
            by_path.setdefault("/".join(parts[-2:]).lower(), name)
            by_file.setdefault(parts[-1].lower(), name)
    if not by_file:
        raise ReleaseError(f"{images.path}: no .jpg image in {images.what}; {images.describe()}")

    dropped = {f"none of the {args.concepts} concepts": [], "image file not found": []}
    keep, members = [], []
    for i, entry in enumerate(entries):
        if not labels[i].any():
            dropped[f"none of the {args.concepts} concepts"].append(entry)
            continue
        member = by_path.get(entry.lower()) or by_file.get(entry.rsplit("/", 1)[-1].lower())
        if member is None:
            dropped["image file not found"].append(entry)
            continue
        keep.append(i)
        members.append(member)
    keep = np.asarray(keep, np.int64)
    return Plan(
        dataset=DATASET_OF[args.concepts], release=images, image_members=members, sources=members,
        labels=labels[keep], texts=texts[keep], concepts=concepts, vocabulary=vocab, dropped=dropped,
        settings={"images": str(images.path), "image_list": str(lists.path), "groundtruth": str(truth.path),
                  "tags": str(tags.path), "concepts": args.concepts, "images_in_list": n,
                  "concept_choice": "most images in Groundtruth/AllLabels, kept in alphabetical order",
                  "texts": "AllTags1k.txt rows as they are (0/1)"},
    )


def _normalised(line: str) -> str:
    """``actor\\0001_2124494179.jpg`` (with or without ``C:\\ImageData\\Flickr\\``) → ``actor/0001_2124494179.jpg``."""
    path = line.strip().replace("\\", "/")
    return _PREFIX.sub("", path)


def _tag_matrix(release, name: str, n: int, list_name: str) -> np.ndarray:
    """(n, 1000) uint8 from lines of whitespace-separated 0/1, parsed without a Python loop per value."""
    raw = release.read_bytes(name)
    lines = raw.translate(None, b" \t\r").split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    if len(lines) != n:
        raise ReleaseError(f"{release.path}: {name} has {len(lines)} lines but {list_name} lists {n} images")
    widths = {len(line) for line in lines}
    if len(widths) != 1:
        counts = np.array([len(line) for line in lines])
        common = int(np.bincount(counts).argmax())
        first = int(np.flatnonzero(counts != common)[0])
        raise ReleaseError(f"{release.path}: {name} line {first + 1} has {counts[first]} values, the others {common}")
    matrix = np.frombuffer(b"".join(lines), np.uint8).reshape(n, widths.pop()) - ord("0")
    if (matrix > 1).any():
        row = int(np.flatnonzero((matrix > 1).any(axis=1))[0])
        raise ReleaseError(f"{release.path}: {name} line {row + 1} holds a value other than 0 or 1")
    return matrix
