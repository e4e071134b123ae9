"""A corrupt run file (result.json truncated, not JSON, not UTF-8, unreadable, missing keys) is an
InputError naming the file, what is wrong with it and what to do, never a traceback from deep inside."""
from __future__ import annotations

import errno
import json
import os

import matplotlib

matplotlib.use("Agg")

import pytest

from sdch_tf import atomic
from sdch_tf.run import results
from sdch_tf.figures import collect, draw, sensitivity
from sdch_tf.input_errors import InputError
from tests.figures.result_sets import full_run, write_run
from tests.figures.test_sensitivity import GAMMA_RUNS, write_sweep

HINT = "delete that run directory or rerun it with --fresh"


def truncated(path):
    with open(path, "rb") as f:
        whole = f.read()
    with open(path, "wb") as f:
        f.write(whole[:len(whole) // 2])


def rewrite(text: str | bytes):
    def corrupt(path):
        with open(path, "wb") as f:
            f.write(text.encode() if isinstance(text, str) else text)
    return corrupt


def edit(**changes):
    """Rewrite the run with keys changed; a value of ``None`` removes the key."""
    def corrupt(path):
        with open(path, encoding="utf-8") as f:
            run = json.load(f)
        for key, value in changes.items():
            if value is None:
                run.pop(key)
            else:
                run[key] = value
        with open(path, "w", encoding="utf-8") as f:
            json.dump(run, f)
    return corrupt


def a_directory(path):
    os.remove(path)
    os.mkdir(path)


# name → (corruption, what the message must say about the file)
CORRUPTIONS = {
    "truncated": (truncated, "not valid JSON"),
    "not JSON": (rewrite("this is not JSON\n"), "not valid JSON"),
    "empty": (rewrite(""), "not valid JSON"),
    "not UTF-8": (rewrite(b'{"method": "\xff\xfe"}'), "not UTF-8"),
    "a directory": (a_directory, "cannot be read"),
    "not an object": (rewrite("[1, 2, 3]\n"), "not a JSON object"),
    "missing keys": (edit(seed=None, map_i2t=None), "missing key(s) 'seed', 'map_i2t'"),
    "bits not an integer": (edit(bits="32 bits"), "'bits' must be an integer, got '32 bits'"),
    "map not a number": (edit(map_t2i="high"), "'map_t2i' must be a number, got 'high'"),
    "method not a string": (edit(method=7), "'method' must be a string, got 7"),
    "curves not an object": (edit(curves=[1]), "'curves' must be an object"),
}


def corrupt_set(root, corruption):
    """Two good runs and one corrupt; the corrupt one's path."""
    write_run(root, full_run("sdch", 32, 0))
    write_run(root, full_run("dcmh", 32, 0))
    bad = write_run(root, full_run("sdch", 32, 1))
    corruption(bad)
    return bad


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_a_corrupt_result_file_is_an_input_error_naming_it(tmp_path, name):
    corruption, says = CORRUPTIONS[name]
    bad = corrupt_set(tmp_path, corruption)
    with pytest.raises(InputError) as err:
        collect.load_cells(str(tmp_path))
    message = str(err.value)
    assert bad in message and says in message and HINT in message


@pytest.mark.parametrize("name", ["truncated", "missing keys"])
def test_the_figures_command_names_the_corrupt_file(tmp_path, capsys, name):
    corruption, says = CORRUPTIONS[name]
    bad = corrupt_set(tmp_path / "res", corruption)
    assert draw.main(["--results", str(tmp_path / "res"), "--paper", str(tmp_path / "nowhere")]) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and bad in lines[0] and says in lines[0]
    assert "Traceback" not in captured.err
    assert not (tmp_path / "res" / "tables").exists() and not (tmp_path / "res" / "figures").exists()


def test_a_corrupt_sweep_run_is_an_input_error_naming_it(tmp_path):
    write_sweep(str(tmp_path), "gamma", GAMMA_RUNS)
    bad = os.path.join(tmp_path, "sweeps", "gamma", "runs", GAMMA_RUNS[1]["run_id"], "result.json")
    truncated(bad)
    with pytest.raises(InputError, match="not valid JSON") as err:
        sensitivity.load_sweeps(str(tmp_path))
    assert bad in str(err.value) and HINT in str(err.value)
    edit(map_i2t=None)(bad.replace(GAMMA_RUNS[1]["run_id"], GAMMA_RUNS[0]["run_id"]))
    os.remove(bad)
    with pytest.raises(InputError, match=r"missing key\(s\) 'map_i2t'"):
        sensitivity.load_sweeps(str(tmp_path))


def test_read_json_names_the_file_and_keeps_file_not_found(tmp_path, monkeypatch):
    path = str(tmp_path / "result.json")
    with open(path, "w") as f:
        f.write('{"method": "sdch", ')
    with pytest.raises(InputError, match="not valid JSON") as err:
        results.read_json(path)
    assert path in str(err.value) and HINT in str(err.value)
    assert isinstance(err.value.__cause__, json.JSONDecodeError)
    with pytest.raises(InputError, match="not valid JSON"):
        results.read_result(str(tmp_path))         # a run whose result.json is corrupt is not "unfinished"
    os.makedirs(tmp_path / "set" / "runs" / "a")
    os.replace(path, tmp_path / "set" / "runs" / "a" / "result.json")
    with pytest.raises(InputError, match="not valid JSON") as err:
        results.read_results(str(tmp_path / "set"))
    assert str(tmp_path / "set" / "runs" / "a" / "result.json") in str(err.value)
    # A missing file stays a FileNotFoundError (read_result: None), which callers rely on.
    with pytest.raises(FileNotFoundError):
        results.read_json(str(tmp_path / "missing.json"))
    assert results.read_result(str(tmp_path / "nowhere")) is None
    assert results.read_results(str(tmp_path / "nowhere")) == []


def test_read_json_unreadable_file(tmp_path, monkeypatch):
    # As root, chmod 000 does not stop reading: the refusal is simulated.
    path = str(tmp_path / "result.json")

    def refuse(file, *args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), file)
    monkeypatch.setattr(atomic, "open", refuse, raising=False)  # where every run file is read
    with pytest.raises(InputError, match="cannot be read") as err:
        results.read_json(path)
    assert path in str(err.value) and "Permission denied" in str(err.value)
