"""Bags of words from tags and captions: vocabularies chosen by document frequency.

Every preparation's text side is the same two steps: each item's words (tags as they are, or a
caption tokenised by ``words``), then a vocabulary of the words found in at least ``min_count``
items (document frequency, so that one item repeating a word does not make it frequent), in a
fixed order, and the (n, d) matrix of each item's counts over it (docs/data-preparation.md).
"""
from __future__ import annotations

import functools
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

# Tokens of two or more word characters, as scikit-learn's CountVectorizer finds them (the
# tokeniser of the COCO bag-of-words recipe, docs/data-preparation.md).
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


@functools.cache
def english_stop_words() -> frozenset[str]:
    """The Glasgow IR group's 318 English stop words (stop_words_english.txt beside this file)."""
    lines = (Path(__file__).with_name("stop_words_english.txt")).read_text(encoding="utf-8").splitlines()
    return frozenset(w for w in lines if w and not w.startswith("#"))


def words(text: str, stop_words: frozenset[str] = frozenset()) -> list[str]:
    """Lower-cased tokens of ``text`` (two or more letters or digits), minus ``stop_words``."""
    return [w for w in _TOKEN.findall(text.lower()) if w not in stop_words]


def document_frequency(documents: Iterable[Sequence[str]]) -> Counter:
    """word → number of documents that contain it."""
    counts = Counter()
    for doc in documents:
        counts.update(set(doc))
    return counts


def vocabulary(documents: Sequence[Sequence[str]], *, min_count: int = 1, max_fraction: float = 1.0,
               max_words: int | None = None, order: str = "alphabetical") -> list[str]:
    """The words in at least ``min_count`` and at most ``max_fraction`` of the documents; with
    ``max_words`` the most frequent of them (ties broken alphabetically). ``order``:
    "alphabetical" or "frequency" (descending)."""
    counts = document_frequency(documents)
    ceiling = max_fraction * len(documents)
    kept = [(w, c) for w, c in counts.items() if min_count <= c <= ceiling]
    kept.sort(key=lambda wc: (-wc[1], wc[0]))
    if max_words is not None:
        kept = kept[:max_words]
    if order == "alphabetical":
        return sorted(w for w, _ in kept)
    return [w for w, _ in kept]


def bag_of_words(documents: Sequence[Sequence[str]], vocab: Sequence[str], *, binary: bool = False) -> np.ndarray:
    """(n, d) word counts (or presence, with ``binary``) of each document over ``vocab``; uint8,
    saturating at 255 (more repeats of one word in one item do not occur in these datasets)."""
    column = {w: j for j, w in enumerate(vocab)}
    out = np.zeros((len(documents), len(vocab)), np.uint16)
    for i, doc in enumerate(documents):
        for w in doc:
            j = column.get(w)
            if j is not None:
                out[i, j] += 1
    if binary:
        out = out > 0
    return np.minimum(out, 255).astype(np.uint8)
