"""What a published model's table says about where it came from: the property names and how to read them.

Kept apart from the runner and the publish (which import sqlmesh and DuckDB) because the freshness check reads
the same properties from metadata alone: a published table is as fresh as its inputs, not as its last commit (a
rerun with nothing changed commits nothing).
"""

from __future__ import annotations

import json
from typing import Any

MODEL_PROPERTY = "oso.transform.model"  # snapshot property: the sqlmesh model the table was published from
INPUTS_PROPERTY = "oso.transform.inputs"  # snapshot property: the lake snapshots it was computed from (JSON)
# table property: a later run found the same content from newer inputs ({"snapshot_id", "inputs"}, JSON)
CHECKED_PROPERTY = "oso.transform.inputs_checked"


def published_model(table: Any) -> str | None:
    """The model a loaded table's current snapshot was published from, or ``None`` for any other table."""
    snapshot = table.current_snapshot()
    if snapshot is None or snapshot.summary is None:
        return None
    return snapshot.summary.additional_properties.get(MODEL_PROPERTY)


def inputs_of(table: Any) -> dict[str, Any] | None:
    """The lake snapshots a loaded table's current content was computed from, if it is a published model's.

    That is its snapshot's ``oso.transform.inputs``, unless a later run found the same content from newer inputs and
    said so in the table property ``oso.transform.inputs_checked`` without a new snapshot (``publish.py``).
    """
    snapshot = table.current_snapshot()
    if snapshot is None:
        return None
    checked = table.properties.get(CHECKED_PROPERTY)
    if checked:
        record = json.loads(checked)
        if record.get("snapshot_id") == snapshot.snapshot_id:
            return record.get("inputs")
    raw = snapshot.summary.additional_properties.get(INPUTS_PROPERTY) if snapshot.summary else None
    return json.loads(raw) if raw else None


def published_inputs(catalog: Any, identifier: str) -> dict[str, Any] | None:
    """``inputs_of`` the catalog's table ``identifier``; ``None`` when it does not exist."""
    from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

    try:
        return inputs_of(catalog.load_table(identifier))
    except (NoSuchTableError, NoSuchNamespaceError):
        return None
