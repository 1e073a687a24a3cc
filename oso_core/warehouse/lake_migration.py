"""One-time, in-place changes a source makes to a lake an earlier version wrote, on its first run after the upgrade.

When a table or column takes OSO's name, a lake written before must not lose what it holds, and OSO's models must
read it at once. Every change here is an Iceberg catalog or schema operation, never a rewrite of data files:

* a table rename moves the table with its snapshot history (``catalog.rename_table``);
* a column rename keeps the column's field id, so the data files already written read under the new name at once;
* a column whose type the source changed in a way Iceberg cannot evolve (a list becoming JSON text) is dropped,
  so the source's next write adds it afresh with the new type (older snapshots keep their own schema).

Each function returns one note per change made, for the run summary, and nothing when there is nothing left to do,
so a source calls them at the start of every run and they act once. A concurrent run that made the change first is
not an error.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import (
    CommitFailedException,
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


def rename_columns(catalog: Catalog, table: str, renames: Mapping[str, str]) -> list[str]:
    """Rename the top-level columns of ``table`` given as ``{old: new}`` that it still has under the old name."""
    try:
        iceberg = catalog.load_table(table)
    except NoSuchTableError:
        return []
    names = {field.name for field in iceberg.schema().fields}
    due = {old: new for old, new in renames.items() if old in names and new not in names}
    if not due:
        return []
    try:
        with iceberg.update_schema() as update:
            for old, new in due.items():
                update.rename_column(old, new)
    except CommitFailedException:  # a concurrent run changed the schema first; the next run sees the result
        return []
    shown = ", ".join(f"{old} to {new}" for old, new in due.items())
    return [f"{table}: renamed column(s) {shown} (OSO's column names; the same columns, nothing rewritten)"]


def drop_columns_unless(catalog: Catalog, table: str, columns: Collection[str], *, type_name: str) -> list[str]:
    """Drop those of ``columns`` whose Iceberg type is not ``type_name`` (``"string"``, ...); the source's next
    write adds them back with that type. For a type change Iceberg cannot make (a list becoming JSON text)."""
    try:
        iceberg = catalog.load_table(table)
    except NoSuchTableError:
        return []
    due = [f.name for f in iceberg.schema().fields if f.name in columns and str(f.field_type) != type_name]
    if not due:
        return []
    try:
        with iceberg.update_schema() as update:
            for name in due:
                update.delete_column(name)
    except CommitFailedException:
        return []
    return [f"{table}: dropped column(s) {', '.join(due)} to write them as {type_name} (OSO's type)"]


def drop_table(catalog: Catalog, table: str, *, why: str) -> list[str]:
    """Drop ``table`` if it exists: for a table whose data a source now writes elsewhere (say ``why``)."""
    try:
        catalog.drop_table(table)
    except NoSuchTableError:
        return []
    return [f"dropped {table}: {why}"]
