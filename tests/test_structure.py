"""The library's shape: ``oso_core`` imports nothing above it, and its modules import each other without cycles.

``oso_core`` is what the deployed flows run on; ``flows/``, ``oso_dev/`` (development machinery), ``blocks/``,
``bench/`` and ``tests/`` build on it. An import the other way (even inside a function) would ship development
code to production or tie the library to one checkout; a cycle between two modules makes import order matter and
each module impossible to understand alone. Read from the source text with ``ast``, not by importing anything.

Inside the library the subpackages are layers (``LAYERS``, lowest first): a module imports only from its own
subpackage or a lower layer, imports inside functions counted too (such an import only postpones a cycle). The
public face, ``oso_core/__init__.py``, is above them all: ``flows/`` and the scaffold's templates import from it
only, and no library module imports through it. To see the graph: ``python -m pytest tests/test_structure.py``
names every cycle and back arrow it finds.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = "oso_core"
ABOVE = ("flows", "oso_dev", "tests", "blocks", "bench")
# The library's subpackages by concern, lowest first. A module imports only from its own layer or the layers before
# it (imports inside functions included): an arrow back up is a cycle waiting to happen. ``oso_core`` itself (the
# public face) is above them all, and ``__main__`` (the command) above that.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),  # the exception root
    ("base",),  # masking, naming, cadence, the current run, extensions
    ("config",),  # settings, secrets
    ("warehouse",),  # the lake
    ("transport",),  # extraction: HTTP, GraphQL, pagination, archives, records
    ("model",),  # source declarations
    ("engine",),  # @source_flow, its toolbox, windows, the command line
    ("kinds", "transform"),  # sources described as data; the sqlmesh stage
    ("ops",),  # the weekly pipeline, alerts, freshness
    ("tools",),  # new-source, secrets check
    ("",),  # the public face (oso_core/__init__.py)
    ("__main__",),
)


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
    assert "oso_core.transport.http" in graph["oso_core.transport.graphql"], (
        "the graph reader is stale: graphql imports http"
    )
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle in oso_core: " + " -> ".join(cycle or [])


def test_no_cycle_even_counting_imports_inside_functions() -> None:
    """An import inside a function only postpones a cycle: the two modules still cannot be understood, or moved,
    apart."""
    graph = module_graph(inside_functions=True)
    assert "oso_core.warehouse.duckdb_extensions" in graph["oso_core.warehouse.storage"], "the graph reader is stale"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle in oso_core (imports inside functions counted): " + " -> ".join(cycle or [])


def layer(module: str) -> int:
    """The layer of a library module (its subpackage's place in ``LAYERS``)."""
    top = module.split(".")[1] if "." in module else ""
    for rank, packages in enumerate(LAYERS):
        if top in packages:
            return rank
    raise AssertionError(f"{module}: in no layer of tests/test_structure.py's LAYERS")


def back_arrows(graph: dict[str, set[str]]) -> list[str]:
    """Imports from a module to one of a higher layer, or between two packages of one layer."""
    return sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        for target in targets
        if layer(target) > layer(module)
        or (layer(target) == layer(module) and target.split(".")[:2] != module.split(".")[:2])
    )


def test_the_library_is_a_handful_of_subpackages() -> None:
    top = sorted(p.name for p in (ROOT / LIBRARY).iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file())
    packages = {name for names in LAYERS for name in names if name not in ("", "errors", "__main__")}
    assert set(top) == {"__init__.py", "__main__.py", "errors.py"} | packages, top


def test_no_arrow_runs_back_up_the_layers() -> None:
    arrows = back_arrows(module_graph(inside_functions=True))
    assert not arrows, "imports against the layers of oso_core:\n" + "\n".join(arrows)


def test_the_back_arrow_finder_reports_one() -> None:
    graph = {"oso_core.base.masking": {"oso_core.engine.flow"}, "oso_core.kinds.rest_source": {"oso_core.transform"}}
    assert back_arrows(graph) == [
        "oso_core.base.masking -> oso_core.engine.flow",
        "oso_core.kinds.rest_source -> oso_core.transform",
    ]
    assert back_arrows({"oso_core.engine.flow": {"oso_core.base.masking"}}) == []


def face_imports(path: Path) -> Iterator[tuple[int, str]]:
    """``(line, module)`` of each ``oso_core`` import of a file outside the library (templates are read as text:
    their ``{{name}}`` placeholders are not Python)."""
    if path.suffix == ".py":
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == LIBRARY:
                yield node.lineno, node.module or ""
            elif isinstance(node, ast.Import):
                yield from ((node.lineno, a.name) for a in node.names if a.name.split(".")[0] == LIBRARY)
        return
    for number, line in enumerate(path.read_text().splitlines(), 1):
        words = line.split()
        if words[:1] in (["from"], ["import"]) and len(words) > 1 and words[1].split(".")[0] == LIBRARY:
            yield number, words[1]


def test_flows_and_templates_import_only_the_public_face() -> None:
    """``from oso_core import Source, source_flow``, never ``oso_core.<subpackage>``: a move inside the library then
    changes ``oso_core.base.public_names`` and nothing in ``flows/`` or in the sources the scaffold writes."""
    from oso_core.base.public_names import MODULES, NAMES

    files = [*sorted((ROOT / "flows").rglob("*.py")), *sorted((ROOT / LIBRARY / "tools" / "templates").rglob("*.tmpl"))]
    inner = [
        f"{path.relative_to(ROOT)}:{line}: imports {module}"
        for path in files
        for line, module in face_imports(path)
        if module != LIBRARY
    ]
    assert not inner, "flows and templates import from oso_core only:\n" + "\n".join(inner)
    unknown = [
        (module, name)
        for module, path in library_modules().items()
        for module_name in [module]
        for name in NAMES
        if NAMES[name] == module_name and not _defines(path, name)
    ]
    assert not unknown, f"oso_core.base.public_names names what its module does not bind: {unknown}"
    assert not set(NAMES) & set(MODULES)


def _defines(path: Path, name: str) -> bool:
    """Whether the module's top level binds ``name`` (a def, a class, an assignment or an import)."""
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(n, ast.Name) and n.id == name for target in targets for n in ast.walk(target)):
                return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
            (a.asname or a.name.split(".")[0]) == name for a in node.names
        ):
            return True
    return False


def test_the_library_never_imports_its_own_face() -> None:
    """The face is above every subpackage: a library module importing ``from oso_core import X`` would run the
    arrow back up (and import whatever X's module imports, lazily hidden)."""
    through_face = [
        f"{path.relative_to(ROOT)}:{line}"
        for module, path in library_modules().items()
        if module != LIBRARY
        for name, line, _ in imports(module, path)
        if name.startswith(f"{LIBRARY}.")
        and name.count(".") == 1
        and name.split(".")[1] not in {n for names in LAYERS for n in names}
    ]
    assert not through_face, "library modules import through the public face: " + ", ".join(through_face)


def test_the_cycle_finder_reports_the_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
