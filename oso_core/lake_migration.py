"""One-time, in-place changes a source makes to a lake an earlier version wrote, on its first run after the upgrade.

When a table takes OSO's name, a lake written before must not lose what it holds, and OSO's models must read it at
once. A rename is an Iceberg catalog operation, never a rewrite of data files: the table moves with its snapshot
history (``catalog.rename_table``).

Each function returns one note per change made, for the run summary, and nothing when there is nothing left to do,
so a source calls them at the start of every run and they act once. A concurrent run that made the change first is
not an error.
"""

from __future__ import annotations

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import (
    NamespaceNotEmptyError,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)

from oso_core.warehouse.namespaces import ensure_namespace


def rename_table(catalog: Catalog, old: str, new: str) -> list[str]:
    """Rename ``old`` to ``new`` if ``old`` exists and ``new`` does not (``namespace.table`` both)."""
    if not catalog.table_exists(old) or catalog.table_exists(new):
        return []
    ensure_namespace(catalog, new.rsplit(".", 1)[0])
    try:
        catalog.rename_table(old, new)
    except (NoSuchTableError, TableAlreadyExistsError):  # a concurrent run renamed it first
        return []
    _drop_namespace_if_empty(catalog, old.rsplit(".", 1)[0])
    return [f"renamed {old} to {new} (OSO's table names)"]


def _drop_namespace_if_empty(catalog: Catalog, namespace: str) -> None:
    """A namespace the rename left without tables goes too, so listings show only OSO's names."""
    try:
        if catalog.list_tables(namespace) or _views(catalog, namespace):
            return
        catalog.drop_namespace(namespace)
    except (NoSuchNamespaceError, NamespaceNotEmptyError):
        pass  # gone already, or refilled meanwhile: leaving it is harmless


def _views(catalog: Catalog, namespace: str) -> list[object]:
    try:
        return list(catalog.list_views(namespace))
    except NotImplementedError:  # the SQL catalog has no views
        return []
