"""benchmarks/bench_memory.py's file writer and the loader on its files, at a tiny size (no training)."""
import importlib.util
from pathlib import Path

import h5py
import numpy as np

from sdch_tf.data import mat
from sdch_tf.data.datasets import load_dataset

ROOT = Path(__file__).resolve().parents[2]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_memory", ROOT / "benchmarks" / "bench_memory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_written_files_load_as_nuswide(tmp_path):
    bench = load_bench()
    directory = bench.data_dir(tmp_path, 300, 16)
    assert bench.write_nuswide(directory, 300, 16, seed=3, block=128)  # 3 blocks, the last one partial
    assert sorted(p.name for p in directory.iterdir()) == [
        "bench_memory.json", "nus-wide-tc21-iall.mat", "nus-wide-tc21-lall.mat", "nus-wide-tc21-yall.mat"]
    for file, key in bench.FILES.values():
        assert mat.mat_version(directory / file) == "v7.3"
        assert (directory / file).read_bytes().startswith(b"MATLAB 7.3 MAT-file")
    assert mat.list_variables(directory / "nus-wide-tc21-yall.mat") == {"YAll": ((300, 1000), "double")}
    with h5py.File(directory / "nus-wide-tc21-iall.mat", "r") as f:
        assert f["IAll"].shape == (300, 3, 16, 16) and f["IAll"].chunks is None  # DCMH layout, contiguous

    data = load_dataset("nuswide", directory)
    assert data.images.reader == "pread"
    assert data.images.shape == (300, 16, 16, 3)
    assert data.texts.dtype == np.float32 and data.texts.shape == (300, 1000)
    assert data.labels.dtype == np.uint8 and data.labels.shape == (300, 21)
    # Generated block by block: the file holds exactly the blocks, whatever the writing block size.
    labels, texts, images = bench.make_block(3, 128, 256, 16)
    np.testing.assert_array_equal(data.labels[128:256], labels)
    np.testing.assert_array_equal(data.texts[128:256], texts.astype(np.float32))
    np.testing.assert_array_equal(data.images.read(np.arange(128, 256)), images)
    assert data.labels.sum(axis=1).min() >= 1 and data.labels.sum(axis=1).max() <= 3
    assert data.texts.sum(axis=1).min() >= 1
    assert 5 < data.texts.sum(axis=1).mean() < 60  # a sparse bag of words
    # Texts follow labels: pairs sharing a concept share more words than pairs that share none.
    share = (data.labels @ data.labels.T) > 0
    overlap = data.texts @ data.texts.T
    assert overlap[share].mean() > 1.5 * overlap[~share].mean()
    data.images.close()

    assert not bench.write_nuswide(directory, 300, 16, seed=3)  # complete: reused
    (directory / "bench_memory.json").unlink()  # an interrupted write leaves no marker: rewritten
    assert bench.write_nuswide(directory, 300, 16, seed=3)
    assert not any(p.suffix == ".tmp" for p in directory.iterdir())


def test_split_sizes_follow_the_nuswide_protocol():
    bench = load_bench()
    assert bench.split_sizes(195834) == (2100, 10500)
    assert bench.split_sizes(10000) == (1000, 9000)
    assert bench.split_sizes(300) == (30, 270)


def test_throughput_child_runs_in_a_fresh_process(tmp_path):
    bench = load_bench()
    directory = bench.data_dir(tmp_path, 200, 16)
    bench.write_nuswide(directory, 200, 16)
    rates = bench.run_child("throughput", directory / "nus-wide-tc21-iall.mat", 0.05)
    assert set(rates) == {"pread x1", "pread x2", "h5py x1", "h5py x2"}
    assert all(rate > 0 for rate in rates.values())
