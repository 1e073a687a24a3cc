"""Declared lake migrations: the one-off changes a source lists in ``Source.migrations``, as data.

Why data and not lambdas: a source's declaration is read from its text without importing it (``--help``, source
lists: ``oso_core.engine.declarations``), and a lambda or an imported function either cannot be read that way or reads
as a different object than the imported one. These declarations are plain frozen values, equal however they were
built, that name the tables relative to their source (``"domains"``, not ``"ens.domains"``) and import the catalog
code (``oso_core.warehouse.lake_migration``) only when applied. The engine applies each before every load; each finds
nothing to do once done.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog


class Migration(Protocol):
    """What ``Source.migrations`` holds: applied with the lake's catalog and the declaring source, it returns one
    note per change made (nothing once done)."""

    def apply(self, catalog: Catalog, source: Any) -> list[str]: ...


@dataclass(frozen=True)
class RenameTable:
    """The table an older version wrote as ``old`` (fully qualified) becomes the source's ``table``."""

    old: str
    table: str

    def apply(self, catalog: Catalog, source: Any) -> list[str]:
        from oso_core.warehouse.lake_migration import rename_table

        return rename_table(catalog, self.old, source.qualified(self.table))


@dataclass(frozen=True)
class RenameColumns:
    """Columns of the source's ``table`` renamed, old name → new name (field ids kept: no data rewritten)."""

    table: str
    renames: tuple[tuple[str, str], ...]

    def __init__(self, table: str, renames: Mapping[str, str] | Collection[tuple[str, str]]) -> None:
        items = renames.items() if isinstance(renames, Mapping) else renames
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "renames", tuple(sorted((str(old), str(new)) for old, new in items)))

    def apply(self, catalog: Catalog, source: Any) -> list[str]:
        from oso_core.warehouse.lake_migration import rename_columns

        return rename_columns(catalog, source.qualified(self.table), dict(self.renames))


@dataclass(frozen=True)
class DropColumnsUnless:
    """Columns of the source's ``table`` dropped unless already of type ``type_name``, so the next write adds them
    afresh with the type the source now writes (a change Iceberg's schema evolution cannot make)."""

    table: str
    columns: tuple[str, ...]
    type_name: str

    def __init__(self, table: str, columns: Collection[str], *, type_name: str) -> None:
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "columns", tuple(sorted(columns)))
        object.__setattr__(self, "type_name", type_name)

    def apply(self, catalog: Catalog, source: Any) -> list[str]:
        from oso_core.warehouse.lake_migration import drop_columns_unless

        return drop_columns_unless(catalog, source.qualified(self.table), self.columns, type_name=self.type_name)


@dataclass(frozen=True)
class CallFunction:
    """A migration with logic of its own, named ``"package.module:function"`` and imported only when applied;
    the function takes the catalog and returns its notes (``flows.ossd.migration:migrate_table_names``)."""

    target: str

    def __post_init__(self) -> None:
        module, _, name = self.target.partition(":")
        if not module or not name:
            raise ValueError(f"migration {self.target!r}: expected 'package.module:function'")

    def apply(self, catalog: Catalog, source: Any) -> list[str]:
        module, _, name = self.target.partition(":")
        return list(getattr(importlib.import_module(module), name)(catalog))
