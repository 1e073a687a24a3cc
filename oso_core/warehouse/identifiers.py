"""Which table names the lake accepts: ``namespace.table``, both snake_case, checked before anything is created.

A name made from outside input (an archive member ``.csv`` became the table ``crates.``) would otherwise be
created as is, and one table with an empty or dotted name breaks every reader of the whole lake (pyiceberg's
``IcebergTables.table_name is missing``). Snake_case is also what ``Warehouse.sql`` recognises as a table.
"""

from __future__ import annotations

import re

from oso_core.warehouse.errors import WarehouseError

_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def check_table_name(table: str, source: str | None = None) -> None:
    """Raise WarehouseError naming the source and the offending name unless ``table`` is ``namespace.table``."""
    parts = table.split(".") if isinstance(table, str) else []
    bad = [part for part in parts if not _NAME.fullmatch(part)]
    if len(parts) == 2 and not bad:
        return
    who = f"source {source!r}" if source else "write"
    if len(parts) != 2:
        why = "must be 'namespace.table' (one dot, no slashes)"
    else:
        shown = ", ".join(repr(part) for part in bad)
        why = f"has the invalid part(s) {shown}: each part must be non-empty snake_case ([a-z_][a-z0-9_]*)"
    raise WarehouseError(f"{who}: table name {table!r} {why}; nothing was written")
