"""The embedded gateway's inputs: every lake table as a read-only DuckDB view, pinned at the run's start.

Each view is ``SELECT * FROM iceberg_scan('<metadata.json>')`` over the metadata file current when the run starts,
so a load committing while the transform runs changes nothing it reads (the next run reads the new snapshot). The
pins (table, metadata file, snapshot id) are recorded in the run's summary and in each published model's snapshot
properties. Each table is exposed twice, as ``<namespace>.<table>`` and under the naming rule of
``@oso_source('bigquery.<namespace>.<table>')`` (setting ``transform.source_schema``, OSO's local DuckDB rule
``sources__{catalog}__{db}`` by default), so a project written for OSO's local gateway runs unchanged.

The views live in a DuckDB file in the lake home (``$OSO_HOME/transform/transform.duckdb``) that sqlmesh's DuckDB
gateway opens as its database; the file is the gateway's, never the lake's: the Iceberg tables are only read.
They are written through that gateway's own connection, which loads the iceberg extension by name from the
transform's extension directory (``gateway.install_extensions`` links the wheel's file there: nothing is downloaded).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
from pyiceberg.catalog import Catalog

from oso_core.transform.errors import TransformError
from oso_core.warehouse.reader import sql_name, sql_string
from oso_core.warehouse.storage import is_object_store

SOURCE_CATALOG = "bigquery"  # the catalog of OSO's @oso_source('bigquery.<ns>.<table>') names


@dataclass(frozen=True)
class Pin:
    """One lake table as the run reads it: the metadata file and snapshot current at the run's start."""

    table: str
    metadata_location: str
    snapshot_id: int | None

    @property
    def namespace(self) -> str:
        return self.table.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.table.split(".", 1)[1]


def source_schema(rule: str, namespace: str) -> str:
    """The schema ``rule`` exposes a namespace under: ``sources__{catalog}__{db}`` → ``sources__bigquery__ns``."""
    return rule.format(catalog=SOURCE_CATALOG, db=namespace)


def input_tables(catalog: Catalog, output_namespace: str) -> list[str]:
    """Every lake table a model may read: all but the published outputs and the lake's own (``_``) namespaces."""
    tables = []
    for ns in catalog.list_namespaces():
        name = ".".join(ns)
        if name == output_namespace or name.startswith("_"):
            continue
        tables.extend(".".join(ident) for ident in catalog.list_tables(ns))
    return sorted(tables)


def pin_tables(catalog: Catalog, tables: list[str]) -> dict[str, Pin]:
    """The current metadata file and snapshot of each table, read once, now."""
    pins = {}
    for table in tables:
        loaded = catalog.load_table(table)
        snapshot = loaded.current_snapshot()
        pins[table] = Pin(table, loaded.metadata_location, snapshot.snapshot_id if snapshot else None)
    return pins


def write_views(con: duckdb.DuckDBPyConnection, catalog: str, pins: dict[str, Pin], rule: str) -> dict[str, str]:
    """(Re)write the pinned views into the gateway database, attached to ``con`` as ``catalog``; returns
    ``{schema.table: lake table}`` for every name a model may use.

    ``con`` is sqlmesh's own connection to the gateway file (the runner's), so the iceberg extension is loaded once
    per run, by the first view, and is loaded already when the models read the views (a connection of our own
    loaded both extensions again, ~0.2 s of every run). Views of tables the lake no longer has are dropped, so a
    model reading one fails at once, naming it, instead of reading a stale snapshot.
    """
    remote = [p.table for p in pins.values() if is_object_store(p.metadata_location)]
    if remote:
        raise TransformError(
            f"the DuckDB gateway reads a local warehouse only; {remote[0]} is in an object store "
            "(DAGSTER__ICEBERG__WAREHOUSE): run the transform on the trino gateway (DAGSTER__TRANSFORM__GATEWAY=trino)"
        )
    names: dict[str, str] = {}
    wanted: dict[str, set[str]] = {}
    for pin in pins.values():
        for schema in dict.fromkeys((pin.namespace, source_schema(rule, pin.namespace))):
            wanted.setdefault(schema, set()).add(pin.name)
            names[f"{schema}.{pin.name}"] = pin.table
    _drop_stale(con, catalog, wanted)
    database = sql_name(catalog)
    for pin in pins.values():
        path = pin.metadata_location.removeprefix("file://")
        for schema in dict.fromkeys((pin.namespace, source_schema(rule, pin.namespace))):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {database}.{sql_name(schema)}")
            con.execute(
                f"CREATE OR REPLACE VIEW {database}.{sql_name(schema)}.{sql_name(pin.name)} AS "
                f"SELECT * FROM iceberg_scan({sql_string(path)})"
            )
    return names


def _drop_stale(con: duckdb.DuckDBPyConnection, catalog: str, wanted: dict[str, set[str]]) -> None:
    """Drop the views this module wrote earlier (in schemas it writes) that are no longer lake tables."""
    rows = con.execute(
        "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = ? AND NOT internal "
        "AND sql ILIKE '%iceberg_scan(%'",
        [catalog],
    ).fetchall()
    for schema, view in rows:
        if view not in wanted.get(schema, set()):
            con.execute(f"DROP VIEW {sql_name(catalog)}.{sql_name(schema)}.{sql_name(view)}")
