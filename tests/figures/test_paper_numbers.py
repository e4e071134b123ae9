"""results/paper/*.json against the paper text, cell by cell, and the loader in sdch_tf/figures/paper_numbers.py.

The expected numbers are parsed here from the paper text itself (SDCH: markdown tables; CMHN, DSPAH:
tab-separated tables), independently of the JSON, so a transcription typo fails a test.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from sdch_tf.figures.paper_numbers import load_paper_tables, paper_value

REPO = Path(__file__).parents[2]
PAPER_DIR = REPO / "results" / "paper"
# The paper texts are not redistributed with the code: they sit beside the checkout (../shared/papers).
# Where they are absent the checks against the text skip; the loader tests below always run.
PAPERS = Path(os.environ.get("SDCH_PAPERS_DIR", REPO.parent / "shared" / "papers"))

SDCH_DATASETS = {"NUS-WIDE": "nuswide", "MIR-FLICKR": "mirflickr", "IAPR-TC12": "iapr"}
DSPAH_DATASETS = {"MIRFLICKR-25K": "mirflickr", "NUS-WIDE": "nuswide"}
DSPAH_DIRECTIONS = {"Image query Text": "i2t", "Text query Image": "t2i"}


def paper_text(name: str) -> str:
    path = PAPERS / name
    if not path.exists():
        pytest.skip(f"paper text {path} not available (set SDCH_PAPERS_DIR)")
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tables():
    return load_paper_tables(PAPER_DIR)


def _line_index(lines: list[str], caption: str) -> int:
    hits = [i for i, line in enumerate(lines) if caption in line]
    assert len(hits) == 1, f"caption {caption!r} found {len(hits)} times"
    return hits[0]


def markdown_rows(text: str, caption: str) -> list[list[str]]:
    """The '|' rows of the first markdown table after ``caption``, cells stripped of '<b>' tags."""
    lines = text.splitlines()
    rows = []
    for line in lines[_line_index(lines, caption) + 1:]:
        if line.startswith("|"):
            rows.append([re.sub(r"</?b>", "", c).strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            break
    return rows


def tab_block(text: str, caption: str, before: bool = False) -> list[list[str]]:
    """The consecutive tab-separated lines just after (or before) ``caption``, split on tabs."""
    lines = text.splitlines()
    i = _line_index(lines, caption)
    span = range(i - 1, -1, -1) if before else range(i + 1, len(lines))
    block = []
    for n in span:
        if "\t" in lines[n]:
            block.append(lines[n].split("\t"))
        elif block:
            break
    return block[::-1] if before else block


def forward_fill(header: list[str]) -> list[str]:
    """Merged header cells are printed once, followed by empty cells: repeat them to the right."""
    out, current = [], None
    for cell in header:
        current = cell.strip() or current
        out.append(current)
    return out


def strip_citation(name: str) -> str:
    return re.sub(r"\s*\[\d+\]$", "", name.strip())


def score_cells(table, *axes) -> dict:
    """JSON cells keyed by (name as printed, dataset, *axes, bits) -> value."""
    out = {}
    for c in table.cells:
        key = (c.get("printed_as", c["method"]), c["dataset"], *(c[a] for a in axes), c["bits"])
        assert key not in out, f"duplicate cell {key}"
        out[key] = c["value"]
    return out


# --- SDCH Tables 2-3 (mAP@500), every cell -------------------------------------------------------------

def parse_sdch_map(text: str, caption: str) -> dict:
    head, separator, bits_row, *body = markdown_rows(text, caption)
    assert set("".join(separator)) <= set("-")
    datasets = [SDCH_DATASETS[d] for d in forward_fill(head[1:])]
    bits = [int(b.removesuffix("bits")) for b in bits_row[1:]]
    expected = {}
    for row in body:
        assert len(row) == 1 + len(bits), row
        for dataset, k, value in zip(datasets, bits, row[1:]):
            expected[(row[0], dataset, k)] = float(value)
    return expected


@pytest.mark.parametrize("table_id, caption", [
    ("sdch-table2", "Table 2: MAPs of different methods for Image-to-Text retrieval task."),
    ("sdch-table3", "Table 3: MAPs of different methods for Text-to-Image retrieval task."),
])
def test_sdch_map_tables_match_paper_text(tables, table_id, caption):
    expected = parse_sdch_map(paper_text("SDCH_Yan2019_neurocomputing.txt"), caption)
    assert len(expected) == 12 * 3 * 3  # 12 methods (11 baselines + SDCH) x 3 datasets x 3 code lengths
    table = tables[table_id]
    assert f"{table.label}: {table.caption}" == caption
    assert (table.metric, table.top_k) == ({"sdch-table2": "map_i2t", "sdch-table3": "map_t2i"}[table_id], 500)
    assert score_cells(table) == expected


# --- SDCH Table 4 (running time), every cell -----------------------------------------------------------

def test_sdch_table4_matches_paper_text(tables):
    caption = "Table 4: The running time of each experiment. Hash time means the time to map one sample to hash code."
    head, _, *body = markdown_rows(paper_text("SDCH_Yan2019_neurocomputing.txt"), caption)
    assert head == ["Dataset", "Epoch", "Training time", "Hash time (image)", "Hash time (text)"]
    expected = {SDCH_DATASETS[r[0]]: (int(r[1]), int(r[2].removesuffix("s")), int(r[3].removesuffix("ms")),
                                      int(r[4].removesuffix("ms"))) for r in body}
    assert len(expected) == 3
    table = tables["sdch-table4"]
    got = {c["dataset"]: (c["epochs"], c["train_seconds"], c["hash_ms_image"], c["hash_ms_text"])
           for c in table.cells}
    assert got == expected
    assert got["nuswide"] == (50, 11551, 3, 1)  # literal anchor, should the parser itself go wrong
    assert {c["device"] for c in table.cells} == {"NVIDIA TITAN X 12GB GPU"}
    assert "trained on a NVIDIA TITAN X 12GB GPU" in paper_text("SDCH_Yan2019_neurocomputing.txt")


# --- CMHN Tables 1-2, every cell -----------------------------------------------------------------------

def parse_cmhn(text: str, caption: str, dataset: str) -> tuple[dict, list]:
    header, *body = tab_block(text, caption)
    assert header[1] == "Method"
    bits = [int(h.split()[0]) for h in header[2:]]
    expected, missing, direction = {}, [], None
    for row in body:
        if row[0].strip():
            # 'I o T', '$I \to T$', '$T \to I$', 'T o I': the upper-case letters give the direction.
            direction = {"IT": "i2t", "TI": "t2i"}[re.sub(r"[^IT]", "", row[0])]
        name = strip_citation(row[1])
        for k, value in zip(bits, row[2:]):
            if value.strip() == "-":
                missing.append((name, direction, k))
            else:
                expected[(name, dataset, direction, k)] = float(value)
    return expected, missing


@pytest.mark.parametrize("table_id, caption, dataset, n_cells, n_missing", [
    ("cmhn-table1", "Table 1. mAP performance of different cross-modal hashing methods on the IAPRTC12 dataset.",
     "iapr", 8 * 2 * 4, 0),
    ("cmhn-table2", "Table 2. mAP performance of different cross-modal hashing methods on the NUS-WIDE dataset.",
     "nuswide-tc10", 8 * 2 * 4 - 2, 2),
])
def test_cmhn_tables_match_paper_text(tables, table_id, caption, dataset, n_cells, n_missing):
    expected, missing = parse_cmhn(paper_text("CMHN_Liong2017.txt"), caption, dataset)
    assert (len(expected), len(missing)) == (n_cells, n_missing)
    table = tables[table_id]
    assert f"{table.label}. {table.caption}" == caption
    assert score_cells(table, "direction") == expected
    for name, direction, k in missing:  # '-' in the paper: not a cell
        assert paper_value(table, name, dataset, k, direction=direction) is None


# --- DSPAH Table I, every cell -------------------------------------------------------------------------

def test_dspah_table_matches_paper_text(tables):
    caption = "TABLE I. Mean Average Percision (MAP) comparison results"
    header1, header2, header3, *body = tab_block(paper_text("DSPAH_Chen.txt"), caption, before=True)
    assert header2[0] == "Method"
    datasets = [DSPAH_DATASETS[d] for d in forward_fill(header1[1:])]
    directions = [DSPAH_DIRECTIONS[d] for d in forward_fill(header2[1:])]
    bits = [int(h.split()[0]) for h in header3[1:]]
    expected = {}
    for row in body:
        assert len(row) == 13, row
        for dataset, direction, k, value in zip(datasets, directions, bits, row[1:]):
            expected[(strip_citation(row[0]), dataset, direction, k)] = float(value)
    assert len(expected) == 9 * 2 * 2 * 3
    table = tables["dspah-table1"]
    assert f"{table.label.upper()}. {table.caption}" == caption
    assert score_cells(table, "direction") == expected


# --- literal anchors: exact strings of the paper text, its table and the JSON agree ---------------------

@pytest.mark.parametrize("source, table_id, printed_row, method, dataset, bits, axes, value", [
    ("SDCH_Yan2019_neurocomputing.txt", "sdch-table2", "| CM-NN   | 0.601", "CM-NN", "iapr", 64, {}, 0.465),
    ("SDCH_Yan2019_neurocomputing.txt", "sdch-table3", "<b>0.704</b> | <b>0.783</b> | <b>0.797</b>",
     "SDCH", "iapr", 64, {}, 0.797),
    ("CMHN_Liong2017.txt", "cmhn-table2", "\tDCMH [17]\t0.6791\t0.6829\t0.6906\t-", "DCMH", "nuswide-tc10", 64,
     {"direction": "t2i"}, 0.6906),
    ("CMHN_Liong2017.txt", "cmhn-table1", "\tCMHN (o)\t0.6716\t0.6615\t0.6677\t0.6490", "CMHN (o)", "iapr", 128,
     {"direction": "t2i"}, 0.6490),
    ("DSPAH_Chen.txt", "dspah-table1", "DAPSH\t0.7978", "DSPAH", "nuswide", 64, {"direction": "t2i"}, 0.6792),
    ("DSPAH_Chen.txt", "dspah-table1", "SCM[21]\t0.6354\t0.5618", "SCM", "mirflickr", 32, {"direction": "i2t"},
     0.5618),
])
def test_literal_cells(tables, source, table_id, printed_row, method, dataset, bits, axes, value):
    row = next(line for line in paper_text(source).splitlines() if printed_row in line)
    assert f"{value:.3f}" in row if source.startswith("SDCH") else f"{value:.4f}" in row
    assert paper_value(tables[table_id], method, dataset, bits, **axes) == value


# --- the loader ----------------------------------------------------------------------------------------

def test_loader_finds_every_table(tables):
    assert sorted(tables) == ["cmhn-table1", "cmhn-table2", "dspah-table1", "sdch-table2", "sdch-table3",
                              "sdch-table4"]
    assert tables["sdch-table2"].source_file == "SDCH_Yan2019_neurocomputing.txt"
    assert tables["cmhn-table1"].paper.startswith("Venice Erin Liong")


def test_paper_value_known_and_missing(tables):
    t2 = tables["sdch-table2"]
    assert paper_value(t2, "SDCH", "mirflickr", 32) == 0.866
    assert paper_value(t2, "SDCH", "mirflickr", 128) is None   # code length not in the paper
    assert paper_value(t2, "SDCH", "synthetic", 32) is None    # dataset not in the paper
    assert paper_value(t2, "RDCMH", "mirflickr", 32) is None   # method not in the table
    cmhn = tables["cmhn-table2"]
    assert paper_value(cmhn, "DCMH", "nuswide-tc10", 128, direction="i2t") is None  # printed '-'
    assert paper_value(cmhn, "CMHN", "nuswide-tc10", 16, direction="i2t") == 0.7893
    with pytest.raises(ValueError, match="direction"):
        paper_value(cmhn, "CMHN", "nuswide-tc10", 16)  # both directions match: ambiguous


def _write(tmp_path, name, doc) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _good_doc() -> dict:
    return {"paper": "P", "source_file": "p.txt", "notes": [],
            "tables": [{"id": "x-table1", "label": "Table 1", "caption": "c", "metric": "map_i2t", "top_k": 500,
                        "protocol": "p", "cells": [{"method": "M", "dataset": "iapr", "bits": 16, "value": 0.5}]}]}


def test_loader_reads_a_minimal_file(tmp_path):
    _write(tmp_path, "ok.json", _good_doc())
    table = load_paper_tables(tmp_path)["x-table1"]
    assert paper_value(table, "M", "iapr", 16) == 0.5
    assert (table.paper, table.top_k, len(table.cells)) == ("P", 500, 1)


def test_loader_names_file_table_and_missing_key(tmp_path):
    doc = _good_doc()
    del doc["tables"][0]["caption"]
    _write(tmp_path, "broken.json", doc)
    with pytest.raises(ValueError) as err:
        load_paper_tables(tmp_path)
    message = str(err.value)
    assert "broken.json" in message and "x-table1" in message and "'caption'" in message


def test_loader_rejects_non_numeric_value_and_missing_cell_key(tmp_path):
    doc = _good_doc()
    doc["tables"][0]["cells"][0]["value"] = "0.5"
    _write(tmp_path, "text_value.json", doc)
    with pytest.raises(ValueError, match=r"text_value\.json.*x-table1.*'value' must be a number"):
        load_paper_tables(tmp_path)

    doc = _good_doc()
    del doc["tables"][0]["cells"][0]["bits"]
    (tmp_path / "text_value.json").unlink()
    _write(tmp_path, "no_bits.json", doc)
    with pytest.raises(ValueError, match=r"no_bits\.json.*x-table1.*missing key 'bits'"):
        load_paper_tables(tmp_path)


def test_loader_rejects_duplicate_cells(tmp_path):
    doc = _good_doc()
    doc["tables"][0]["cells"].append({"method": "M", "dataset": "iapr", "bits": 16, "value": 0.6})
    _write(tmp_path, "dup.json", doc)
    with pytest.raises(ValueError, match=r"dup\.json.*duplicate cell"):
        load_paper_tables(tmp_path)
