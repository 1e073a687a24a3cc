"""pyiceberg's private names are touched in one place, and each still looks as this code expects.

pyiceberg is pinned (``pyproject.toml``) because the warehouse relies on a few of its private names
(``oso_core/warehouse/compat.py`` says which and why). Three checks keep that reliance visible and safe:

1. no module of the project but ``compat.py`` names a private pyiceberg attribute or imports a private pyiceberg
   name (read from the source text with ``ast``, so a new touch point elsewhere fails naming its file and line);
2. the installed pyiceberg is the pinned one; a different version fails listing the touch points to re-check;
3. every touch point still exists on the installed pyiceberg with the signature the wrappers were written for.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyiceberg
import pytest
from pyiceberg.catalog.sql import SqlCatalog

from oso_core.warehouse import compat

ROOT = Path(__file__).resolve().parent.parent
COMPAT = ROOT / "oso_core" / "warehouse" / "compat.py"
SKIPPED_DIRS = {"__pycache__", "node_modules", "build", "dist"}
# Calls whose string argument names an attribute: ``getattr(catalog, "_x")``, ``monkeypatch.setattr(obj, "_x", f)``.
ATTRIBUTE_CALLS = {"getattr", "setattr", "hasattr", "delattr"}


def _is_private(name: str) -> bool:
    """``_x`` and ``__x`` (name-mangled) are private; ``__x__`` (dunder protocol names) are not."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@cache
def pyiceberg_private_names() -> frozenset[str]:
    """Every private name pyiceberg defines: module and class members, and attributes it assigns (``self._x``)."""
    names: set[str] = set()
    for path in Path(pyiceberg.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for leaf in ast.walk(target):
                        if isinstance(leaf, ast.Name):
                            names.add(leaf.id)
                        elif isinstance(leaf, ast.Attribute):
                            names.add(leaf.attr)
    return frozenset(name for name in names if _is_private(name))


def project_modules() -> Iterator[Path]:
    """Every Python file of the project (library, flows, dev machinery, blocks, bench, tests), but ``compat.py``."""
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if any(part.startswith(".") or part in SKIPPED_DIRS for part in parts) or path == COMPAT:
            continue
        yield path


class _PrivateUse(ast.NodeVisitor):
    """Collects ``(line, what)`` for every use of a private pyiceberg name in one module.

    An attribute counts when its name is private to pyiceberg and it is read off anything but the module's own
    ``self``/``cls`` (which are private to this project's classes; a class built on a pyiceberg class does not get
    that pass), or off a name the module imported from pyiceberg (``Catalog._anything``).
    """

    def __init__(self, private: frozenset[str]):
        self.private = private
        self.found: list[tuple[int, str]] = []
        self.from_pyiceberg: set[str] = set()  # names bound by pyiceberg imports
        self.subclass_depth = 0  # > 0 inside a class that derives from a pyiceberg name

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] == "pyiceberg":
                if any(_is_private(part) for part in alias.name.split(".")):
                    self.found.append((node.lineno, f"import {alias.name}"))
                self.from_pyiceberg.add(alias.asname or "pyiceberg")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level == 0 and module.split(".")[0] == "pyiceberg":
            for alias in node.names:
                if any(_is_private(part) for part in [*module.split("."), alias.name]):
                    self.found.append((node.lineno, f"from {module} import {alias.name}"))
                self.from_pyiceberg.add(alias.asname or alias.name)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        derived = any(
            isinstance(leaf, ast.Name) and leaf.id in self.from_pyiceberg for b in node.bases for leaf in ast.walk(b)
        )
        self.subclass_depth += derived
        self.generic_visit(node)
        self.subclass_depth -= derived

    def visit_Attribute(self, node: ast.Attribute) -> None:
        receiver = node.value
        if isinstance(receiver, ast.Name) and receiver.id in self.from_pyiceberg and _is_private(node.attr):
            self.found.append((node.lineno, f"{receiver.id}.{node.attr}"))
        elif node.attr in self.private:
            own = isinstance(receiver, ast.Name) and receiver.id in ("self", "cls") and not self.subclass_depth
            if not own:
                self.found.append((node.lineno, f"{ast.unparse(receiver)}.{node.attr}"))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        for arg in node.args:
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                continue
            parts = arg.value.split(".")
            if name in ATTRIBUTE_CALLS and arg.value in self.private:
                self.found.append((node.lineno, f"{name}(..., {arg.value!r})"))
            elif parts[0] == "pyiceberg" and any(_is_private(part) for part in parts):  # monkeypatch.setattr("a.b._c")
                self.found.append((node.lineno, f"{name}({arg.value!r})"))
        self.generic_visit(node)


def private_uses(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """The private pyiceberg names ``source`` uses, as ``(line, expression)``."""
    visitor = _PrivateUse(pyiceberg_private_names())
    visitor.visit(ast.parse(source, filename))
    return sorted(visitor.found)


def touch_point_lines() -> str:
    return "\n".join(f"  - {point.target} (in {', '.join(point.wrappers)})" for point in compat.TOUCH_POINTS)


def pinned_version() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'"pyiceberg(?:\[[^\]]*\])?==([^";]+)"', text)
    assert match, "pyproject.toml must pin pyiceberg exactly (pyiceberg[...]==X.Y.Z): compat.py is written for one"
    return match.group(1).strip()


# -- 1. one module touches pyiceberg's private names ----------------------------------------------------------------
def test_only_compat_touches_private_pyiceberg_names():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in project_modules()
        for line, what in private_uses(path.read_text(), str(path))
    ]
    assert not offenders, (
        "private pyiceberg names used outside oso_core/warehouse/compat.py (add a wrapper there, with its "
        "reason and public alternative, and a TOUCH_POINTS entry):\n" + "\n".join(offenders)
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "from pyiceberg.io.pyarrow import _to_requested_schema",
            "from pyiceberg.io.pyarrow import _to_requested_schema",
        ),
        ("import pyiceberg.io._private as p", "import pyiceberg.io._private"),
        ("def f(txn):\n    return txn._scan()", "txn._scan"),
        ("def f(txn):\n    return txn._table.io", "txn._table"),
        ("from pyiceberg.catalog import Catalog as C\nC._convert_schema_if_needed", "C._convert_schema_if_needed"),
        ("from pyiceberg.catalog import Catalog\nCatalog._anything_new", "Catalog._anything_new"),
        ("getattr(catalog, '_write_metadata', None)", "getattr(..., '_write_metadata')"),
        ("monkeypatch.setattr(overwrite, '_existing_manifests', f)", "setattr(..., '_existing_manifests')"),
        ("monkeypatch.setattr('pyiceberg.table.Transaction._scan', f)", "setattr('pyiceberg.table.Transaction._scan')"),
        (
            "from pyiceberg.catalog.sql import SqlCatalog\nclass C(SqlCatalog):\n    def f(self):\n"
            "        return self._write_metadata",
            "self._write_metadata",
        ),
    ],
)
def test_the_scan_sees_each_kind_of_touch(source: str, expected: str):
    assert [what for _, what in private_uses(source)] == [expected]


def test_the_scan_leaves_the_projects_own_private_names_alone():
    source = (
        "import os\nclass A:\n    def __init__(self):\n        self._table = 1\n    def f(self):\n"
        "        return self._table, self._updates, os.__name__\n"
    )
    assert private_uses(source) == []


# -- 2. the pinned version ------------------------------------------------------------------------------------------
def test_installed_pyiceberg_is_the_pinned_one():
    pinned, installed = pinned_version(), pyiceberg.__version__
    assert pinned == compat.PYICEBERG_VERSION, (
        f"pyproject.toml pins pyiceberg {pinned} but compat.PYICEBERG_VERSION says {compat.PYICEBERG_VERSION}: "
        f"re-check the touch points in oso_core/warehouse/compat.py, then update it:\n{touch_point_lines()}"
    )
    assert installed == pinned, (
        f"pyiceberg {installed} is not the pinned {pinned}: re-check the touch points in "
        f"oso_core/warehouse/compat.py:\n{touch_point_lines()}"
    )


# -- 3. each touch point still there, same shape --------------------------------------------------------------------
def _resolve(point: compat.TouchPoint) -> object:
    module_name, _, qualname = point.owner.partition(":")
    owner: object = importlib.import_module(module_name)
    for part in qualname.split(".") if qualname else []:
        owner = getattr(owner, part)
    return owner


def _instance_attributes(owner: type, tmp_path: Path) -> set[str]:
    """Attributes a real instance of ``owner`` carries (a transaction, staged on a real catalog)."""
    catalog = SqlCatalog("compat", uri="sqlite:///:memory:", warehouse=tmp_path.as_uri())
    catalog.create_namespace("s")
    txn = catalog.create_table_transaction("s.t", schema=pa.schema([pa.field("id", pa.int64())]))
    assert isinstance(txn, owner), f"{owner} is not the transaction type {type(txn)}"
    return set(vars(txn))


@pytest.mark.parametrize("point", compat.TOUCH_POINTS, ids=lambda point: point.target)
def test_touch_point_exists_with_the_expected_signature(point: compat.TouchPoint, tmp_path: Path):
    owner = _resolve(point)
    where = f"pyiceberg {pyiceberg.__version__}: {point.target} (used by compat.{', compat.'.join(point.wrappers)})"
    if point.signature is None:  # an instance attribute
        assert isinstance(owner, type)
        assert point.name in _instance_attributes(owner, tmp_path), f"{where} is gone"
        return
    member = inspect.getattr_static(owner, point.name, None)
    assert member is not None, f"{where} is gone"
    function = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
    assert callable(function), f"{where} is no longer a function"
    actual = str(inspect.signature(function))
    assert actual == point.signature, f"{where} changed signature:\n  expected {point.signature}\n  found    {actual}"


def test_every_touch_point_has_a_wrapper_with_its_reason():
    for point in compat.TOUCH_POINTS:
        for name in point.wrappers:
            doc = inspect.getdoc(getattr(compat, name)) or ""
            assert point.name in doc and "Public alternative" in doc, f"compat.{name}: say why and what instead"
