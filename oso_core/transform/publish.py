"""Publishing: each model that ran clean lands in the lake as an Iceberg table, one commit per table.

A model is published from the gateway table its run produced (``ModelOutcome.table``), through the project's writer
(``Warehouse.write``, mode ``replace``: the lake's replace gate applies too, refusing to empty a table or to drop
over half its rows unless the run accepts it), in dependency order, as ``<transform.output_namespace>.<table>``.
Its snapshot properties name the model (``oso.transform.model``), the sqlmesh snapshot and plan
(``oso.transform.snapshot`` / ``.plan_id``), the lake snapshots it was computed from (``oso.transform.inputs``,
JSON) and the flow run (``oso.flow_run_id``, set by the warehouse).

Nothing is published for a model that failed (SQL error, failed audit), nor for its downstream, nor for one whose
publish failed; their tables stay at their previous snapshot. A model whose rows and columns are what its table
already holds (``oso.transform.content``: row count, an order-independent hash of the rows, the column types) is
left alone, so rerunning with nothing changed commits nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oso_core.transform.runner import CHECKED_PROPERTY, INPUTS_PROPERTY, ModelOutcome, published_inputs, published_name
from oso_core.warehouse.reader import sql_name, sql_string

CONTENT_PROPERTY = "oso.transform.content"
BATCH_ROWS = 100_000


@dataclass
class Published:
    """One model's publish: ``state`` is published | unchanged | not published | failed."""

    model: str
    table: str
    state: str
    rows: int = 0
    snapshot_id: int | None = None
    detail: str = ""
    seconds: float = 0.0


def wanted(outcome: ModelOutcome, tags: list[str]) -> bool:
    """Whether the settings publish this model (``transform.publish_tags``: none means every model)."""
    return not tags or any(tag in outcome.tags for tag in tags)


def _gateway(database: Path) -> Any:
    from oso_core.warehouse.reader import duckdb_connection

    con = duckdb_connection()  # the iceberg extension: a VIEW-kind model reads the pinned lake views
    con.execute(f"ATTACH {sql_string(str(database))} AS {sql_name(database.stem)} (READ_ONLY)")
    return con


def _relation(table: str) -> str:
    return ".".join(sql_name(part) for part in table.split("."))


def content_of(con: Any, table: str) -> tuple[int, str]:
    """Rows and a fingerprint of the table's content: column names and types, row count, the sum of row hashes."""
    relation = _relation(table)
    columns = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    rows, digest = con.execute(f"SELECT COUNT(*), COALESCE(SUM(HASH(t)), 0)::VARCHAR FROM {relation} AS t").fetchone()
    shape = json.dumps([[c[0], c[1]] for c in columns])
    return int(rows), hashlib.sha256(f"{shape}|{rows}|{digest}".encode()).hexdigest()[:32]


def _current_content(warehouse: Any, table: str) -> str | None:
    from pyiceberg.exceptions import NoSuchTableError

    try:
        snapshot = warehouse.catalog.load_table(table).current_snapshot()
    except NoSuchTableError:
        return None
    return snapshot.summary.additional_properties.get(CONTENT_PROPERTY) if snapshot and snapshot.summary else None


def _frames(con: Any, table: str) -> Iterator[Any]:
    import polars as pl

    reader = con.execute(f"SELECT * FROM {_relation(table)}").fetch_record_batch(BATCH_ROWS)
    empty = True
    for batch in reader:
        empty = False
        yield pl.from_arrow(batch)
    if empty:
        yield pl.from_arrow(reader.schema.empty_table())


class Publisher:
    """Publishes models one at a time, in dependency order, remembering which failed so their downstream wait.

    ``publish`` is what the flow's per-model task calls; the gateway database is opened read-only on first use.
    """

    def __init__(self, warehouse: Any, database: Path, namespace: str, plan_id: str, tags: list[str] | None = None):
        self.warehouse, self.database, self.namespace, self.plan_id = warehouse, database, namespace, plan_id
        self.tags = list(tags or [])
        self.blocked: dict[str, str] = {}  # model → the failed model that holds back its downstream
        self._con: Any = None
        self.last: Published | None = None

    def publish(self, outcome: ModelOutcome) -> Published:
        """Publish one model (or say why not); remembered as ``last``."""
        self.last = self._publish(outcome)
        return self.last

    def _publish(self, outcome: ModelOutcome) -> Published:
        table = published_name(outcome.model, self.namespace)
        parent = next((self.blocked[u] for u in outcome.upstream if u in self.blocked), None)
        if outcome.failed or parent:
            self.blocked[outcome.model] = parent or outcome.model
            why = outcome.error if outcome.failed else f"upstream {parent} was not published"
            return Published(outcome.model, table, "not published", detail=why)
        if not outcome.table:
            return Published(outcome.model, table, "not published", detail=outcome.state)
        if not wanted(outcome, self.tags):
            return Published(outcome.model, table, "not published", detail="not in transform.publish_tags")
        self._con = self._con or _gateway(self.database)
        result = _publish_one(self.warehouse, self._con, outcome, table, self.plan_id)
        if result.state == "failed":
            self.blocked[outcome.model] = outcome.model
        return result

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def publish_models(
    warehouse: Any,
    outcomes: list[ModelOutcome],
    database: Path,
    namespace: str,
    plan_id: str,
    tags: list[str] | None = None,
) -> list[Published]:
    """Publish every clean, wanted model of ``outcomes`` (in dependency order); see the module."""
    with Publisher(warehouse, database, namespace, plan_id, tags) as publisher:
        return [publisher.publish(outcome) for outcome in outcomes]


def _publish_one(warehouse: Any, con: Any, outcome: ModelOutcome, table: str, plan_id: str) -> Published:
    started = time.perf_counter()
    rows, content = content_of(con, outcome.table)
    if _current_content(warehouse, table) == content:
        snapshot_id = warehouse.snapshot_id(table)
        if published_inputs(warehouse, table) != outcome.inputs:
            _record_inputs(warehouse, table, snapshot_id, outcome.inputs)
        return Published(outcome.model, table, "unchanged", rows=rows, snapshot_id=snapshot_id)
    properties = {
        "oso.transform.model": outcome.model,
        "oso.transform.snapshot": outcome.snapshot,
        "oso.transform.version": outcome.version,
        "oso.transform.plan_id": plan_id,
        INPUTS_PROPERTY: json.dumps(outcome.inputs, sort_keys=True),
        CONTENT_PROPERTY: content,
    }
    try:
        result = warehouse.write(table, _frames(con, outcome.table), mode="replace", source="transform",
                                 properties=properties)  # fmt: skip
    except Exception as error:  # noqa: BLE001 - one table's failure; its downstream is held back, others go on
        return Published(outcome.model, table, "failed", detail=f"{type(error).__name__}: {error}",
                         seconds=time.perf_counter() - started)  # fmt: skip
    return Published(outcome.model, table, "published", rows=result.rows_written, snapshot_id=result.snapshot_id,
                     seconds=time.perf_counter() - started)  # fmt: skip


def _record_inputs(warehouse: Any, table: str, snapshot_id: int | None, inputs: dict[str, Any]) -> None:
    """Same content from newer inputs: say so in a table property (no new snapshot), so the next run does not
    restate the model again for inputs it has already seen."""
    record = json.dumps({"snapshot_id": snapshot_id, "inputs": inputs}, sort_keys=True)
    with warehouse.catalog.load_table(table).transaction() as txn:
        txn.set_properties({CHECKED_PROPERTY: record})
