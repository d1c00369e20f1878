"""The package's shape, read from its source with ``ast``: the library never imports the CLI, and neither modules
nor packages import each other in a circle (docs/architecture.md draws the layers these tests keep)."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import butterfly

ROOT = Path(butterfly.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(p): p
        for p in ROOT.rglob("*.py")
        if "versions" not in p.relative_to(ROOT).parts and p.name != "env.py"  # the migrations run under Alembic
    }


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(sub) for sub in ast.walk(node))
    return hidden


def _owner(name: str, modules: Iterable[str]) -> str | None:
    """The butterfly module ``name`` refers to (``butterfly.a.b.func`` -> ``butterfly.a.b``)."""
    known = set(modules)
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """Module -> the butterfly modules it imports at run time (module level or inside functions; not the imports
    made only for type checking)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hidden = _type_checking_nodes(tree)
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in hidden:
                continue
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("butterfly"):
                assert node.module is not None
                for alias in node.names:
                    targets.add(_owner(f"{node.module}.{alias.name}", modules) or node.module)
            elif isinstance(node, ast.Import):
                targets.update(_owner(a.name, modules) or a.name for a in node.names if a.name.startswith("butterfly"))
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path}: relative import (use butterfly.…)"
        targets.discard(name)
        targets.discard("butterfly")  # butterfly/__init__.py holds only the version
        graph[name] = targets
    return graph


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def _package(module: str) -> str:
    """``butterfly.review.walk`` -> ``butterfly.review``; a top-level module is its own package."""
    return ".".join(module.split(".")[:2])


def test_the_graph_sees_the_imports_it_should() -> None:
    graph = import_graph()
    assert "butterfly.review.walk_answers" in graph
    assert "butterfly.review.answers" in graph["butterfly.review.walk_answers"]
    assert "butterfly.store.models" in graph["butterfly.store.db"]
    assert "butterfly.cli._common" in graph["butterfly.cli.report"]
    assert "butterfly.reports.rendering" in graph["butterfly.cli.report"]  # imported inside a command: counts too


def test_no_library_module_imports_the_cli() -> None:
    offenders = {
        module: sorted(t for t in targets if t.startswith("butterfly.cli"))
        for module, targets in import_graph().items()
        if not module.startswith("butterfly.cli") and module != "butterfly.__main__"
    }
    assert {m: t for m, t in offenders.items() if t} == {}


def test_no_import_cycles_between_modules() -> None:
    assert cycles(import_graph()) == []


def test_no_import_cycles_between_packages() -> None:
    packages: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        packages.setdefault(_package(module), set()).update(
            _package(t) for t in targets if _package(t) != _package(module)
        )
    assert cycles(packages) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
