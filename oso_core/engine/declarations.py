"""A source's declaration and flow parameters, read from its file without importing it (``--help``, source lists).

Why: importing a source module imports everything it loads with: its payload code (Polars, JSON Schema), the engine
(the warehouse writer, pyiceberg's Arrow I/O) and Prefect (its ``@flow`` decorator). That is seconds before a help
text or a list of sources could print, while both need only what the module's text already says: the
``SOURCE = Source(...)`` declaration and the flow function's parameters, defaults, annotations and docstring.

How: parse the module; bind the names it imports from a few light modules (``typing``, ``datetime``,
``oso_core.model.sources``, ...); take the constants it imports from other modules by reading *their* text the same way
(``from flows.npm.payload import PAGE_SIZE`` → that file's ``PAGE_SIZE = 1000``); evaluate its top-level
assignments in that namespace (a name whose value needs anything else stays unbound); evaluate ``SOURCE``; then
compile the flow's ``def`` with its decorators, its ``run`` parameter and its body removed. The result is a real
function with the flow's parameters, defaults, annotations and docstring, which ``oso_core.engine.cli`` reads exactly as
it reads the flow. Nothing it cannot evaluate is guessed: it raises ``StaticReadError`` and the caller imports the
module instead (slower, exact). ``tests/test_startup.py`` checks that each source's help reads the same both ways.
"""

from __future__ import annotations
import __future__

import ast
import builtins
import dataclasses
import functools
import importlib
import importlib.util
import inspect
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from oso_core.base.public_names import NAMES
from oso_core.errors import OsoError
from oso_core.model.sources import Source

# modules cheap to import whose names a declaration or a flow signature may use
LIGHT_MODULES = frozenset(
    {
        "typing",
        "datetime",
        "decimal",
        "collections.abc",
        "pathlib",
        "oso_core.model.sources",
        "oso_core.config.secrets",
        "oso_core.config.secrets.base",
        "oso_core.model.migrations",
        "oso_core.warehouse.quality",
    }
)
# what a declaration's values may call: constructors of plain values, nothing that touches the outside
SAFE_BUILTINS = {
    name: getattr(builtins, name)
    for name in ("tuple", "list", "dict", "set", "frozenset", "str", "int", "float", "bool", "len", "sorted")
}
_CONSTANT_DEPTH = 1  # how far ``from X import NAME`` is followed into other modules' text


class StaticReadError(OsoError):
    """The module's declaration or flow cannot be read without running it; import the module instead."""


def module_path(module: str) -> Path:
    """The file of ``module``, found without importing it or its parent packages (``find_spec`` of a submodule
    would import its parents, and ``oso_core.warehouse``'s ``__init__`` is exactly what this module avoids)."""
    top, *rest = module.split(".")
    spec = importlib.util.find_spec(top)
    if spec is None:
        raise StaticReadError(f"{module}: not found")
    directories = [Path(p) for p in spec.submodule_search_locations or []]
    path = Path(spec.origin) if spec.origin and not rest else None
    for i, part in enumerate(rest):
        last = i == len(rest) - 1
        path = None
        for directory in directories:
            package = directory / part
            if (package / "__init__.py").is_file():
                path, directories = package / "__init__.py", [package]
                break
            if last and (directory / f"{part}.py").is_file():
                path = directory / f"{part}.py"
                break
        if path is None:
            raise StaticReadError(f"{module}: no Python source file")
    if path is None or path.suffix != ".py":
        raise StaticReadError(f"{module}: no Python source file")
    return path


def _tree(module: str) -> ast.Module:
    try:
        return ast.parse(module_path(module).read_text(), filename=module)
    except (OSError, SyntaxError, ImportError, ValueError) as exc:
        raise StaticReadError(f"{module}: {exc}") from exc


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.rsplit(".", node.level)[0]
    return f"{package}.{node.module}" if node.module else package


def _defining_module(module: str, name: str) -> str:
    """Where ``from module import name`` really reads ``name``: the library's public face (``from oso_core import
    Source``) hands out names of other modules, which are read as if imported from those (a module the face hands
    out whole gives "", left unbound). Asking the face itself would import the name's module, the very cost this
    module avoids."""
    if module == "oso_core":
        return NAMES.get(name, "")
    return module


def _namespace(module: str, tree: ast.Module, depth: int) -> dict[str, Any]:
    """The names a module's top level binds that can be had without running it (see the module docstring)."""
    namespace: dict[str, Any] = {"__builtins__": SAFE_BUILTINS, "__name__": module}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            imported_from = _absolute(module, node)
            for alias in node.names:
                bound = alias.asname or alias.name
                source = _defining_module(imported_from, alias.name)
                if not source:
                    continue
                if source in LIGHT_MODULES or source == "__future__":
                    if source != "__future__":
                        namespace[bound] = getattr(importlib.import_module(source), alias.name)
                elif depth > 0:
                    value = _constant(source, alias.name, depth - 1)
                    if value is not _MISSING:
                        namespace[bound] = value
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in LIGHT_MODULES and alias.asname:
                    namespace[alias.asname] = importlib.import_module(alias.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            try:
                value = eval(compile(ast.Expression(node.value), module, "eval"), namespace)  # noqa: S307
            except Exception:  # noqa: BLE001 - needs what is not bound here: leave the names unbound
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            namespace.pop(name.id, None)
                continue
            for target in targets:
                _bind(namespace, target, value)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            namespace.pop(node.name, None)  # rebinding by a def: the earlier value no longer holds
    return namespace


_MISSING = object()


def _bind(namespace: dict[str, Any], target: ast.expr, value: Any) -> None:
    """``NAME = value`` and ``A, B = x, y``; any other target (attributes, starred) unbinds its names."""
    if isinstance(target, ast.Name):
        namespace[target.id] = value
    elif (
        isinstance(target, ast.Tuple | ast.List)
        and all(isinstance(e, ast.Name) for e in target.elts)
        and isinstance(value, tuple | list)
        and len(value) == len(target.elts)
    ):
        for element, item in zip(target.elts, value, strict=True):
            namespace[element.id] = item  # type: ignore[attr-defined]
    else:
        for name in ast.walk(target):
            if isinstance(name, ast.Name):
                namespace.pop(name.id, None)


def _constant(module: str, name: str, depth: int) -> Any:
    """``module.name`` when its text binds it to a value readable without running it (else ``_MISSING``)."""
    loaded = sys.modules.get(module)
    if loaded is not None and hasattr(loaded, name):
        return getattr(loaded, name)
    return _module_namespace(module, depth).get(name, _MISSING)


@functools.cache
def _module_namespace(module: str, depth: int) -> dict[str, Any]:
    try:
        return _namespace(module, _tree(module), depth)
    except StaticReadError:
        return {}


def read_source(module: str) -> tuple[Source, Callable[..., Any]]:
    """The module's ``SOURCE`` and a stand-in for its flow (same parameters and docstring, no body).

    Raises ``StaticReadError`` when either needs running the module.
    """
    tree = _tree(module)
    namespace = _namespace(module, tree, _CONSTANT_DEPTH)
    source = namespace.get("SOURCE")
    if not isinstance(source, Source):
        raise StaticReadError(f"{module}: SOURCE is not a plain Source(...) declaration")
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == source.flow]
    if len(functions) != 1 or not _is_source_flow(functions[0]):
        raise StaticReadError(f"{module}: no single `@source_flow def {source.flow}`")
    return source, _stand_in(module, functions[0], namespace)


def _is_source_flow(node: ast.FunctionDef) -> bool:
    """Decorated by ``source_flow(SOURCE)`` alone (another decorator could change the signature)."""
    if len(node.decorator_list) != 1:
        return False
    decorator = node.decorator_list[0]
    call = decorator.func if isinstance(decorator, ast.Call) else None
    return isinstance(call, ast.Name) and call.id == "source_flow"


def _stand_in(module: str, node: ast.FunctionDef, namespace: dict[str, Any]) -> Callable[..., Any]:
    """``node`` compiled without decorators, ``run``, return annotation or body; annotations stay strings."""
    args = node.args
    if not args.args or args.args[0].arg != "run" or args.posonlyargs:
        raise StaticReadError(f"{module}: {node.name} does not take `run` first")
    docstring = ast.get_docstring(node, clean=False)
    body: list[ast.stmt] = [ast.Expr(ast.Constant(docstring))] if docstring is not None else []
    stripped = ast.FunctionDef(
        name=node.name,
        args=ast.arguments(
            posonlyargs=[],
            args=args.args[1:],
            vararg=args.vararg,
            kwonlyargs=args.kwonlyargs,
            kw_defaults=args.kw_defaults,
            kwarg=args.kwarg,
            defaults=args.defaults[1:] if len(args.defaults) == len(args.args) else args.defaults,
        ),
        body=body + [ast.Expr(ast.Constant(...))],
        decorator_list=[],
        returns=None,
        type_params=[],
    )
    tree = ast.Module(body=[stripped], type_ignores=[])
    for part in ast.walk(tree):  # one line for all: the stand-in has no body whose errors would need locating
        if "lineno" in part._attributes:
            part.lineno = part.end_lineno = node.lineno
            part.col_offset = part.end_col_offset = 0
    # annotations stay strings (as in the source modules), evaluated by typing.get_type_hints in `namespace`
    code = compile(tree, module, "exec", flags=__future__.annotations.compiler_flag, dont_inherit=True)
    scope = dict(namespace)
    try:
        exec(code, scope)  # noqa: S102 - only the def: its defaults, evaluated in the read namespace
    except Exception as exc:  # noqa: BLE001 - a default needs what the module imports from elsewhere
        raise StaticReadError(f"{module}: {node.name}'s defaults need running the module ({exc})") from exc
    function = scope[node.name]
    function.__module__ = module
    from oso_core.engine.flow import ACCEPT, AcceptParameter, with_accept  # the parameter the engine adds to every flow

    function.__signature__ = with_accept(inspect.signature(function))
    function.__annotations__[ACCEPT] = AcceptParameter
    try:
        typing.get_type_hints(function, include_extras=True)
    except Exception as exc:  # noqa: BLE001 - an annotation names a type imported from elsewhere
        raise StaticReadError(f"{module}: {node.name}'s annotations need running the module ({exc})") from exc
    return function


def _binds_sources(module: str) -> bool:
    """Whether the module's top level assigns ``SOURCE`` or ``SOURCES`` (else it declares no source)."""
    for node in _tree(module).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        targets += [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(n, ast.Name) and n.id in ("SOURCE", "SOURCES") for t in targets for n in ast.walk(t)):
            return True
    return False


def _declaring_modules(package: str) -> list[str]:
    """``discover_sources``'s modules of ``package``, found on disk without importing them."""
    root = module_path(package).parent
    modules = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(("_", ".")):
            continue
        if entry.is_dir() and (entry / "__init__.py").is_file() and (entry / "source.py").is_file():
            modules.append(f"{package}.{entry.name}.source")
        elif entry.suffix == ".py" and entry.is_file():
            modules.append(f"{package}.{entry.stem}")
    return modules


def module_sources(module: str) -> tuple[list[Source], Callable[..., Any] | None]:
    """The sources ``module`` declares, read from its text when possible (then also its flow's stand-in), else
    by importing it; a module whose text binds no ``SOURCE``/``SOURCES`` is neither run nor imported."""
    try:
        source, stand_in = read_source(module)
        return [dataclasses.replace(source, module=module)], stand_in
    except StaticReadError:
        pass
    try:
        if not _binds_sources(module):
            return [], None
    except StaticReadError:
        pass
    from oso_core.model.sources import _declared

    return [dataclasses.replace(s, module=module) for s in _declared(importlib.import_module(module))], None


def find_source(name: str, packages: list[str] | None = None) -> tuple[Source, Callable[..., Any] | None]:
    """The source called ``name`` and, when its file could be read without importing it, a stand-in of its flow
    for building the command line (``None``: use ``source.load_flow()``). Its own folder is tried first; the
    other modules only when it has none (dynamic sources, plain modules). ``KeyError`` lists the known names."""
    from oso_core.model.sources import source_packages

    packages = packages if packages is not None else source_packages()
    for package in packages:
        try:
            module_path(f"{package}.{name}.source")
        except StaticReadError:
            continue
        sources, stand_in = module_sources(f"{package}.{name}.source")
        if [s.name for s in sources] == [name]:
            return sources[0], stand_in
    known = declared_sources(packages)
    if name in known:
        return known[name], None
    raise KeyError(f"unknown source {name!r}; known: {', '.join(known)}")


def declared_sources(packages: list[str] | None = None) -> dict[str, Source]:
    """``discover_sources()``'s result (same names, same order), read from files instead of imports where it can."""
    from oso_core.model.sources import source_packages

    found: dict[str, Source] = {}
    for package in packages if packages is not None else source_packages():
        for module in _declaring_modules(package):
            for source in module_sources(module)[0]:
                if source.name in found:
                    raise ValueError(f"source {source.name} declared twice ({found[source.name].module}, {module})")
                found[source.name] = source
    return dict(sorted(found.items()))
