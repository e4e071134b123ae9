import dataclasses
import json

import pytest

from sdch_tf.run import results
from sdch_tf.sdch import config
from sdch_tf.atomic import atomic_write_json


def test_run_id_depends_on_config_but_not_on_the_list_of_bits():
    a = config.preset("smoke")
    b = dataclasses.replace(a, bits=(16, 32, 64))
    c = dataclasses.replace(a, gamma=0.1)
    assert results.run_id(a, 16, 0) == results.run_id(b, 16, 0)
    assert results.run_id(a, 16, 0) != results.run_id(c, 16, 0)
    assert results.run_id(a, 16, 0) != results.run_id(a, 32, 0) != results.run_id(a, 16, 1)
    assert results.run_id(a, 16, 0).startswith("sdch-synthetic-smoke-16bits-seed0-")


def test_atomic_json_writes_nan_as_null_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "r.json"
    atomic_write_json(path, {"p": [0.5, float("nan")], "x": float("inf")})
    assert json.loads(path.read_text()) == {"p": [0.5, None], "x": None}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "r.json"
    atomic_write_json(path, {"a": 1})
    with pytest.raises(TypeError):
        atomic_write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_read_results_finds_every_run(tmp_path):
    for name in ("a", "b"):
        results.write_result(str(tmp_path / "runs" / name), {"run": name})
    assert [r["run"] for r in results.read_results(str(tmp_path))] == ["a", "b"]


def test_atomic_writes_get_the_permissions_of_a_plain_open(tmp_path):
    import os
    import stat

    from sdch_tf.atomic import atomic_write_text

    mask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
    assert (tmp_path / "a.txt").read_text() == "x"
