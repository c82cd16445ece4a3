"""The package's imports, read from the source (``ast``): no module of ``backends`` reaches itself again through
its imports, annotations-only imports (``if TYPE_CHECKING:``) and imports inside functions counted too, as
each is a dependency a reader has to follow; and the layers point one way (nothing below ``cli`` imports it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGE = ROOT / "backends"


def module_name(path: Path, root: Path) -> str:
    """``backends/training/loop.py`` -> ``backends.training.loop``; a package's ``__init__.py`` is the package."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path, modules: set[str]) -> set[str]:
    """The project modules ``path`` imports, wherever in it the import stands; ``from a import b`` names the
    module ``a.b`` where that is one, else ``a``."""
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1 more
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names)
    return {name for name in found if name in modules and name != here}


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Every module of ``root/package`` with the project modules it imports."""
    paths = sorted((root / package).rglob("*.py"))
    modules = {module_name(path, root) for path in paths}
    return {module_name(path, root): imports_of(path, root, modules) for path in paths}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or around a loop (Tarjan's strongly connected
    components of more than one module), each sorted; a module importing itself does not occur (left out above)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_module_of_the_package_imports_itself_around_a_loop():
    assert cycles(import_graph(ROOT, "backends")) == []


def test_the_check_finds_a_loop_through_an_annotation_only_import(tmp_path):
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "sub" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from pkg.sub import b\n")
    (tmp_path / "pkg" / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..c import C\n"
    )
    (tmp_path / "pkg" / "c.py").write_text("def f():\n    import pkg.a\n")
    (tmp_path / "pkg" / "d.py").write_text("import pkg.c\n")  # imports into the loop, is not part of it
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.a"] == {"pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg.c"}
    assert cycles(graph) == [["pkg.a", "pkg.c", "pkg.sub.b"]]


@pytest.mark.parametrize("layer", ["common", "pipeline", "training", "vectors", "display", "grading"])
def test_no_layer_below_the_command_line_imports_it(layer):
    graph = import_graph(ROOT, "backends")
    reaching = {
        module: sorted(name for name in imported if name.startswith("backends.cli"))
        for module, imported in graph.items()
        if module.startswith(f"backends.{layer}")
    }
    assert {module: names for module, names in reaching.items() if names} == {}
