"""SDCH Tables 2–4 as data and as text (sdch_tf/figures/tables.py, table_render.py), on hand-made runs.

Fixture (I→T mAP): SDCH 16 bits {0.5, 0.7} → 0.600 ± 0.100; SDCH 32 {0.8, 0.6} → 0.700 ± 0.100;
DCMH 16 {0.6, 0.6} → 0.600 ± 0.000 (ties SDCH: both bold); DCMH 32 {0.9} → one run, best.
"""
from __future__ import annotations

import json
import math
import os

import matplotlib

matplotlib.use("Agg")

import pytest

from sdch_tf.figures import collect, table_render, tables
from sdch_tf.figures.paper_numbers import PaperTable


def run(method, bits, seed, map_i2t, map_t2i=0.5, dataset="synthetic", preset="cpu", train_seconds=100.0,
        ms_image=1.0, ms_text=0.1, n_epochs=3, top_k=500):
    return {"method": method, "dataset": dataset, "preset": preset, "bits": bits, "seed": seed,
            "run_id": f"{method}-{dataset}-{preset}-{bits}bits-seed{seed}-0123abcd", "top_k": top_k,
            "map_i2t": map_i2t, "map_t2i": map_t2i, "epochs": [{"seconds": 1.0}] * n_epochs,
            "timing": {"train_seconds": train_seconds, "encode_ms_per_image": ms_image,
                       "encode_ms_per_text": ms_text, "device": "CPU: test"}}


RUNS = [run("sdch", 16, 0, 0.5), run("sdch", 16, 1, 0.7), run("sdch", 32, 0, 0.8), run("sdch", 32, 1, 0.6),
        run("dcmh", 16, 0, 0.6), run("dcmh", 16, 1, 0.6), run("dcmh", 32, 0, 0.9)]
SCORES = ({"method": "SDCH", "dataset": "synthetic", "bits": 16, "value": 0.813},
          {"method": "DCMH", "dataset": "synthetic", "bits": 32, "value": 0.804})


def paper_table(cells=SCORES, id="sdch-table2", label="Table 2", metric="map_i2t", top_k=500):
    return PaperTable(id=id, label=label, caption="c", metric=metric, top_k=top_k, protocol="p",
                      cells=tuple(cells), paper="P", source_file="p.txt")


def table2(runs=RUNS, paper=None, **kw):
    paper = paper_table() if paper is None else paper
    return tables.score_table(collect.group_cells(runs), "map_i2t", paper, name="table2",
                              title="Table 2: mAP@500, Image→Text", source="res", **kw)


def test_score_table_data():
    t = table2()
    assert t.stub == ("Method",) and t.groups == (("Synthetic", 2),) and t.columns == ("16 bits", "32 bits")
    assert [r.labels for r in t.rows] == [("DCMH",), ("SDCH",)]  # style.METHOD_ORDER: SDCH last
    (d16, d32), (s16, s32) = (r.entries for r in t.rows)
    assert (s16.mean, s16.std, s16.n, s16.paper) == (pytest.approx(0.6), pytest.approx(0.1), 2, 0.813)
    assert (s32.mean, s32.std, s32.n, s32.paper) == (pytest.approx(0.7), pytest.approx(0.1), 2, None)
    assert (d16.mean, d16.std, d16.n, d16.paper) == (pytest.approx(0.6), 0.0, 2, None)
    assert (d32.mean, d32.std, d32.n, d32.paper) == (0.9, None, 1, 0.804)  # one run: no std
    assert [e.best for e in (d16, d32, s16, s32)] == [True, True, True, False]  # 0.600 tie: both bold
    assert [e.mark_n for e in (d16, d32, s16, s32)] == [False, True, False, False]  # usual n is 2
    assert all(e.paper_shown for e in (d16, d32, s16, s32))


def test_score_table_paper_datasets_bits_and_no_run():
    cells = SCORES + ({"method": "SDCH", "dataset": "nuswide", "bits": 16, "value": 0.8},
                      {"method": "SDCH", "dataset": "synthetic", "bits": 64, "value": 0.85})
    t = table2(paper=paper_table(cells))
    # NUS-WIDE comes first (SDCH's column order); 64 bits joins from the paper: union of code lengths.
    assert t.groups == (("NUS-WIDE", 1), ("Synthetic", 3))
    assert t.columns == ("16 bits", "16 bits", "32 bits", "64 bits")
    dcmh, sdch = (r.entries for r in t.rows)
    assert (sdch[0].mean, sdch[0].paper, sdch[0].best) == (None, 0.8, False)
    assert (dcmh[0].mean, dcmh[0].paper, dcmh[0].paper_shown) == (None, None, True)
    assert (sdch[3].mean, sdch[3].paper) == (None, 0.85)
    assert "no run (0.800)" in table_render.markdown(t)
    t = table2(paper=paper_table(cells), paper_datasets=False)
    assert t.groups == (("Synthetic", 3),)


def test_score_table_paper_rows_and_other_methods():
    paper = paper_table(SCORES + ({"method": "IMH", "dataset": "synthetic", "bits": 16, "value": 0.95},))
    t = table2(RUNS + [run("zzz", 16, 0, 0.1)], paper=paper, paper_rows=True)
    assert [r.labels[0] for r in t.rows] == ["IMH", "DCMH", "SDCH", "ZZZ"]  # unknown methods last
    imh = t.rows[0].entries
    assert (imh[0].mean, imh[0].paper, imh[0].best) == (None, 0.95, False)  # the paper's best is never bold
    assert t.rows[2].entries[0].best and t.rows[3].entries[1].mean is None
    assert [r.labels[0] for r in table2(paper=paper).rows] == ["DCMH", "SDCH"]  # paper rows are opt-in
    nus = paper_table([{**c, "dataset": "nuswide"} for c in paper.cells])
    rows = table2(paper=nus, paper_rows=True, paper_datasets=False).rows  # no paper column: no paper row
    assert [r.labels[0] for r in rows] == ["DCMH", "SDCH"]


def test_score_table_without_paper_and_top_k_caution():
    t = tables.score_table(collect.group_cells(RUNS), "map_t2i", None, source="res")
    assert not any(e.paper_shown for r in t.rows for e in r.entries)
    assert t.rows[0].entries[0].mean == 0.5 and "No paper values loaded." in t.notes
    assert "| DCMH | **0.500 ± 0.000** |" in table_render.markdown(t)
    t = table2([run("sdch", 16, 0, 0.5, top_k=100)])
    assert t.notes[-1] == "Caution: ours are mAP@100, the paper's mAP@500."
    assert t.notes[0] == "Ours: one run (seed) per cell, so no ±."


MARKDOWN = """\
**Table 2: mAP@500, Image→Text**

| Method | Synthetic 16 bits | Synthetic 32 bits |
| :--- | ---: | ---: |
| DCMH | **0.600 ± 0.000** (—) | **0.900**<sup>n=1</sup> (0.804) |
| SDCH | **0.600 ± 0.100** (0.813) | 0.700 ± 0.100 (—) |

- Ours: mean ± population std over 2 runs (seeds) per cell; n=k marks a cell of k runs instead \
(mean ± population std when k > 1).
- In parentheses: the paper's value (SDCH Table 2); — where the paper does not report it.
- Bold: best of ours per column (printed ties all bold); the paper's own best is not bolded.
- †: the best mean is above every other method's in its column by a paired t-test over the seeds both \
ran (two-sided, p < 0.05); without † the lead is within the seed-to-seed spread.
- Results: res; preset(s): cpu; device(s): CPU: test; 7 runs.
"""

CAPTION = (r"Table 2: mAP@500, Image$\to$Text. Ours: mean $\pm$ population std over 2 runs (seeds) per cell; "
           r"n=k marks a cell of k runs instead (mean $\pm$ population std when k $>$ 1). In parentheses: the "
           r"paper's value (SDCH Table 2); --- where the paper does not report it. Bold: best of ours per column "
           r"(printed ties all bold); the paper's own best is not bolded. \textsuperscript{\dag}: the best mean is "
           r"above every other method's in its column by a paired t-test over the seeds both ran (two-sided, "
           r"p $<$ 0.05); without \textsuperscript{\dag} the lead is within the seed-to-seed spread. "
           r"Results: res; preset(s): cpu; "
           r"device(s): CPU: test; 7 runs.")
LATEX = r"""\begin{table}[t]
  \centering
  \caption{CAPTION}
  \label{tab:table2}
  \begin{tabular}{lrr}
    \toprule
     & \multicolumn{2}{c}{Synthetic} \\
    \cmidrule(lr){2-3}
    Method & 16 bits & 32 bits \\
    \midrule
    DCMH & \textbf{0.600 $\pm$ 0.000} (---) & \textbf{0.900}$^{n=1}$ (0.804) \\
    SDCH & \textbf{0.600 $\pm$ 0.100} (0.813) & 0.700 $\pm$ 0.100 (---) \\
    \bottomrule
  \end{tabular}
\end{table}
""".replace("CAPTION", CAPTION)


def test_markdown_2x2():
    assert table_render.markdown(table2()) == MARKDOWN


def test_latex_2x2():
    assert table_render.latex(table2()) == LATEX


def test_plain_2x2_is_aligned():
    text = table_render.plain(table2())
    lines = text.splitlines()
    assert lines[0] == "Table 2: mAP@500, Image→Text" and lines[2].strip() == "Synthetic"
    grid = lines[3:7]  # header, rule, DCMH, SDCH
    assert grid[2] == "DCMH        *0.600 ± 0.000* (—)  *0.900* [n=1] (0.804)"
    assert grid[3] == "SDCH    *0.600 ± 0.100* (0.813)      0.700 ± 0.100 (—)"
    assert len({len(line) for line in grid}) == 1 and set(grid[1]) == {"-"}
    assert lines[-1] == "Results: res; preset(s): cpu; device(s): CPU: test; 7 runs."


def test_latex_escape():
    assert table_render.latex_escape("A_B & 50% {x} → §4 ± —") == r"A\_B \& 50\% \{x\} $\to$ \S{}4 $\pm$ ---"


TIMING_RUNS = [run("sdch", 16, 0, 0.5, train_seconds=100.0, ms_image=1.0, ms_text=0.1),
               run("sdch", 16, 1, 0.5, train_seconds=120.0, ms_image=2.0, ms_text=0.1),
               run("sdch", 32, 0, 0.5, train_seconds=140.0, ms_image=3.0, ms_text=0.4),
               run("dcmh", 16, 0, 0.5, train_seconds=50.0, n_epochs=4)]
TIMING_PAPER = ({"dataset": "nuswide", "epochs": 50, "train_seconds": 11551, "hash_ms_image": 3,
                 "hash_ms_text": 1, "device": "GPU X"},
                {"dataset": "synthetic", "epochs": 50, "train_seconds": 1000, "hash_ms_image": 3,
                 "hash_ms_text": 1, "device": "GPU X"})


def table4(runs=TIMING_RUNS, **kw):
    paper = paper_table(TIMING_PAPER, id="sdch-table4", label="Table 4", metric="timing", top_k=None)
    return tables.timing_table(collect.group_cells(runs), paper, title="Table 4: running time", source="res", **kw)


def test_timing_table_data():
    t = table4()
    assert [r.labels for r in t.rows] == [("SDCH", "NUS-WIDE", "—", "0"), ("SDCH", "Synthetic", "16, 32", "3"),
                                          ("DCMH", "Synthetic", "16", "1")]
    epochs, train, image, text, device = t.rows[1].entries
    assert (epochs.mean, epochs.std, epochs.paper) == (3.0, None, 50)
    assert (train.mean, train.std, train.n, train.paper) == (120.0, pytest.approx(math.sqrt(800 / 3)), 3, 1000)
    assert (image.mean, image.std, image.paper) == (2.0, pytest.approx(math.sqrt(2 / 3)), 3)
    assert (text.mean, text.std, text.paper) == (pytest.approx(0.2), pytest.approx(math.sqrt(0.06 / 3)), 1)
    assert (device.text, device.paper) == ("CPU: test", "GPU X")
    assert not any(e.paper_shown for e in t.rows[2].entries)  # the paper times SDCH only
    assert [r.labels[1] for r in table4(paper_datasets=False).rows] == ["Synthetic", "Synthetic"]


def test_timing_table_markdown_rows():
    md = table_render.markdown(table4()).splitlines()
    assert md[2] == ("| Method | Dataset | Bits | Runs | Epochs | Training time (s) | Hash time / image (ms) | "
                     "Hash time / text (ms) | Device |")
    assert md[4] == "| SDCH | NUS-WIDE | — | 0 | — (50) | — (11551) | — (3) | — (1) | — (GPU X) |"
    assert md[5] == ("| SDCH | Synthetic | 16, 32 | 3 | 3 (50) | 120 ± 16 (1000) | 2.000 ± 0.816 (3) | "
                     "0.200 ± 0.141 (1) | CPU: test (GPU X) |")
    assert md[6] == "| DCMH | Synthetic | 16 | 1 | 4 | 50 | 1.000 | 0.100 | CPU: test |"


def test_timing_table_unequal_epochs():
    t = table4([run("dcmh", 16, 0, 0.5, n_epochs=3), run("dcmh", 16, 1, 0.5, n_epochs=5)], paper_datasets=False)
    assert "| 4.0 ± 1.0 |" in table_render.markdown(t)


def write_result_set(root, runs):
    for r in runs:
        os.makedirs(root / "runs" / r["run_id"])
        (root / "runs" / r["run_id"] / "result.json").write_text(json.dumps(r))


def write_paper(directory):
    score3 = [{**c, "value": c["value"] - 0.1} for c in SCORES]
    doc = {"paper": "P", "source_file": "p.txt", "notes": "",
           "tables": [{"id": i, "label": label, "caption": "c", "metric": m, "top_k": k, "protocol": "p",
                       "cells": list(cells)}
                      for i, label, m, k, cells in (("sdch-table2", "Table 2", "map_i2t", 500, SCORES),
                                                    ("sdch-table3", "Table 3", "map_t2i", 500, score3),
                                                    ("sdch-table4", "Table 4", "timing", None, TIMING_PAPER))]}
    directory.mkdir()
    (directory / "sdch.json").write_text(json.dumps(doc))


def test_cli_end_to_end(tmp_path, capsys):
    write_result_set(tmp_path / "res", RUNS)
    write_paper(tmp_path / "paper")
    args = ["--results", str(tmp_path / "res"), "--paper", str(tmp_path / "paper")]
    assert tables.main(args + ["--out", str(tmp_path / "out")]) == 0
    names = sorted(os.listdir(tmp_path / "out"))  # no temporary file left behind
    assert names == ["table2.md", "table2.tex", "table3.md", "table3.tex", "table4.md", "table4.tex"]
    md2 = (tmp_path / "out" / "table2.md").read_text()
    assert "| SDCH | **0.600 ± 0.100** (0.813) | 0.700 ± 0.100 (—) |" in md2
    md3 = (tmp_path / "out" / "table3.md").read_text()
    assert "| DCMH | **0.500 ± 0.000** (—) | **0.500**<sup>n=1</sup> (0.704) |" in md3
    assert r"\label{tab:table4}" in (tmp_path / "out" / "table4.tex").read_text()
    out = capsys.readouterr().out
    assert "Table 2 (SDCH §4.3): mAP@500, Image→Text" in out and "Table 4 (SDCH §4.3): running time" in out
    # The driver's entry point, with the default out dir <results>/tables.
    written = tables.write_tables(str(tmp_path / "res"), str(tmp_path / "paper"), preset="cpu")
    assert written == [str(tmp_path / "res" / "tables" / f"table{i}.{ext}") for i in (2, 3, 4) for ext in ("md", "tex")]


def test_cli_no_runs_exit_2(tmp_path, capsys):
    write_paper(tmp_path / "paper")
    assert tables.main(["--results", str(tmp_path / "missing"), "--paper", str(tmp_path / "paper")]) == 2
    (tmp_path / "empty" / "runs").mkdir(parents=True)
    assert tables.main(["--results", str(tmp_path / "empty"), "--paper", str(tmp_path / "paper")]) == 2
    write_result_set(tmp_path / "res", RUNS)
    assert tables.main(["--results", str(tmp_path / "res"), "--paper", str(tmp_path / "paper"),
                        "--preset", "gpu"]) == 2
    err = capsys.readouterr().err
    assert "no result set at" in err and "no runs in" in err and "no runs of preset 'gpu'" in err
    assert not (tmp_path / "res" / "tables").exists()


# ---- seeds and significance ---------------------------------------------------------------------

def five_seeds(method, values, bits=16, key="map_i2t"):
    return [{**run(method, bits, seed, value), key: value} for seed, value in enumerate(values)]


def test_paired_lead_is_a_paired_t_test_over_common_seeds():
    # Differences per seed 0.02, 0.03, 0.01, 0.02, 0.02: mean 0.02, sample std 0.00707, t = 6.32 on 4 degrees
    # of freedom, two-sided p = 0.0032 → significant. A difference of the same mean with a spread of
    # ±0.05 per seed (0.07, −0.03, 0.07, −0.03, 0.02) is not: t = 0.894, p = 0.42.
    best = collect.Cell("sdch", "synthetic", 16, tuple(five_seeds("sdch", [0.62, 0.63, 0.61, 0.62, 0.62])))
    close = collect.Cell("dcmh", "synthetic", 16, tuple(five_seeds("dcmh", [0.60] * 5)))
    noisy = collect.Cell("dcmh", "synthetic", 16,
                         tuple(five_seeds("dcmh", [0.55, 0.66, 0.54, 0.65, 0.60])))
    assert tables.paired_lead(best, [close], "map_i2t")
    assert not tables.paired_lead(best, [noisy], "map_i2t")
    assert not tables.paired_lead(best, [close, noisy], "map_i2t")  # ahead of every other, or not marked
    # Pairs by seed, not by position: seeds 0 and 1 only in common → two pairs.
    one_seed = collect.Cell("dcmh", "synthetic", 16, tuple(five_seeds("dcmh", [0.5]))[:1])
    assert not tables.paired_lead(best, [one_seed], "map_i2t")  # fewer than two common seeds


def test_the_best_of_a_column_is_marked_only_when_the_paired_test_says_so():
    runs = five_seeds("sdch", [0.62, 0.63, 0.61, 0.62, 0.62]) + five_seeds("dcmh", [0.60] * 5) + \
        five_seeds("sdch", [0.62] * 5, bits=32) + five_seeds("dcmh", [0.55, 0.66, 0.54, 0.65, 0.60], bits=32)
    t = table2(runs)
    (d16, d32), (s16, s32) = (r.entries for r in t.rows)
    assert (s16.best, s16.significant) == (True, True) and not d16.significant
    assert (s32.best, s32.significant) == (True, False)
    assert "**0.620 ± 0.006**†" in table_render.markdown(t)
    assert r"\textbf{0.620 $\pm$ 0.006}\textsuperscript{\dag}" in table_render.latex(t)


def test_top_k_all_shows_the_whole_database_map_and_k_must_be_what_was_recorded():
    runs = [{**r, "map_all_i2t": r["map_i2t"] / 2, "map_all_t2i": 0.25} for r in RUNS]
    cells = collect.group_cells(runs)
    assert tables.metric_keys(cells, "all") == (("map_all_i2t", "map_all_t2i"), "MAP")
    assert tables.metric_keys(cells, None) == (("map_i2t", "map_t2i"), "mAP@500")
    assert tables.metric_keys(cells, 500)[1] == "mAP@500"
    with pytest.raises(tables.InputError, match=r"holds mAP@500, not mAP@100: rerun its train command with --top-k 100"):
        tables.metric_keys(cells, 100)
    with pytest.raises(tables.InputError, match="no whole-database MAP"):
        tables.metric_keys(collect.group_cells(RUNS), "all")
    table = tables.tables_from_cells(cells, None, "res", top_k="all")[0]
    assert table.title.startswith("Table 2 (SDCH §4.3): MAP, ")
    sdch16 = table.rows[1].entries[0]
    assert sdch16.mean == pytest.approx(0.3)  # (0.5 + 0.7) / 2 / 2


def test_tables_cli_top_k_all(tmp_path, capsys):
    for r in RUNS:
        path = tmp_path / "set" / "runs" / r["run_id"]
        path.mkdir(parents=True)
        (path / "result.json").write_text(json.dumps({**r, "map_all_i2t": 0.125, "map_all_t2i": 0.25}))
    assert tables.main(["--results", str(tmp_path / "set"), "--paper", "none-such", "--top-k", "all"]) == 2
    assert "no paper numbers" in capsys.readouterr().err
    paper = os.path.join(os.path.dirname(__file__), "..", "..", "results", "paper")
    assert tables.main(["--results", str(tmp_path / "set"), "--paper", paper, "--top-k", "all",
                        "--out", str(tmp_path / "out")]) == 0
    assert "MAP, Image→Text" in (tmp_path / "out" / "table2.md").read_text()
