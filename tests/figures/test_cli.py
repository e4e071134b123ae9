"""The figures' command lines end bad input, an interruption or a failing file system as one line on
stderr and an exit status, never a traceback: InputError and OSError → ``error: ...``, 2;
KeyboardInterrupt → ``interrupted``, 130. A bug (any other exception) keeps its traceback."""
from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest

from sdch_tf.run import results
from sdch_tf.figures import curves, draw, retrievals, sensitivity, tables
from tests.figures.result_sets import fake_experiment, snapshot, write_result_set
from tests.figures.test_corrupt_runs import truncated
from tests.figures.test_sensitivity import GAMMA_RUNS

PAPER = str(Path(__file__).resolve().parents[2] / "results" / "paper")

# name → (main, extra arguments)
CLIS = {
    "all": (draw.main, ["--paper", PAPER]),
    "tables": (tables.main, ["--paper", PAPER]),
    "curves": (curves.main, []),
    "sensitivity": (sensitivity.main, []),
    "retrievals": (retrievals.main, []),
}


def only_line(err: str) -> str:
    """The one non-blank line of ``err``."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def result_set(tmp_path, monkeypatch):
    fake_experiment(monkeypatch)
    root = tmp_path / "res"
    paths = write_result_set(root)
    return root, paths


@pytest.mark.parametrize("name", CLIS)
def test_a_corrupt_run_file_is_one_error_line_and_status_2(result_set, capsys, name):
    main, extra = CLIS[name]
    root, paths = result_set
    bad = (os.path.join(root, "sweeps", "gamma", "runs", GAMMA_RUNS[0]["run_id"], "result.json")
           if name == "sensitivity" else paths[1])
    truncated(bad)
    before = snapshot(root)
    assert main(["--results", str(root), *extra]) == 2
    line = only_line(capsys.readouterr().err)
    assert line.startswith("error: ") and bad in line and "not valid JSON" in line
    assert snapshot(root) == before


@pytest.mark.parametrize("name", CLIS)
def test_an_interruption_is_interrupted_and_status_130(result_set, capsys, monkeypatch, name):
    main, extra = CLIS[name]
    root, _ = result_set

    def interrupt(path):
        raise KeyboardInterrupt
    monkeypatch.setattr(results, "read_json", interrupt)
    before = snapshot(root)
    assert main(["--results", str(root), *extra]) == 130
    assert only_line(capsys.readouterr().err).startswith("interrupted")
    assert snapshot(root) == before


@pytest.mark.parametrize("name", CLIS)
def test_an_output_directory_that_cannot_be_made_is_one_error_line(result_set, tmp_path, capsys, name):
    main, extra = CLIS[name]
    root, _ = result_set
    out = tmp_path / "a-file"
    out.write_text("not a directory\n")
    assert main(["--results", str(root), "--out", str(out), *extra]) == 2
    line = only_line(capsys.readouterr().err)
    assert re.fullmatch(rf"error: (File exists|Not a directory): {re.escape(str(out))}", line), line
    assert out.read_text() == "not a directory\n"


@pytest.mark.parametrize("name", CLIS)
def test_a_full_disk_is_one_error_line(result_set, capsys, monkeypatch, name):
    main, extra = CLIS[name]
    root, _ = result_set

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "fsync", full)
    before = snapshot(root)
    assert main(["--results", str(root), *extra]) == 2
    assert only_line(capsys.readouterr().err).startswith(f"error: {os.strerror(errno.ENOSPC)}")
    assert snapshot(root) == before


def test_a_missing_result_set_is_one_error_line(tmp_path, capsys):
    for main, extra in (CLIS["all"], CLIS["tables"], CLIS["curves"], CLIS["retrievals"]):
        assert main(["--results", str(tmp_path / "missing"), *extra]) == 2
        line = only_line(capsys.readouterr().err)
        assert line.startswith("error: ") and str(tmp_path / "missing") in line


def test_a_bad_paper_file_is_one_error_line(result_set, tmp_path, capsys):
    root, _ = result_set
    paper = tmp_path / "paper"
    paper.mkdir()
    (paper / "sdch.json").write_text('{"paper": "P", "tables": [')
    for main in (draw.main, tables.main):
        assert main(["--results", str(root), "--paper", str(paper)]) == 2
        line = only_line(capsys.readouterr().err)
        assert line.startswith("error: ") and str(paper / "sdch.json") in line and "not valid JSON" in line


def test_a_query_position_not_recorded_is_one_error_line(result_set, capsys):
    root, _ = result_set
    assert retrievals.main(["--results", str(root), "--queries", "9"]) == 2
    line = only_line(capsys.readouterr().err)
    assert line.startswith("error: ") and "query position 9 not recorded" in line
