"""Notebooks stay runnable: their code cells are executed in order (matplotlib without a screen)."""
import json
import pathlib

import matplotlib
import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)  # results go to a scratch directory
    namespace = {}
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), f"{path.name}", "exec"), namespace)
    assert namespace["runs"][0]["map_i2t"] > 0
    assert list(tmp_path.glob("results/notebook/runs/*/result.json"))


def test_there_is_a_notebook():
    assert NOTEBOOKS
