"""Queries: what a query is, how it becomes a code, and the answer's text and JSON forms.

A query is an image file, a text (words, or text columns written ``#N``), or a dataset item
(``--item N``: row N of the loaded dataset, its image or its text). Its code is

- for an item of the run's split, the code the evaluator used (codes.npz: the query set's
  codes, or the database's): its ranking is then exactly the evaluator's;
- otherwise the code the restored networks give, through the evaluator's own preprocessing.

The answer ranks the target database (by default the other modality: image → texts,
text → images) by ascending Hamming distance, ties in database order (``scan``).

Batch files (``--queries FILE``): one query a line, ``image:PATH``, ``text:WORDS`` or
``item:N`` (``item:N:text`` for the item's text); blank lines and lines starting with ``#``
are skipped.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

from sdch_tf.input_errors import InputError
from sdch_tf.search.index import MODALITIES

OTHER = {"image": "text", "text": "image"}


@dataclasses.dataclass(frozen=True)
class Query:
    """kind: "image" (value: a file path), "text" (value: the words) or "item" (value: a row);
    modality: the modality the query is in; where: for messages (an option or FILE:LINE)."""

    kind: str
    value: str | int
    modality: str
    where: str = ""

    def describe(self) -> str:
        if self.kind == "item":
            return f"item {self.value} ({self.modality})"
        if self.kind == "image":
            return f"image file {self.value}"
        return f"text {self.value!r}"


def parse_query_line(line: str, where: str, default_modality: str = "image") -> Query | None:
    """One line of a ``--queries`` file as a Query; None for a blank or comment line."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    kind, sep, value = line.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in ("image", "text", "item"):
        raise InputError(f"{where}: {line!r} is not a query; write image:PATH, text:WORDS or item:N[:image|text]")
    value = value.strip()
    if kind == "image":
        return Query("image", value, "image", where)
    if kind == "text":
        return Query("text", value, "text", where)
    number, _, modality = value.partition(":")
    modality = modality.strip().lower() or default_modality
    if modality not in MODALITIES:
        raise InputError(f"{where}: {line!r}: the modality of an item is image or text, not {modality!r}")
    return Query("item", parse_item(number, where), modality, where)


def parse_item(text: str, where: str) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise InputError(f"{where}: {text!r} is not a dataset row (an integer)") from None
    if value < 0:
        raise InputError(f"{where}: dataset row {value} is negative")
    return value


def read_queries(path: str, default_modality: str = "image") -> list[Query]:
    """The queries of a ``--queries`` file (see the module docstring)."""
    if not os.path.isfile(path):
        raise InputError(f"--queries {path}: no such file")
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    queries = [q for number, line in enumerate(lines, 1)
               if (q := parse_query_line(line, f"{path}:{number}", default_modality)) is not None]
    if not queries:
        raise InputError(f"--queries {path} holds no query (one a line: image:PATH, text:WORDS, item:N)")
    return queries


# ----------------------------------------------------------------------------- text queries


def _word_key(word: str) -> str:
    # The synthetic set's synonyms are "red-disc·2": "red-disc.2" is accepted for the middle dot.
    return word.casefold().replace("·", ".")


def bag_of_words(text: str, vocabulary, text_dim: int, binary: bool = True,
                 where: str = "--text", vocabulary_file: str | None = None) -> tuple[np.ndarray, list[str]]:
    """float32 (d,) bag-of-words of ``text``: each whitespace-separated token is a word of
    ``vocabulary`` (exact, else case-insensitively) or ``#N``, text column N. ``binary``: a word
    present is 1 (the DCMH files' 0/1 texts), else its count.

    Returns (the vector, the tokens not understood). ``InputError`` when no token is understood.
    """
    exact = {} if vocabulary is None else {w: i for i, w in reversed(list(enumerate(vocabulary)))}
    folded = {} if vocabulary is None else {_word_key(w): i for i, w in reversed(list(enumerate(vocabulary)))}
    vector = np.zeros(text_dim, np.float32)
    unknown, words = [], []
    for token in text.replace(",", " ").split():
        column = None
        if token.startswith("#") and token[1:].isdigit():
            column = int(token[1:])
            if column >= text_dim:
                raise InputError(f"{where}: text column {token} is out of range: the texts have {text_dim} columns "
                                 f"(#0 … #{text_dim - 1})")
        elif vocabulary is not None:
            column = exact.get(token, folded.get(_word_key(token)))
        if column is None:
            unknown.append(token)
        else:
            words.append(token)
            vector[column] = 1.0 if binary else vector[column] + 1.0
    if not words:
        if vocabulary is None:
            missing = f"the vocabulary file {vocabulary_file} is missing" if vocabulary_file else "no vocabulary is known"
            raise InputError(f"{where}: {missing}, so words cannot be mapped to text columns; write the text as "
                             f"column numbers (#12 #40 …) or add the file (line i = the word of column i)")
        raise InputError(f"{where}: none of the words {text!r} is in the vocabulary"
                         + (f" ({vocabulary_file})" if vocabulary_file else ""))
    return vector, unknown


# ---------------------------------------------------------------------------------- answers


def answer_record(opened, query: Query, code: np.ndarray, source: str, target: str, indices: np.ndarray,
                  distances: np.ndarray, database) -> dict:
    """The JSON form of one answer: the query, its code, and the ranked items."""
    items = []
    for rank, (position, distance) in enumerate(zip(indices.tolist(), distances.tolist()), 1):
        row = int(database.rows[position])
        item = {"rank": rank, "distance": int(distance), "row": row, "file_row": int(database.file_rows[position]),
                "labels": opened.concept_names(opened.data.labels[row]), "source": opened.source_image(row)}
        if target == "text":
            item["words"] = opened.words(row)
        items.append(item)
    return {"query": {"kind": query.kind, "value": query.value, "modality": query.modality,
                      "code": "".join("1" if b > 0 else "0" for b in code), "code_from": source},
            "target": target, "bits": opened.bits, "run_id": opened.run_id, "database_size": database.size,
            "results": items}


def format_answer(record: dict) -> str:
    """The text form of one answer: a header line and one line per ranked item."""
    q = record["query"]
    what = {"item": f"item {q['value']} ({q['modality']})", "image": f"image {q['value']}",
            "text": f"text {q['value']!r}"}[q["kind"]]
    lines = [f"{what} → {record['target']} database of {record['database_size']} items, {record['bits']}-bit code "
             f"{q['code']} ({q['code_from']})",
             f"{'rank':>4} {'dist':>4} {'row':>7}  labels" + ("  | words" if record["target"] == "text" else "")
             + ("  | source" if any(item["source"] for item in record["results"]) else "")]
    for item in record["results"]:
        extra = f"  | {' '.join(item['words'])}" if "words" in item else ""
        source = f"  | {item['source']}" if item["source"] else ""
        lines.append(f"{item['rank']:>4} {item['distance']:>4} {item['row']:>7}  {', '.join(item['labels']) or '—'}"
                     f"{extra}{source}")
    return "\n".join(lines)
