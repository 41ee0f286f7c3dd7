"""The package's layers form a stack: no import cycle between its packages or modules
(function-local imports included, which hide cycles from Python), and no private Kedro
attribute in ``src/``."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "msd_tagging"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports anywhere in its body (the longest known prefix)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith(PACKAGE):
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def _layer(module: str) -> str:
    """The package a module belongs to: ``msd_tagging.audio.store`` -> ``audio``; a
    top-level module is its own (``msd_tagging.params`` -> ``params``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph``, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _without_package_inits(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Package ``__init__`` modules re-export their submodules: those edges are not layers."""
    return {module: {t for t in targets if not t.startswith(module + ".")} for module, targets in graph.items()}


def test_no_import_cycle_between_modules():
    cycle = _cycle(_without_package_inits(_graph()))
    assert cycle is None, " -> ".join(cycle or [])


def test_no_import_cycle_between_packages():
    layers: dict[str, set[str]] = {}
    for module, targets in _without_package_inits(_graph()).items():
        here = _layer(module)
        layers.setdefault(here, set()).update(_layer(t) for t in targets if _layer(t) != here)
    cycle = _cycle(layers)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


# Attributes with a leading underscore that are public API of their packages.
PUBLIC_UNDERSCORE = {"_exit", "_replace", "_asdict", "_fields", "_make", "_field_defaults"}


def private_uses(trees: dict) -> list[str]:
    """Every ``._name`` on another package's object, and ``from pkg import _name``: a name
    our code never defines, or one a class reaches through ``self`` that its own
    ``__init__`` does not set while it subclasses another package's class."""
    ours = {n.name for t in trees.values() for n in ast.walk(t) if isinstance(n, ast.ClassDef)}
    defined = set()
    for tree in trees.values():
        classes = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
        in_class = {id(f) for c in classes for f in c.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                defined.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) or isinstance(node, ast.arg):
                defined.add(getattr(node, "id", None) or node.arg)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                defined.add(node.target.id)
        for cls in classes:
            foreign = any(not (isinstance(b, ast.Name) and (b.id in ours or b.id == "object")) for b in cls.bases)
            for f in cls.body:  # a subclass of another package's class owns what its __init__ sets, no more
                if isinstance(f, ast.FunctionDef) and (f.name == "__init__" or not foreign):
                    defined |= {
                        n.attr for n in ast.walk(f) if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store)
                    }
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and id(node) not in in_class:
                defined |= {
                    n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store)
                }
    used = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                if node.attr not in defined and node.attr not in PUBLIC_UNDERSCORE:
                    used.append(f"{path}:{node.lineno} .{node.attr}")
            elif isinstance(node, ast.ImportFrom) and node.module and not node.module.startswith(PACKAGE):
                used += [f"{path}:{node.lineno} import {a.name}" for a in node.names if a.name.startswith("_")]
    return used


def test_no_private_attribute_of_another_package_is_used_in_src():
    """A rule, not a list of past offenders: no ``._name`` of another package's object."""
    trees = {path.relative_to(SRC): ast.parse(path.read_text()) for path in sorted((SRC / PACKAGE).rglob("*.py"))}
    assert private_uses(trees) == []


def test_the_private_attribute_guard_can_fail():
    """kedro-mlflow's flag reached through a subclass, a catalog's private dict, and a
    private import: each is caught."""
    source = """
from kedro_mlflow.framework.hooks import MlflowHook
from kedro.io.core import _private_helper


class Tracker(MlflowHook):
    def __init__(self):
        self._mine = 1

    def before_node_run(self):
        self._is_mlflow_enabled = False
        return self._mine


def datasets(catalog):
    return catalog._datasets
"""
    found = private_uses({"example.py": ast.parse(source)})
    assert any("._is_mlflow_enabled" in f for f in found) and any("._datasets" in f for f in found)
    assert any("import _private_helper" in f for f in found) and not any("._mine" in f for f in found)


KEDROS_OWN = {"__init__.py", "__main__.py", "settings.py", "pipeline_registry.py"}


def test_the_package_root_holds_packages_and_few_modules():
    """A newcomer reads the root as a map: packages, and at most 6 modules beside Kedro's."""
    loose = sorted(p.name for p in (SRC / PACKAGE).glob("*.py") if p.name not in KEDROS_OWN)
    assert len(loose) <= 6, loose


def test_the_track_table_gives_a_splits_ids_and_their_labels_in_order():
    import numpy as np
    import pandas as pd

    from msd_tagging.core.tracks import SPLITS, TrackTable

    tracks = pd.DataFrame({"track_id": ["a", "b", "c", "d"], "split": ["train", "valid", "train", "none"]})
    labels = pd.DataFrame({"track_id": ["d", "c", "b", "a"], "rock": [1, 0, 1, 1], "jazz": [0, 1, 0, 0]})
    table = TrackTable(tracks, labels)
    assert SPLITS == ("train", "valid", "test") and table.tags == ["rock", "jazz"]
    assert table.ids("train") == ["a", "c"] and table.ids("train", among={"c"}) == ["c"]
    ids, y = table.split("train")
    assert ids == ["a", "c"] and y.dtype == np.int8 and y.tolist() == [[1, 0], [0, 1]]
