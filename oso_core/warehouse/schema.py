"""Schema evolution rules: which differences between a batch and its table are applied, and which are refused.

Applied: new columns (top level or inside structs), int→long, float→double and decimal precision widening. A batch
with a narrower type than the table (int into long) is written as the table's type. Everything else (string→int,
long→int in the table, a struct becoming a string …) is refused before anything is written, naming table, column
and both types, because silently casting would corrupt the column for every reader.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

import pyarrow as pa
from pyiceberg.exceptions import ResolveError
from pyiceberg.schema import Schema, assign_fresh_schema_ids, promote
from pyiceberg.table import Transaction
from pyiceberg.types import IcebergType, StructType

from oso_core.warehouse.compat import schema_without_ids
from oso_core.warehouse.errors import WarehouseError

_FIELD_IDS = re.compile(r"\b\d+: ")


def iceberg_schema(arrow_schema: pa.Schema) -> Schema:
    """The Iceberg schema a new table gets for ``arrow_schema`` (ids assigned in column order, as the catalog does)."""
    return assign_fresh_schema_ids(schema_without_ids(arrow_schema))


def _shape(field_type: IcebergType) -> str:
    """A type's text without field ids, so nested types compare by structure."""
    return _FIELD_IDS.sub("", str(field_type))


def changes_needed(identifier: str, table_schema: Schema, arrow_schema: pa.Schema, key: Sequence[str] = ()) -> bool:
    """True if the table must evolve to take ``arrow_schema``; raises WarehouseError for refused changes."""
    incoming = iceberg_schema(arrow_schema)
    names = {f.name for f in incoming.fields}
    for column in key:
        if column not in names:
            raise WarehouseError(
                f"{identifier}: key column {column!r} is missing from the data (columns: {sorted(names)})"
            )
    needed = False
    for field in incoming.fields:
        try:
            existing = table_schema.find_field(field.name)
        except ValueError:
            needed = True  # a new column
            continue
        old, new = existing.field_type, field.field_type
        if old == new or _shape(old) == _shape(new):
            continue
        if old.is_primitive and new.is_primitive:
            if _promotable(new, old):
                continue  # narrower batch: written as the table's type
            if _promotable(old, new):
                needed = True  # safe widening
                continue
            raise _refused(identifier, field.name, old, new)
        if old.is_primitive != new.is_primitive:
            raise _refused(identifier, field.name, old, new)
        needed = True  # nested: union_by_name adds nested fields or refuses (see evolve)
    return needed


def evolve(identifier: str, txn: Transaction, arrow_schema: pa.Schema) -> None:
    """Stage the schema change in ``txn`` (committed with the data, in the same commit)."""
    try:
        with txn.update_schema() as update:
            update.union_by_name(arrow_schema)
    except (ValueError, ResolveError) as error:  # pyiceberg's ValidationError is a ValueError
        raise WarehouseError(f"{identifier}: schema change refused: {error}") from error


def drop_absent(identifier: str, txn: Transaction, data: Sequence[pa.Schema]) -> None:
    """Stage dropping the table's columns (and struct fields) the data does not have: ``replace`` makes the table's
    schema the data's. Kept columns keep their field ids, so old snapshots still read their columns.

    ``data``: the schemas of the write's frames; a column any frame has is kept."""
    table = txn.table_metadata.schema()
    absent = _absent_paths(table.as_struct(), [iceberg_schema(s).as_struct() for s in data], ())
    if not absent:
        return
    spec = txn.table_metadata.spec()
    for path in absent:
        field_id = table.find_field(".".join(path)).field_id
        if any(p.source_id == field_id for p in spec.fields):
            raise WarehouseError(
                f"{identifier}: the data has no column {'.'.join(path)!r}, which the table is partitioned by"
            )
    try:
        with txn.update_schema() as update:
            for path in absent:
                update.delete_column(path)
    except (ValueError, ResolveError) as error:
        shown = ", ".join(".".join(p) for p in absent)
        raise WarehouseError(f"{identifier}: cannot drop column(s) {shown} absent from the data: {error}") from error


def _absent_paths(table: StructType, data: list[StructType], prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Paths of ``table``'s fields missing from every ``data`` struct, through nested structs (a missing struct is
    one path; fields inside lists and maps are left as they are)."""
    absent = []
    for field in table.fields:
        path = (*prefix, field.name)
        matches = [f.field_type for struct in data for f in struct.fields if f.name == field.name]
        if not matches:
            absent.append(path)
        elif isinstance(field.field_type, StructType):
            nested = [m for m in matches if isinstance(m, StructType)]
            if len(nested) == len(matches):
                absent += _absent_paths(field.field_type, nested, path)
    return absent


def assert_same_columns(identifier: str, written: Schema, current: Schema, only: Collection[str] | None = None) -> None:
    """Files written for ``written`` can be committed to a table at ``current`` (same ids and types by name).

    ``only``: the columns the data has (``replace`` drops the others itself, so they need not exist).
    """
    for field in written.fields:
        if only is not None and field.name not in only:
            continue
        try:
            now = current.find_field(field.name)
        except ValueError:
            raise WarehouseError(f"{identifier}: column {field.name!r} was dropped by a concurrent writer") from None
        if now.field_id != field.field_id or _shape(now.field_type) != _shape(field.field_type):
            raise WarehouseError(
                f"{identifier}: column {field.name!r} was changed by a concurrent writer "
                f"({field.field_type} → {now.field_type}); rerun the load"
            )


def _promotable(source: IcebergType, target: IcebergType) -> bool:
    try:
        promote(source, target)
    except ResolveError:
        return False
    return True


def _refused(identifier: str, column: str, old: IcebergType, new: IcebergType) -> WarehouseError:
    return WarehouseError(
        f"{identifier}: column {column!r} is {old} in the table but {new} in the data; only new columns and "
        f"widening (int→long, float→double) are applied"
    )
