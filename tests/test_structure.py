"""The library's shape: ``oso_core`` imports nothing above it, and its modules import each other without cycles.

``oso_core`` is what the deployed flows run on; ``flows/``, ``oso_dev/`` (development machinery), ``blocks/``,
``bench/`` and ``tests/`` build on it. An import the other way (even inside a function) would ship development
code to production or tie the library to one checkout; a cycle between two modules makes import order matter and
each module impossible to understand alone. Read from the source text with ``ast``, not by importing anything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = "oso_core"
ABOVE = ("flows", "oso_dev", "tests", "blocks", "bench")


def library_modules() -> dict[str, Path]:
    """Every module of ``oso_core`` by dotted name (a package by its own name)."""
    modules = {}
    for path in sorted((ROOT / LIBRARY).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imported_names(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    """What ``node`` imports, as absolute dotted names (``from a import b`` gives ``a`` and ``a.b``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, *([node.module] if node.module else [])])
    else:
        base = node.module or ""
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def imports(module: str, path: Path) -> Iterator[tuple[str, int, bool]]:
    """``(imported name, line, at module level)`` for every import of the module; module level means run on import
    (top level, ``if``/``try`` blocks, class bodies, ``if TYPE_CHECKING`` included), not inside a function."""

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[str, int, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for name in imported_names(module, path, child):
                    yield name, child.lineno, not in_function
            walk_into = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            yield from walk(child, walk_into)

    yield from walk(ast.parse(path.read_text(), str(path)), False)


def module_graph(*, inside_functions: bool = False) -> dict[str, set[str]]:
    """Imports between ``oso_core`` modules: module → the library modules it imports on import (and, with
    ``inside_functions``, those its functions import when they run)."""
    modules = library_modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for name, _, module_level in imports(module, path):
            while name and name not in modules:  # ``from a.b import Class`` → a.b
                name = name.rpartition(".")[0]
            if (module_level or inside_functions) and name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that returns to its start, or None."""
    state: dict[str, str] = {}  # "open" while on the stack, "done" after
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_library_imports_nothing_above_it() -> None:
    upward = [
        f"{path.relative_to(ROOT)}:{line}: imports {name}"
        for module, path in library_modules().items()
        for name, line, _ in imports(module, path)
        if name.split(".")[0] in ABOVE
    ]
    assert not upward, "oso_core must not import the packages built on it:\n" + "\n".join(sorted(set(upward)))


def test_the_library_module_graph_has_no_cycle() -> None:
    graph = module_graph()
    assert "oso_core.http" in graph["oso_core.graphql"], "the graph reader is stale: graphql imports http"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle in oso_core: " + " -> ".join(cycle or [])


def test_no_cycle_even_counting_imports_inside_functions() -> None:
    """An import inside a function only postpones a cycle: the two modules still cannot be understood, or moved,
    apart."""
    graph = module_graph(inside_functions=True)
    assert "oso_core.warehouse.duckdb_extensions" in graph["oso_core.warehouse.storage"], "the graph reader is stale"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle in oso_core (imports inside functions counted): " + " -> ".join(cycle or [])


def test_the_cycle_finder_reports_the_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
