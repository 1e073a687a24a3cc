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
left alone, so rerunning with nothing changed commits nothing. The fingerprint is taken before writing only when
the row count matches the table's (the content may be unchanged); a new table or a new count is written at once,
its fingerprint computed beside the write and committed with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oso_core.transform.provenance import CHECKED_PROPERTY, INPUTS_PROPERTY, MODEL_PROPERTY, published_inputs
from oso_core.transform.runner import ModelOutcome, published_name
from oso_core.warehouse.reader import sql_name, sql_string

CONTENT_PROPERTY = "oso.transform.content"
# Rows are handed to the writer in frames of about FRAME_BYTES of Arrow (the rows per frame from the width of a
# sample of SAMPLE_ROWS rows), so memory is bounded by bytes whatever a row's width, and each frame is a couple of
# the writer's data files (16 MB of Arrow each), written in parallel. A frame is one record batch (one chunk: the
# writer's per-frame dictionary probe takes samples, ~10x slower over many chunks). One frame is fetched while the
# previous one is written: at most three are held at once (written, queued, being fetched).
FRAME_BYTES = 32 * 1024 * 1024
SAMPLE_ROWS = 2048
MIN_FRAME_ROWS = 2048


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
    """A read-only view of the gateway database.

    The transform's DuckDB extensions (``GatewayFiles.extensions``) load on first use only: a VIEW-kind model
    reads the pinned lake views (iceberg), a table does not, and loading both extensions costs ~0.2 s per publish.
    Without that folder (a database not made by a transform here), they are loaded at once as for any lake read.
    """
    import duckdb

    from oso_core.transform.gateway import GatewayFiles
    from oso_core.warehouse.reader import duckdb_connection

    extensions = GatewayFiles(database.parent).extensions
    if extensions.is_dir():
        spill = Path(tempfile.gettempdir()) / f"oso-duckdb-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        con = duckdb.connect(config={
            "autoinstall_known_extensions": False, "autoload_known_extensions": True,
            "extension_directory": str(extensions), "temp_directory": str(spill),
        })  # fmt: skip
    else:
        con = duckdb_connection()
    con.execute(f"ATTACH {sql_string(str(database))} AS {sql_name(database.stem)} (READ_ONLY)")
    return con


def _relation(table: str) -> str:
    return ".".join(sql_name(part) for part in table.split("."))


def content_of(con: Any, table: str) -> tuple[int, str]:
    """Rows and a fingerprint of the table's content: column names and types, row count, the sum of row hashes.

    A row's hash is DuckDB's ``HASH`` of its columns as arguments, which equals the hash of the row as one struct
    (``HASH(t)``, what earlier runs stored) without building the struct: half the time over a 1M-row table.
    """
    relation = _relation(table)
    columns = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    row = ", ".join(sql_name(c[0]) for c in columns)
    rows, digest = con.execute(f"SELECT COUNT(*), COALESCE(SUM(HASH({row})), 0)::VARCHAR FROM {relation}").fetchone()
    shape = json.dumps([[c[0], c[1]] for c in columns])
    return int(rows), hashlib.sha256(f"{shape}|{rows}|{digest}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class PublishedContent:
    """What the table's current snapshot says it holds: its row count and the fingerprint stored with it."""

    rows: int
    content: str | None


def _published_content(warehouse: Any, table: str) -> PublishedContent | None:
    from pyiceberg.exceptions import NoSuchTableError

    try:
        snapshot = warehouse.catalog.load_table(table).current_snapshot()
    except NoSuchTableError:
        return None
    if snapshot is None or snapshot.summary is None:
        return None
    summary = snapshot.summary
    rows = int(summary.get("total-records") or -1)
    return PublishedContent(rows, summary.additional_properties.get(CONTENT_PROPERTY))


def _row_count(con: Any, table: str) -> int:
    return int(con.execute(f"SELECT COUNT(*) FROM {_relation(table)}").fetchone()[0])


def frame_rows(con: Any, table: str, frame_bytes: int = FRAME_BYTES) -> int:
    """Rows per frame of about ``frame_bytes``: from the Arrow width of the table's first ``SAMPLE_ROWS`` rows."""
    sample = con.execute(f"SELECT * FROM {_relation(table)} LIMIT {SAMPLE_ROWS}").fetch_arrow_table()
    width = sample.nbytes / max(1, sample.num_rows)
    return max(MIN_FRAME_ROWS, int(frame_bytes / max(1.0, width)))


def _frames(con: Any, table: str, frame_bytes: int = FRAME_BYTES) -> Iterator[Any]:
    """The table's rows as frames of about ``frame_bytes``, the next one fetched (in a thread: DuckDB releases the
    GIL) while the caller writes the current one. Closing the iterator early stops the fetch before it returns, so
    the connection is free again."""
    import polars as pl

    rows = frame_rows(con, table, frame_bytes)
    reader = con.execute(f"SELECT * FROM {_relation(table)}").fetch_record_batch(rows)
    ready: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def fetch() -> None:
        try:
            for batch in reader:
                frame = pl.from_arrow(batch)
                while not stop.is_set():
                    try:
                        ready.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put(done)
        except BaseException as error:  # noqa: BLE001 - handed to the caller, raised there
            ready.put(error)

    worker = threading.Thread(target=fetch, name=f"publish-fetch {table}", daemon=True)
    worker.start()
    sent = False
    try:
        while (item := ready.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            sent = True
            yield item
        if not sent:
            yield pl.from_arrow(reader.schema.empty_table())
    finally:
        stop.set()
        while worker.is_alive():
            with contextlib.suppress(queue.Empty):
                ready.get(timeout=0.1)
        worker.join()


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
    """Publish one model, unless its content is what its table holds.

    When the row count matches the published table's, the content may be unchanged: it is fingerprinted first,
    and nothing is written if it matches. Otherwise it has changed for certain (or the table is new), and the
    fingerprint, still stored for the next run, is computed on a second cursor while the rows are written (DuckDB
    and the Parquet writer both release the GIL), ready when the writer asks for the commit's properties.
    """
    started = time.perf_counter()
    published = _published_content(warehouse, table)
    properties = {
        MODEL_PROPERTY: outcome.model,
        "oso.transform.snapshot": outcome.snapshot,
        "oso.transform.version": outcome.version,
        "oso.transform.plan_id": plan_id,
        INPUTS_PROPERTY: json.dumps(outcome.inputs, sort_keys=True),
    }
    with ThreadPoolExecutor(1, f"publish-fingerprint {table}") as side:
        if published is not None and published.content and published.rows == _row_count(con, outcome.table):
            rows, content = content_of(con, outcome.table)
            if published.content == content:
                snapshot_id = warehouse.snapshot_id(table)
                if published_inputs(warehouse.catalog, table) != outcome.inputs:
                    _record_inputs(warehouse, table, snapshot_id, outcome.inputs)
                return Published(outcome.model, table, "unchanged", rows=rows, snapshot_id=snapshot_id)
            fingerprint: Future[tuple[int, str]] = Future()
            fingerprint.set_result((rows, content))
        else:
            fingerprint = side.submit(_content_on_own_cursor, con, outcome.table)

        def with_content() -> dict[str, str]:
            return {**properties, CONTENT_PROPERTY: fingerprint.result()[1]}

        try:
            result = warehouse.write(table, _frames(con, outcome.table), mode="replace", source="transform",
                                     properties=with_content)  # fmt: skip
        except Exception as error:  # noqa: BLE001 - one table's failure; its downstream is held back, others go on
            return Published(outcome.model, table, "failed", detail=f"{type(error).__name__}: {error}",
                             seconds=time.perf_counter() - started)  # fmt: skip
    return Published(outcome.model, table, "published", rows=result.rows_written, snapshot_id=result.snapshot_id,
                     seconds=time.perf_counter() - started)  # fmt: skip


def _content_on_own_cursor(con: Any, table: str) -> tuple[int, str]:
    """``content_of`` on a cursor of its own (a DuckDB connection is used by one thread at a time)."""
    cursor = con.cursor()
    try:
        return content_of(cursor, table)
    finally:
        cursor.close()


def _record_inputs(warehouse: Any, table: str, snapshot_id: int | None, inputs: dict[str, Any]) -> None:
    """Same content from newer inputs: say so in a table property (no new snapshot), so the next run does not
    restate the model again for inputs it has already seen."""
    record = json.dumps({"snapshot_id": snapshot_id, "inputs": inputs}, sort_keys=True)
    with warehouse.catalog.load_table(table).transaction() as txn:
        txn.set_properties({CHECKED_PROPERTY: record})
