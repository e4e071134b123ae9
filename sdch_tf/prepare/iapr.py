"""IAPR TC-12 from ``iaprtc12.tgz`` with labels from SAIAPR TC-12 (docs/data-preparation.md, "IAPR TC-12").

Inputs: the ImageCLEF release (``iaprtc12/images/<NN>/<id>.jpg`` and the English captions
``iaprtc12/annotations_complete_eng/<NN>/<id>.eng``, Latin-1 SGML records with ``<TITLE>`` and
``<DESCRIPTION>``) and the segmented, annotated release SAIAPR TC-12 (``saiaprtc12ok``:
``benchmark/saiapr_tc-12/<NN>/labels.txt``, rows ``<image id> <region id> <label id>``, and
``benchmark/wlist.txt``, ``<label id>\\t<name>``). An image's labels are the labels of its regions,
one column per label id in use, ascending; the loader keeps the 22 most frequent (SDCH §4.1).

No public recipe reproduces the DCMH file's 2,912-d text (its author lost the original data), so
ours is stated rather than matched: TITLE and DESCRIPTION, lower-cased tokens of two or more
letters or digits, English stop words removed, and the 2,912 words found in the most captions
(``--vocabulary-size``); texts are word counts. The document frequency this implies is recorded.
"""
from __future__ import annotations

import re

import numpy as np

from sdch_tf.prepare import text
from sdch_tf.prepare.release import ReleaseError, open_release
from sdch_tf.prepare.writer import Plan

VOCABULARY_SIZE = 2912  # the DCMH file's text dimension (docs/reproduction.md §2)
_ENG = re.compile(r"(?:^|/)annotations_complete_eng/(\d+)/(\d+)\.eng$")
_JPG = re.compile(r"(?:^|/)images/(\d+)/(\d+)\.jpg$", re.IGNORECASE)
_LABELS = re.compile(r"(?:^|/)saiapr_tc-12/(\d+)/labels\.txt$")
_FIELD = {tag: re.compile(rf"<{tag}>(.*?)</{tag}>", re.DOTALL | re.IGNORECASE) for tag in ("TITLE", "DESCRIPTION")}


def add_arguments(parser) -> None:
    parser.add_argument("--release", required=True,
                        help="iaprtc12.tgz or its folder (images/<NN>/<id>.jpg, annotations_complete_eng/<NN>/<id>.eng)")
    parser.add_argument("--segments", required=True,
                        help="the SAIAPR TC-12 release (saiaprtc12ok archive or folder: benchmark/saiapr_tc-12/<NN>/labels.txt, "
                             "benchmark/wlist.txt)")
    parser.add_argument("--vocabulary-size", type=int, default=VOCABULARY_SIZE,
                        help="keep the words found in the most captions (default: the DCMH file's 2,912)")


def plan(args) -> Plan:
    release = open_release(args.release, "the IAPR TC-12 release (iaprtc12.tgz)")
    segments = open_release(args.segments, "the SAIAPR TC-12 release (saiaprtc12ok)")
    images = {(int(m.group(1)), int(m.group(2))): name for name in release.names()
              if (m := _JPG.search(name)) and "thumbnails/" not in name and "saiapr" not in name}
    captions = {(int(m.group(1)), int(m.group(2))): name for name in release.names() if (m := _ENG.search(name))}
    if not captions:
        hint = " (this looks like SAIAPR TC-12: pass it as --segments)" if release.find("benchmark/wlist.txt") else ""
        raise ReleaseError(f"{release.path}: no annotations_complete_eng/<NN>/<id>.eng in {release.what}{hint}; "
                           f"{release.describe()}")

    region_labels = _region_labels(segments)
    names = _label_names(segments)
    label_ids = sorted({label for labels in region_labels.values() for label in labels})

    keys = sorted(set(captions) | set(images))
    dropped = {"no English caption": [], "image file not found": [], "no SAIAPR label": [], "unreadable caption": []}
    documents = {}
    for name, data in release.members_in_read_order(captions[k] for k in keys if k in captions):
        m = _ENG.search(name)
        key = (int(m.group(1)), int(m.group(2)))
        record = None if data is None else data.decode("latin-1")
        if record is None or "<DOC>" not in record.upper():
            dropped["unreadable caption"].append(name)
            continue
        fields = [f.group(1) for tag in ("TITLE", "DESCRIPTION") if (f := _FIELD[tag].search(record))]
        documents[key] = text.words(" ".join(fields), text.english_stop_words())

    kept = []
    for key in keys:
        item = f"{key[0]:02d}/{key[1]}"
        if key not in captions:
            dropped["no English caption"].append(item)
        elif key not in documents:
            continue  # reported above as unreadable
        elif key not in images:
            dropped["image file not found"].append(item)
        elif not region_labels.get(key):
            dropped["no SAIAPR label"].append(item)
        else:
            kept.append(key)
    if not kept:
        raise ReleaseError(f"{segments.path}: no image of {release.path} has a label in {segments.what}; "
                           "are both releases complete?")

    column = {label: j for j, label in enumerate(label_ids)}
    labels = np.zeros((len(kept), len(label_ids)), np.uint8)
    for i, key in enumerate(kept):
        labels[i, [column[label] for label in region_labels[key]]] = 1
    docs = [documents[k] for k in kept]
    vocab = text.vocabulary(docs, max_words=args.vocabulary_size)
    frequency = text.document_frequency(docs)
    return Plan(
        dataset="iapr", release=release, image_members=[images[k] for k in kept], sources=[images[k] for k in kept],
        labels=labels, texts=text.bag_of_words(docs, vocab), concepts=[names.get(i, f"label{i}") for i in label_ids],
        vocabulary=vocab, dropped=dropped,
        settings={"release": str(release.path), "segments": str(segments.path), "vocabulary_size": args.vocabulary_size,
                  "caption_fields": "TITLE + DESCRIPTION", "stop_words": "Glasgow IR group English list (318)",
                  "min_document_frequency_kept": min((frequency[w] for w in vocab), default=0),
                  "texts": "word counts", "labels": "SAIAPR region labels in use, ascending label id"},
    )


def _region_labels(segments) -> dict[tuple[int, int], set[int]]:
    """(folder, image id) → the label ids of its regions, from every ``labels.txt``."""
    files = [(int(m.group(1)), name) for name in segments.names() if (m := _LABELS.search(name))]
    if not files:
        raise ReleaseError(f"{segments.path}: no benchmark/saiapr_tc-12/<NN>/labels.txt in {segments.what}; "
                           f"{segments.describe()}")
    found: dict[tuple[int, int], set[int]] = {}
    for name, data in segments.members_in_read_order(name for _, name in files):
        folder = int(_LABELS.search(name).group(1))
        if data is None:
            raise ReleaseError(f"{segments.path}: cannot read {name}")
        for line_number, line in enumerate(data.decode("latin-1").splitlines(), 1):
            fields = line.split()
            if not fields:
                continue
            try:
                image, _region, label = (int(float(x)) for x in fields[:3])
            except ValueError:
                raise ReleaseError(f"{segments.path}: {name} line {line_number}: {line[:60]!r}; "
                                   "expected '<image id> <region id> <label id>'") from None
            found.setdefault((folder, image), set()).add(label)
    return found


def _label_names(segments) -> dict[int, str]:
    name = segments.find("benchmark/wlist.txt") or segments.find("wlist.txt")
    if name is None:
        return {}
    names = {}
    for line in segments.read_text(name, "latin-1").splitlines():
        parts = line.split("\t", 1) if "\t" in line else line.split(None, 1)
        if parts and parts[0].strip().isdigit():
            names[int(parts[0])] = parts[1].strip() if len(parts) > 1 and parts[1].strip() else f"label{parts[0].strip()}"
    return names
