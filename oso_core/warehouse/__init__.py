"""The lake: ``Warehouse.write`` for every source, ``Warehouse.read``/``sql`` for everyone else.

No flow touches pyiceberg: a flow hands frames to ``Warehouse.write`` with the mode its source declares.

Modes: ``append``; ``replace`` (the table becomes exactly the data, its schema too: columns the data no longer has
are dropped in the same commit, kept columns keep their field ids so older snapshots still read them); ``merge`` on
``key`` (duplicate keys are an error naming the key unless ``dedupe="last"``); ``overwrite_partitions`` with
``partition_by`` ``"day(col)"``, ``"week(col)"`` (stored as day partitions, overwritten in whole ISO weeks),
``"month(col)"`` or ``"col"``.
Every call is one Iceberg commit: ``data`` (a frame, a LazyFrame or an iterator of frames, streamed) is staged
as data files first, then committed at once; on failure the table stays at its previous snapshot. Note that
``append`` is the one mode where rerunning a call adds the rows again: use ``merge`` for idempotent reloads.
Before the commit, the staged data passes the table's data-quality gate (``oso_core.warehouse.quality``: the checks
its ``TableSpec`` declares, and for a replace the defaults refusing to empty a table or drop over half its rows);
a failure raises ``QualityGateError`` and commits nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pyiceberg.exceptions import NoSuchTableError

from oso_core.base.run_context import flow_run_id
from oso_core.warehouse.errors import WarehouseError
from oso_core.warehouse.identifiers import check_table_name

if TYPE_CHECKING:
    import duckdb
    import polars as pl
    from pyiceberg.catalog import Catalog

    from oso_core.warehouse.catalog import CatalogConfig
    from oso_core.warehouse.commit import RetryPolicy
    from oso_core.warehouse.quality import Check
    from oso_core.warehouse.writer import FrameLike, IcebergWriter, Properties, WriteResult

__all__ = ["CatalogConfig", "QualityGateError", "RetryPolicy", "Warehouse", "WarehouseError", "WriteResult"]


def __getattr__(name: str) -> Any:
    """``WriteResult`` on first use: the writer imports pyiceberg's Arrow I/O and Polars, which a reader (or the
    listing of ``python -m oso_core.warehouse.query``) does not need; ``CatalogConfig`` too: the catalog module imports
    pyiceberg's catalogs and SQLAlchemy, which a source's ``--help`` (reading ``oso_core.warehouse.quality``) does
    not need."""
    if name == "CatalogConfig":
        from oso_core.warehouse.catalog import CatalogConfig

        return CatalogConfig
    if name == "WriteResult":
        from oso_core.warehouse.writer import WriteResult

        return WriteResult
    if name == "QualityGateError":
        from oso_core.warehouse.quality import QualityGateError

        return QualityGateError
    if name == "RetryPolicy":
        from oso_core.warehouse.commit import RetryPolicy

        return RetryPolicy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class DeclaredSource(Protocol):
    """What ``write_table`` needs of a source's declaration (``oso_core.model.sources.Source``): its name, its
    tables' specs and their qualified names. Structural, so the lake (a layer below the model) never imports it."""

    @property
    def name(self) -> str: ...

    def table(self, name: str) -> Any: ...

    def qualified(self, table: str) -> str: ...


class Warehouse:
    """One lake (one catalog): writes with declared modes, reads back as Polars or SQL."""

    def __init__(
        self, catalog: Catalog | None = None, config: CatalogConfig | None = None, retry: RetryPolicy | None = None
    ):
        from oso_core.warehouse.catalog import open_catalog

        self.catalog = catalog or open_catalog(config)
        self._retry = retry
        self._writer: IcebergWriter | None = None
        self._duckdb: duckdb.DuckDBPyConnection | None = None
        self._duckdb_lock = threading.Lock()

    @property
    def writer(self) -> IcebergWriter:
        """The writer, imported and built on the first write (a read-only use never loads it)."""
        if self._writer is None:
            from oso_core.warehouse.writer import IcebergWriter

            self._writer = IcebergWriter(self.catalog, self._retry)
        return self._writer

    def write(
        self,
        table: str,
        data: FrameLike,
        *,
        mode: str = "append",
        key: tuple[str, ...] | list[str] | None = None,
        partition_by: str | None = None,
        dedupe: str = "error",
        source: str | None = None,
        properties: Properties | None = None,
        key_determines_partition: bool = False,
        checks: Sequence[Check] = (),
    ) -> WriteResult:
        """Write ``data`` to ``table`` (``namespace.name``, both snake_case) in one Iceberg commit, if it passes
        ``checks`` and the defaults of ``mode``.

        ``properties``: the snapshot's properties, or a function returning them that the writer calls once every
        row is staged (for a value computed while the rows are written); ``oso.source`` and ``oso.flow_run_id``
        are set unless given.

        ``key_determines_partition``: see ``TableSpec`` (a merge then reads only the change set's partitions).
        """
        check_table_name(table, source)
        defaults = {"oso.source": source or table.rsplit(".", 1)[0], "oso.flow_run_id": flow_run_id() or ""}
        props: Properties
        if callable(properties):
            late = properties

            def props() -> Mapping[str, str]:  # the writer calls it once every row is staged
                return {**defaults, **late()}
        else:
            props = {**defaults, **(properties or {})}
        return self.writer.write(
            table,
            data,
            mode=mode,
            key=key,
            partition_by=partition_by,
            dedupe=dedupe,
            properties=props,
            key_determines_partition=key_determines_partition,
            checks=checks,
        )

    def write_table(self, source: DeclaredSource, table: str, data: FrameLike, **kwargs) -> WriteResult:
        """Write ``<namespace>.<table>`` with the mode, key, partitioning and checks the source declares for it."""
        spec = source.table(table)
        return self.write(
            source.qualified(table),
            data,
            mode=spec.mode,
            key=spec.key or None,
            partition_by=spec.partition_by,
            source=source.name,
            key_determines_partition=spec.key_determines_partition,
            checks=spec.checks,
            **{"dedupe": spec.dedupe, **kwargs},
        )

    def write_tables(self, source: DeclaredSource, frames: Mapping[str, FrameLike]) -> list[WriteResult]:
        """Each of a source's tables in its own commit, in order; extract everything first, then call this,
        so bad input found during extraction commits nothing."""
        return [self.write_table(source, table, data) for table, data in frames.items()]

    def read(self, table: str) -> pl.DataFrame:
        from oso_core.warehouse.reader import read_table

        return read_table(self.catalog, table)

    def sql(self, query: str) -> pl.DataFrame:
        """The query's result over the tables' current snapshots (``reader.sql``).

        One DuckDB connection per lake, opened on the first query: opening one and loading its extensions costs
        ~0.3 s, more than most queries. Each query maps the tables it names afresh (and forgets those the lake no
        longer has), so a reused connection never answers from an older snapshot. Queries take turns on it: a
        DuckDB connection runs one statement at a time.
        """
        from oso_core.warehouse.reader import duckdb_connection, sql

        with self._duckdb_lock:
            if self._duckdb is None:
                self._duckdb = duckdb_connection()
            return sql(self.catalog, query, self._duckdb)

    def exists(self, table: str) -> bool:
        return self.catalog.table_exists(table)

    def snapshot_id(self, table: str) -> int | None:
        try:
            snap = self.catalog.load_table(table).current_snapshot()
        except NoSuchTableError:
            return None
        return snap.snapshot_id if snap else None
