"""Sharded indexing (``search index --shards N [--shard I]``): parts encoded by separate processes
merge into the index a one-process encoding writes, part by part resumable."""
import os
import subprocess
import sys

import numpy as np
import pytest

from sdch_tf import train
from sdch_tf.search import __main__ as search
from sdch_tf.search import index

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    assert train.main(["--preset", "smoke", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    (directory,) = out.glob("runs/*")
    return str(directory)


@pytest.fixture(scope="module")
def one_process(run_dir, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("whole") / "index")
    assert search.main(["index", "--run", run_dir, "--encode", "--out", out, "--quiet"]) == 0
    return index.load_index(out)


def assert_same_index(a, b):
    for modality in index.MODALITIES:
        for field in ("codes", "rows", "file_rows"):
            np.testing.assert_array_equal(getattr(a.databases[modality], field), getattr(b.databases[modality], field))


def test_part_bounds_cover_the_database_in_order():
    assert [(s.start, s.stop) for s in index.part_bounds(10, 3)] == [(0, 4), (4, 7), (7, 10)]
    assert [(s.start, s.stop) for s in index.part_bounds(2, 3)] == [(0, 1), (1, 2), (2, 2)]


def test_parts_encoded_by_two_processes_merge_into_the_one_process_index(run_dir, one_process, tmp_path):
    out = str(tmp_path / "index")
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    procs = [subprocess.Popen([sys.executable, "-m", "sdch_tf.search", "index", "--run", run_dir, "--encode",
                               "--shards", "2", "--shard", str(i), "--out", out, "--quiet"],
                              cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (stdout, stderr) in zip(procs, outputs):
        assert p.returncode == 0, stderr[-2000:]
    assert sum("Merged 2 parts" in stdout for stdout, _ in outputs) == 1  # whichever finished last merged
    merged = index.load_index(out)
    assert [len(e["shards"]) for e in merged.manifest["modalities"].values()] == [2, 2]
    assert_same_index(merged, one_process)
    assert not os.path.exists(index.parts_dir(out))


def test_one_process_resumes_the_missing_parts(run_dir, one_process, tmp_path, capsys, monkeypatch):
    out = str(tmp_path / "index")
    assert search.main(["index", "--run", run_dir, "--encode", "--shards", "3", "--shard", "1", "--out", out]) == 0
    assert "1 of 3 parts written" in capsys.readouterr().out and not os.path.exists(os.path.join(out, index.MANIFEST))

    written = []
    real = index.write_part

    def interrupted(parts, shard, databases):
        if written:
            raise KeyboardInterrupt
        written.append(shard)
        real(parts, shard, databases)

    monkeypatch.setattr(index, "write_part", interrupted)
    assert search.main(["index", "--run", run_dir, "--encode", "--shards", "3", "--out", out]) == 130
    assert written == [0]
    monkeypatch.setattr(index, "write_part", real)
    capsys.readouterr()
    assert search.main(["index", "--run", run_dir, "--encode", "--shards", "3", "--out", out]) == 0
    printed = capsys.readouterr().out
    assert "Part 0 of 3 is already written" in printed and "Part 1 of 3 is already written" in printed
    assert "Wrote part 2 of 3" in printed and "Merged 3 parts" in printed
    assert_same_index(index.load_index(out), one_process)
    assert search.main(["index", "--run", run_dir, "--encode", "--shards", "3", "--out", out]) == 0
    assert "is complete" in capsys.readouterr().out


def test_parts_of_other_options_are_refused(run_dir, tmp_path, capsys):
    out = str(tmp_path / "index")
    assert search.main(["index", "--run", run_dir, "--encode", "--shards", "2", "--shard", "0", "--out", out]) == 0
    assert search.main(["index", "--run", run_dir, "--encode", "--shards", "3", "--shard", "0", "--out", out]) == 2
    assert "holds the parts of another sharded index (shards 2 there, 3 now)" in capsys.readouterr().err
    assert search.main(["index", "--run", run_dir, "--shards", "2", "--shard", "5", "--out", out]) == 2
    assert "--shard 5 needs --shards N with 0 <= I < N" in capsys.readouterr().err


def test_a_faiss_scan_answers_as_the_exact_scan_from_the_command_line(run_dir, capsys):
    pytest.importorskip("faiss")
    import json

    answers = {}
    for scan in ("numpy", "faiss-flat", "faiss-ivf"):
        capsys.readouterr()
        extra = ["--nprobe", "1000"] if scan == "faiss-ivf" else []
        assert search.main(["query", "--run", run_dir, "--item", "3", "--k", "20", "--json", "--quiet",
                            "--scan", scan, *extra]) == 0
        (answer,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        answers[scan] = [(hit["row"], hit["distance"]) for hit in answer["results"]]
    assert answers["faiss-flat"] == answers["numpy"]  # exact, ties in database order
    # Every list visited: the exact distances, though FAISS may pick other items among the ties at the last one.
    assert [d for _, d in answers["faiss-ivf"]] == [d for _, d in answers["numpy"]]
    assert search.main(["query", "--run", run_dir, "--item", "3", "--nprobe", "4"]) == 2
    assert "--nprobe 4 applies to --scan faiss-ivf only" in capsys.readouterr().err
