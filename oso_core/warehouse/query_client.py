"""A pyoso-shaped client over the lake: notebooks written for ``pyoso`` run here by changing their import line.

::

    from oso_core.warehouse.query import Client          # was: from pyoso import Client
    client = Client()
    df = client.to_pandas("SELECT name FROM ossd.projects")
    response = client.query("SELECT ... FROM ossd.projects JOIN ossd.repositories ...")
    response.analytics.print_tree()             # each table read: snapshot id, load time, source run

pyoso posts SQL to OSO's API and gets back rows plus the freshness of every asset behind them. Here the SQL runs
in DuckDB over the lake's Iceberg tables, and "freshness" is what Iceberg records: for each table the query reads,
the snapshot it read (the one current when the query started, so data and metadata agree), that snapshot's commit
time, and the source and Prefect flow run our writer stores in the snapshot summary (``oso.source``,
``oso.flow_run_id``).

The lake is the configured one (``CatalogConfig.from_settings``: embedded SQLite, a Postgres-backed catalog, REST;
a ``file://``, ``gs://`` or ``s3://`` warehouse, the latter two read by DuckDB's httpfs), opened read-only:
the SQLite catalog in SQLite's read-only mode, a Postgres
catalog in read-only transactions (``default_transaction_read_only``), never creating the catalog's tables or
folders; and only a single ``SELECT`` (or ``EXPLAIN``) statement is accepted, checked with DuckDB's own parser.
A REST catalog is only read through (the client has no write path), the server is not asked to enforce it.

The SQL is DuckDB's dialect with tables named ``namespace.table`` (pyoso sends Trino SQL against OSO's marts).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError, ValidationError
from sqlalchemy.engine import make_url

from oso_core.errors import OsoError  # pyoso's error type: a refused query, or no lake to read
from oso_core.warehouse.catalog import CatalogConfig
from oso_core.warehouse.errors import BrokenTableError
from oso_core.warehouse.reader import duckdb_connection, sql_name, sql_string
from oso_core.warehouse.storage import attach_duckdb, is_object_store
from oso_core.warehouse.tables import load_table

if TYPE_CHECKING:
    import pandas as pd


def _explained(statement: str) -> str | None:
    """The statement an ``EXPLAIN [ANALYZE] [(options)]`` wraps (DuckDB runs it under ``ANALYZE``), or None.

    Found with DuckDB's own tokenizer, so comments and case do not matter; anything unexpected gives None.
    """
    tokens = [start for start, _ in duckdb.tokenize(statement)]
    words = [re.match(r"\w*", statement[start:]).group().upper() for start in tokens]  # type: ignore[union-attr]
    if not words or words[0] != "EXPLAIN":
        return None
    i = 1
    if i < len(words) and words[i] in ("ANALYZE", "ANALYSE"):
        i += 1
    if i < len(tokens) and statement[tokens[i]] == "(":
        depth = 0
        for close in range(i, len(tokens)):
            depth += {"(": 1, ")": -1}.get(statement[tokens[close]], 0)
            if depth == 0:
                break
        i = close + 1
    return statement[tokens[i] :] if i < len(tokens) else None


def check_read_only(query: str) -> str:
    """``query`` if it is one plain ``SELECT`` (``WITH ... SELECT`` too) or an ``EXPLAIN`` of one; else ``OsoError``.

    Checked with DuckDB's parser, for the client and ``python -m oso_core.warehouse.query`` alike: ``EXPLAIN ANALYZE``
    runs the statement it wraps, so an ``EXPLAIN`` is judged by that statement (``EXPLAIN ANALYZE COPY ... TO`` writes).
    """
    if not query or not query.strip():
        raise OsoError("Query cannot be empty.")
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise OsoError(f"query failed: {exc}") from None
    if len(statements) != 1:
        raise OsoError("Only single queries are supported. Please provide a single SQL statement.")
    statement = statements[0]
    if statement.type == duckdb.StatementType.EXPLAIN:
        inner = _explained(statement.query)
        try:
            explained = duckdb.extract_statements(inner) if inner is not None else []
        except duckdb.Error:
            explained = []
        if len(explained) != 1 or explained[0].type != duckdb.StatementType.SELECT:
            kind = explained[0].type.name if len(explained) == 1 else "an unrecognised statement"
            raise OsoError(f"the lake is read-only here: EXPLAIN of {kind} refused, only EXPLAIN of a SELECT runs")
    elif statement.type != duckdb.StatementType.SELECT:
        raise OsoError(f"the lake is read-only here: {statement.type.name} refused, only a SELECT (or EXPLAIN) runs")
    return query


@dataclass
class ClientConfig:
    """pyoso's client options; ``base_url`` has no meaning over a local lake and is ignored."""

    base_url: str | None = None


@dataclass
class QueryData:
    """pyoso's raw result: column names and rows."""

    columns: list[str]
    data: list[list[Any]]


@dataclass(frozen=True)
class MaterializationStatus:
    """pyoso's freshness record; ``latest_materialization`` is the read snapshot's commit time (UTC)."""

    latest_materialization: datetime | None = None
    partition_status: None = None


@dataclass(frozen=True)
class DataStatus:
    """One table the query read: pyoso's ``key``/``status``/``dependencies`` plus what Iceberg knows of it."""

    key: str
    status: MaterializationStatus
    snapshot_id: int | None
    source: str = ""
    flow_run_id: str = ""
    mode: str = ""
    rows: int | None = None
    dependencies: list[str] = field(default_factory=list)

    @property
    def loaded_at(self) -> datetime | None:
        return self.status.latest_materialization

    def __str__(self) -> str:
        if self.snapshot_id is None:
            return f"{self.key} (no snapshot: the table was never written)"
        loaded = self.loaded_at.strftime("%Y-%m-%d %H:%M:%S UTC") if self.loaded_at else "?"
        run = f", run {self.flow_run_id}" if self.flow_run_id else ", written outside a flow run"
        return f"{self.key} (Last: {loaded}, snapshot {self.snapshot_id}, source {self.source or '?'}{run})"


class DataAnalytics:
    """pyoso's container of ``DataStatus`` by key. Lake tables are sources: none depends on another."""

    def __init__(self, analytics_data: dict[str, DataStatus]):
        self._analytics_data = analytics_data

    def __iter__(self) -> Iterator[tuple[str, DataStatus]]:
        return iter(self._analytics_data.items())

    def __contains__(self, key: str) -> bool:
        return key in self._analytics_data

    def __len__(self) -> int:
        return len(self._analytics_data)

    @property
    def root_keys(self) -> list[str]:
        return list(self._analytics_data)

    @property
    def sources(self) -> list[DataStatus]:
        return [status for status in self._analytics_data.values() if not status.dependencies]

    def get(self, key: str) -> DataStatus | None:
        return self._analytics_data.get(key)

    def print_tree(self, key: str | None = None) -> None:
        keys = [key] if key is not None else self.root_keys
        for i, name in enumerate(keys):
            print(f"{'└── ' if i == len(keys) - 1 else '├── '}{self._analytics_data[name]}")


class QueryResponse:
    """pyoso's response: ``to_pandas()``, ``data``, ``analytics``; plus ``to_polars()`` and ``tables``."""

    def __init__(self, frame: pl.DataFrame, tables: list[DataStatus], include_analytics: bool = True):
        self._frame = frame
        self.tables = tables
        self._analytics = DataAnalytics({t.key: t for t in tables} if include_analytics else {})

    def to_polars(self) -> pl.DataFrame:
        return self._frame

    def to_pandas(self) -> pd.DataFrame:
        """Nullable pandas dtypes, as pyoso's ``DataFrame(...).convert_dtypes()``."""
        return self._frame.to_pandas().convert_dtypes()

    @cached_property
    def data(self) -> QueryData:
        return QueryData(columns=self._frame.columns, data=[list(row) for row in self._frame.rows()])

    @property
    def analytics(self) -> DataAnalytics:
        return self._analytics


def read_only_properties(config: CatalogConfig) -> dict[str, str]:
    """The catalog's pyiceberg properties, changed so the database itself refuses writes where it can."""
    props = config.properties()
    if config.type != "sql":
        return props
    props["init_catalog_tables"] = "false"
    url = make_url(config.uri)
    if url.get_backend_name() == "sqlite" and url.database:
        props["uri"] = f"sqlite:///file:{Path(url.database).resolve()}?mode=ro&uri=true"
    elif url.get_backend_name() == "postgresql":
        options = " ".join(filter(None, (url.query.get("options"), "-c default_transaction_read_only=on")))
        props["uri"] = url.update_query_dict({"options": options}).render_as_string(hide_password=False)
    return props


def open_read_only(config: CatalogConfig) -> Catalog:
    """The configured catalog, read-only; an embedded lake that was never written is an ``OsoError``."""
    url = make_url(config.uri) if config.type == "sql" else None
    if url is not None and url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        raise OsoError(f"no lake at {config.redacted_uri()}: load a source first (e.g. ./dev demo)")
    return load_catalog(config.name, **read_only_properties(config))


def lock_down(con: duckdb.DuckDBPyConnection, locations: list[str]) -> None:
    """Keep ``con`` to reading the given table folders, whatever a query that got past the parser asks.

    The parse check (``check_read_only``) is the first wall; this is DuckDB's own: file access outside the tables'
    folders is refused (``read_text('/etc/passwd')``, ``read_csv`` of another path, a ``COPY``), and the
    configuration is locked so no statement can turn that back on. The folders must be allowed before external
    access goes off, or DuckDB refuses the lake's own files too; extensions were loaded before.
    """
    allowed = sorted({_folder(location) for location in locations})
    con.execute(f"SET allowed_directories = [{', '.join(sql_string(path) for path in allowed)}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def _folder(location: str) -> str:
    local = _local_path(location)
    return (Path(local).as_posix() if local is not None else location).rstrip("/") + "/"


def _local_path(location: str) -> str | None:
    if location.startswith("file://"):
        return location.removeprefix("file://")
    return location if location.startswith("/") else None


def _status(key: str, table: Any) -> DataStatus:
    snapshot = table.current_snapshot()
    if snapshot is None:
        return DataStatus(key, MaterializationStatus(), None)
    summary = snapshot.summary

    def prop(name: str) -> str:
        return (summary.get(name) if summary is not None else None) or ""

    rows = prop("total-records")
    return DataStatus(
        key=key,
        status=MaterializationStatus(datetime.fromtimestamp(snapshot.timestamp_ms / 1000, tz=UTC)),
        snapshot_id=snapshot.snapshot_id,
        source=prop("oso.source"),
        flow_run_id=prop("oso.flow_run_id"),
        mode=prop("oso.mode"),
        rows=int(rows) if rows else None,
    )


class Client:
    """pyoso's ``Client`` over the configured lake, read-only. ``api_key`` and ``client_opts`` are accepted and
    ignored so pyoso code constructs it unchanged; ``config`` picks another lake than the settings'."""

    def __init__(
        self,
        api_key: str | None = None,
        client_opts: ClientConfig | None = None,
        *,
        config: CatalogConfig | None = None,
    ):
        self.config = config or CatalogConfig.from_settings()
        self.catalog = open_read_only(self.config)

    def to_pandas(self, query: str) -> pd.DataFrame:
        return self.query(query).to_pandas()

    def to_polars(self, query: str) -> pl.DataFrame:
        return self.query(query).to_polars()

    def query(self, query: str, include_analytics: bool = True) -> QueryResponse:
        """Run one read-only statement; the response names every lake table it read and the snapshot read."""
        statement = check_read_only(query)  # before a connection: a refused query opens nothing
        con = duckdb_connection()
        try:
            folders: list[str] = []  # the folders of the tables read: all the files the query may touch
            tables = [self._bind(con, key, folders) for key in self._tables_named(statement)]
            lock_down(con, folders)
            frame = con.execute(query).pl()
        except duckdb.Error as exc:
            raise OsoError(f"query failed: {exc}") from None
        except BrokenTableError as exc:  # a table's metadata file is corrupt: the error names the table and the file
            raise OsoError(f"query failed: {exc}") from None
        finally:
            con.close()
        return QueryResponse(frame, tables, include_analytics)

    def _tables_named(self, query: str) -> list[str]:
        """``namespace.table`` names the query reads, per DuckDB's parser, that are tables of the lake."""
        names = sorted({name.split(" AS ", 1)[0].lower() for name in duckdb.get_table_names(query, qualified=True)})
        return [name for name in names if name.count(".") == 1 and self._exists(name)]

    def _exists(self, key: str) -> bool:
        try:
            return self.catalog.table_exists(key)
        except (NoSuchNamespaceError, NoSuchTableError):
            return False
        except (ValidationError, OSError):
            return True  # it exists, but its metadata file is unreadable: _bind raises the error naming both

    def _bind(self, con: duckdb.DuckDBPyConnection, key: str, folders: list[str]) -> DataStatus:
        """A view ``namespace.table`` over the table's current snapshot (its folder added to ``folders``); that
        snapshot's status."""
        table = load_table(self.catalog, key)
        folders.append(table.metadata.location)
        status = _status(key, table)
        namespace, name = key.split(".")
        view = f"{sql_name(namespace)}.{sql_name(name)}"
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {sql_name(namespace)}")
        local = _local_path(table.metadata_location)
        remote = (
            status.snapshot_id is not None
            and local is None
            and is_object_store(table.metadata_location)
            and attach_duckdb(con, table.metadata_location, self.catalog.properties)
        )
        if status.snapshot_id is not None and (local is not None or remote):
            # DuckDB reads the metadata file we loaded (locally, or from the object store through httpfs with the
            # warehouse's endpoint and credentials), so the data is exactly the snapshot reported
            path = (Path(local).as_posix() if local is not None else table.metadata_location).replace("'", "''")
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM iceberg_scan('{path}')")
        else:
            # no snapshot, or an object store DuckDB cannot authenticate to: pyiceberg reads the same snapshot
            if status.snapshot_id is not None:
                arrow = table.scan(snapshot_id=status.snapshot_id).to_arrow()
            else:
                arrow = table.schema().as_arrow().empty_table()
            relation = con.from_arrow(arrow)
            relation.create_view(f"__oso_{namespace}__{name}")
            con.execute(f'CREATE VIEW {view} AS SELECT * FROM "__oso_{namespace}__{name}"')
        return status


__all__ = [
    "Client",
    "ClientConfig",
    "DataAnalytics",
    "DataStatus",
    "MaterializationStatus",
    "OsoError",
    "QueryData",
    "QueryResponse",
    "check_read_only",
]
