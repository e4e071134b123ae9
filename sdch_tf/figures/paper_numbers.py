"""The papers' own reported numbers (SDCH Tables 2–4, CMHN Tables 1–2, DSPAH Table I), read from results/paper/.

The numbers are data, transcribed once into ``results/paper/<paper>.json`` (long format: a table is a list of
cells) and checked against the paper text by ``tests/figures/test_paper_numbers.py``; see
``results/paper/README.md`` for the schema. This module only loads and validates them, so that tables and
figures can print the paper's value beside ours.

A score cell is ``{"method", "dataset", "bits", "value"}`` plus any extra axis the table has (e.g.
``"direction": "i2t"`` in CMHN/DSPAH, whose tables hold both retrieval directions). A timing cell (SDCH
Table 4) is ``{"dataset", "epochs", "train_seconds", "hash_ms_image", "hash_ms_text", "device"}``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from numbers import Real
from pathlib import Path

from sdch_tf.input_errors import InputError

DEFAULT_DIR = "results/paper"

FILE_KEYS = ("paper", "source_file", "tables", "notes")
TABLE_KEYS = ("id", "label", "caption", "metric", "top_k", "protocol", "cells")
SCORE_KEYS = ("method", "dataset", "bits", "value")
TIMING_NUMBERS = ("epochs", "train_seconds", "hash_ms_image", "hash_ms_text")
TIMING_KEYS = ("dataset",) + TIMING_NUMBERS + ("device",)


@dataclass(frozen=True)
class PaperTable:
    """One table of one paper. ``cells`` is a tuple of dicts (see module docstring); ``top_k`` is None when
    the paper does not state it; ``metric`` is our result.json key when one matches (``map_i2t``)."""
    id: str
    label: str
    caption: str
    metric: str
    top_k: int | None
    protocol: str
    cells: tuple
    paper: str
    source_file: str


def _is_number(x) -> bool:
    # bool is a Real in Python; a transcribed ``true`` is never a reported number.
    return isinstance(x, Real) and not isinstance(x, bool)


def _require(mapping, keys, where: str) -> None:
    if not isinstance(mapping, dict):
        raise InputError(f"{where}: expected an object, got {type(mapping).__name__}")
    for key in keys:
        if key not in mapping:
            raise InputError(f"{where}: missing key {key!r}")


def _check_cell(cell, where: str) -> None:
    if isinstance(cell, dict) and ("method" in cell or "value" in cell):
        _require(cell, SCORE_KEYS, where)
        numbers = ("value",)
        if not isinstance(cell["bits"], int) or isinstance(cell["bits"], bool):
            raise InputError(f"{where}: key 'bits' must be an integer, got {cell['bits']!r}")
    else:
        _require(cell, TIMING_KEYS, where)
        numbers = TIMING_NUMBERS
    for key in numbers:
        if not _is_number(cell[key]):
            raise InputError(f"{where}: key {key!r} must be a number, got {cell[key]!r}")


def _cell_axes(cell: dict) -> tuple:
    """Everything that locates a cell (all fields except the numbers and free text), to find duplicates."""
    skip = {"value", "printed_as", "device", *TIMING_NUMBERS}
    return tuple(sorted((k, v) for k, v in cell.items() if k not in skip))


def _parse_table(raw, doc: dict, where: str) -> PaperTable:
    if isinstance(raw, dict) and "id" in raw:
        # Name the table before checking the rest, so a missing key points at the table that lacks it.
        where = f"{where} (table {raw['id']!r})"
    _require(raw, TABLE_KEYS, where)
    if raw["top_k"] is not None and not _is_number(raw["top_k"]):
        raise InputError(f"{where}: key 'top_k' must be a number or null, got {raw['top_k']!r}")
    if not isinstance(raw["cells"], list) or not raw["cells"]:
        raise InputError(f"{where}: key 'cells' must be a non-empty list")
    seen = set()
    for i, cell in enumerate(raw["cells"]):
        _check_cell(cell, f"{where}, cell {i}")
        axes = _cell_axes(cell)
        if axes in seen:
            raise InputError(f"{where}, cell {i}: duplicate cell {dict(axes)}")
        seen.add(axes)
    return PaperTable(id=raw["id"], label=raw["label"], caption=raw["caption"], metric=raw["metric"],
                      top_k=raw["top_k"], protocol=raw["protocol"], cells=tuple(raw["cells"]),
                      paper=doc["paper"], source_file=doc["source_file"])


def load_paper_tables(directory=DEFAULT_DIR) -> dict[str, PaperTable]:
    """All tables of all ``*.json`` files in ``directory``, keyed by table id (e.g. ``"sdch-table2"``).

    Raises InputError (a ValueError) naming the file, the table id and the key when the data is
    malformed (not JSON, missing key, non-numeric value, duplicate cell or duplicate table id)."""
    directory = Path(directory)
    files = sorted(directory.glob("*.json"))
    if not files:
        raise InputError(f"{directory}: no paper-number files (*.json)")
    tables: dict[str, PaperTable] = {}
    for path in files:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise InputError(f"{path}: not valid JSON ({err})") from err
        except UnicodeDecodeError as err:
            raise InputError(f"{path}: not UTF-8 text ({err})") from err
        except OSError as err:
            raise InputError(f"{path}: cannot be read ({err.strerror or err})") from err
        _require(doc, FILE_KEYS, str(path))
        for i, raw in enumerate(doc["tables"]):
            table = _parse_table(raw, doc, f"{path}, tables[{i}]")
            if table.id in tables:
                raise InputError(f"{path}: duplicate table id {table.id!r}")
            tables[table.id] = table
    return tables


def paper_value(table: PaperTable, method: str, dataset: str, bits: int, **axes) -> float | None:
    """The reported value of ``method`` on ``dataset`` at ``bits``, or None when the paper does not report it.

    Extra axes select among cells that share method/dataset/bits, e.g. ``direction="i2t"`` for the CMHN and
    DSPAH tables; raises ValueError if the selection is still ambiguous, rather than pick one silently."""
    want = {"method": method, "dataset": dataset, "bits": bits, **axes}
    found = [c["value"] for c in table.cells
             if "value" in c and all(c.get(k) == v for k, v in want.items())]
    if len(found) > 1:
        raise ValueError(f"{table.id}: {len(found)} cells match {want}; give the missing axis (e.g. direction=)")
    return float(found[0]) if found else None
