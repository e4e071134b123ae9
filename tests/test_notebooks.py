"""Notebooks stay runnable: their code cells run in order (matplotlib without a screen), with the
cell tagged ``parameters`` overridden as papermill would, on the smoke preset / recorded results."""
import json
import pathlib

import matplotlib

REPO = pathlib.Path(__file__).parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def run_notebook(path: pathlib.Path, **parameters) -> dict:
    """Execute the notebook's code cells; returns their namespace."""
    matplotlib.use("Agg")
    namespace = {}
    cells = json.loads(path.read_text())["cells"]
    assert any("parameters" in c["metadata"].get("tags", ()) for c in cells), f"{path.name}: no parameters cell"
    for cell in cells:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), path.name, "exec"), namespace)
            if "parameters" in cell["metadata"].get("tags", ()):
                unknown = set(parameters) - set(namespace)
                assert not unknown, f"{path.name} has no parameter {unknown}"
                namespace.update(parameters)
    return namespace


def test_reproduce_sdch_trains_evaluates_and_shows_retrievals(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ns = run_notebook(REPO / "notebooks" / "reproduce_sdch.ipynb", PRESET="smoke", BITS=(16,))
    assert ns["config"].preset == "smoke"
    assert 0 < ns["runs"][0]["map_i2t"] <= 1
    assert list(tmp_path.glob("results/notebook/runs/*/result.json"))
    assert {pathlib.Path(p).name for p in ns["figure_files"]} == {"pr.png", "pr.pdf", "top_r.png", "top_r.pdf"}
    printed = capsys.readouterr().out
    assert "i2t query" in printed and "t2i query" in printed


def test_paper_figures_redraws_the_committed_result_set(tmp_path):
    ns = run_notebook(REPO / "notebooks" / "paper_figures.ipynb", RESULTS=str(REPO / "results" / "cpu-synthetic"),
                      PAPER=str(REPO / "results" / "paper"), OUT=str(tmp_path))
    names = {pathlib.Path(p).name for p in ns["written"]}
    assert {"table2.md", "table2.tex", "table3.md", "table4.md"} <= names
    assert {"fig4_precision_recall_32bits.png", "fig4_precision_recall_32bits.pdf",
            "fig5_precision_top_r_32bits.png"} <= names
    assert all(pathlib.Path(p).stat().st_size > 0 for p in ns["written"])


def test_every_notebook_is_tested():
    assert {p.name for p in NOTEBOOKS} == {"reproduce_sdch.ipynb", "paper_figures.ipynb"}
