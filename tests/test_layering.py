"""The layout's rules, read from the import statements of every module (docs/layout.md):

- no import cycles;
- imports point one way: CLIs and figures → run → methods → framework (training, retrieval,
  nets, data, registry, configs) → utilities;
- nothing outside a method's package imports it (the registry finds methods by name, at run time);
- no method imports another method.
"""
import ast
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sdch_tf", "baselines")
METHOD_PACKAGES = ("sdch_tf.sdch", "baselines.")

# Rank of each part; a module may import modules of its own rank or lower.
UTILITIES, FRAMEWORK, METHODS, RUN, TOP = range(5)
RANKS = [  # (module prefix, rank); the longest matching prefix wins
    ("sdch_tf", UTILITIES),  # sdch_tf/__init__.py
    ("sdch_tf.atomic", UTILITIES), ("sdch_tf.input_errors", UTILITIES), ("sdch_tf.config_checks", UTILITIES),
    ("sdch_tf.cli", UTILITIES), ("sdch_tf.cache", UTILITIES), ("sdch_tf.machine", UTILITIES),
    ("sdch_tf.configs", FRAMEWORK), ("sdch_tf.registry", FRAMEWORK), ("sdch_tf.data", FRAMEWORK),
    ("sdch_tf.nets", FRAMEWORK), ("sdch_tf.training", FRAMEWORK), ("sdch_tf.retrieval", FRAMEWORK),
    ("sdch_tf.sdch", METHODS), ("baselines", METHODS),
    ("sdch_tf.run", RUN),
    ("sdch_tf.train", TOP), ("sdch_tf.reproduce", TOP), ("sdch_tf.sweep", TOP), ("sdch_tf.figures", TOP),
    ("sdch_tf.pretrain", TOP),
    ("sdch_tf.features", TOP),
    ("sdch_tf.prepare", TOP),
    ("sdch_tf.search", TOP),
]


def module_files() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


MODULES = module_files()


def imports_of(name: str, path: Path) -> set[str]:
    """The project modules ``name`` imports (module level and inside functions), resolved to
    submodules where ``from package import submodule`` names one."""
    found = set()
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", getattr(block.test, "attr", None)) == "TYPE_CHECKING"
                   for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in typing_only:  # annotations only, never imported at run time
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's package
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            for alias in node.names:
                found.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in MODULES else module)
    return {m for m in found if m in MODULES}


GRAPH = {name: imports_of(name, path) - {name} for name, path in MODULES.items()}


def rank(module: str) -> int:
    matches = [(len(prefix), r) for prefix, r in RANKS if module == prefix or module.startswith(prefix + ".")]
    assert matches, f"{module} has no layer in tests/test_layering.py RANKS"
    return max(matches)[1]


def method_of(module: str) -> str | None:
    if module == "sdch_tf.sdch" or module.startswith("sdch_tf.sdch."):
        return "sdch_tf.sdch"
    if module.startswith("baselines."):
        return ".".join(module.split(".")[:2])
    return None


def test_every_module_has_a_layer():
    for module in MODULES:
        rank(module)


def test_imports_point_one_way():
    upward = [f"{a} (layer {rank(a)}) imports {b} (layer {rank(b)})"
              for a, targets in GRAPH.items() for b in targets if rank(b) > rank(a)]
    assert not upward, "\n".join(upward)


def test_nothing_outside_a_method_imports_it_and_no_method_imports_another():
    wrong = [f"{a} imports {b}" for a, targets in GRAPH.items() for b in targets
             if method_of(b) is not None and method_of(a) != method_of(b)]
    assert not wrong, "\n".join(wrong)


def test_there_are_no_import_cycles():
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(GRAPH[node]):
            if state.get(target) == "open":
                cycles.append(" → ".join(stack[stack.index(target):] + [target]))
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("rule", ["cycle", "upward", "method"])
def test_the_checks_catch_what_they_look_for(rule, monkeypatch):
    """Each rule fails on a graph that breaks it (the tests above cannot pass vacuously)."""
    graph = {name: set(targets) for name, targets in GRAPH.items()}
    if rule == "cycle":
        graph["sdch_tf.atomic"].add("sdch_tf.training.checkpoint")  # checkpoint imports atomic
        monkeypatch.setitem(globals(), "GRAPH", graph)
        with pytest.raises(AssertionError, match="sdch_tf.atomic"):
            test_there_are_no_import_cycles()
    elif rule == "upward":
        graph["sdch_tf.data.split"].add("sdch_tf.run.results")
        monkeypatch.setitem(globals(), "GRAPH", graph)
        with pytest.raises(AssertionError, match="sdch_tf.data.split .* imports sdch_tf.run.results"):
            test_imports_point_one_way()
    else:
        graph["baselines.dcmh.model"].add("sdch_tf.sdch.losses")
        monkeypatch.setitem(globals(), "GRAPH", graph)
        with pytest.raises(AssertionError, match="baselines.dcmh.model imports sdch_tf.sdch.losses"):
            test_nothing_outside_a_method_imports_it_and_no_method_imports_another()


def test_no_absolute_path_of_a_machine_in_the_code():
    # This machine's places the project might be tempted to name: the checkout itself, the
    # ../shared folder beside it, and the home directory (a copy elsewhere, or a CI clone, has none
    # of them at the same path).
    markers = {os.path.join(str(place), "") for place in (ROOT, ROOT.parent / "shared", Path.home())
               if len(Path(place).parts) > 1}
    files = [*MODULES.values(), *sorted((ROOT / "tests").rglob("*.py")), *sorted((ROOT / "docs").rglob("*.md")),
             ROOT / "README.md"]
    bad = [f"{path.relative_to(ROOT)}: {marker}" for path in files for marker in sorted(markers)
           if marker in path.read_text(encoding="utf-8")]
    assert markers and not bad, "\n".join(bad)


def test_the_graph_is_the_real_one():
    # A few edges known to exist, so that a parsing mistake cannot empty the graph.
    assert "sdch_tf.training.checkpoint" in GRAPH["sdch_tf.training.fit"]
    assert "sdch_tf.registry" in GRAPH["sdch_tf.run.experiment"]
    assert "sdch_tf.sdch.model" in GRAPH["sdch_tf.sdch.trainer"]
    assert len(GRAPH) > 60 and os.path.exists(MODULES["sdch_tf.sdch"])


def test_the_figures_and_the_configs_never_load_tensorflow():
    # The figures print nothing of TensorFlow's start-up and cost no 5-second import (sdch_tf.cli).
    import subprocess
    import sys

    code = ("import sys, sdch_tf.figures.draw, sdch_tf.data.loading, sdch_tf.configs, sdch_tf.nets.configs, "
            "sdch_tf.run.sweeps, sdch_tf.train, sdch_tf.reproduce, sdch_tf.sweep; "
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
