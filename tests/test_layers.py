"""The package's layers form a stack: no import cycle between its packages or modules
(function-local imports included, which hide cycles from Python), and no private Kedro
attribute in ``src/``."""

from __future__ import annotations

import ast
import re
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


PRIVATE_KEDRO = re.compile(
    r"__wrapped__|_get_save_path|_save_wrapper|_get_catalog|compose_classes|_load_args|_hook_manager"
    r"|from kedro[\w.]* import _|kedro[\w.]*\._[a-z]"
)


def test_no_private_kedro_attribute_is_used_in_src():
    used = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in sorted((SRC / PACKAGE).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if PRIVATE_KEDRO.search(line) and not line.lstrip().startswith("#")
    ]
    assert used == []
