"""Reading the lake back: Polars for frames, DuckDB's iceberg extension for SQL.

DuckDB is an independent reader (it shares no code with the writer), which is why the tests and the
``oso_core.warehouse.query`` command use it. Its iceberg, avro and httpfs extensions come from PyPI wheels and are
loaded straight from the installed files (``LOAD '<path>'``): a plain ``LOAD iceberg`` would try to download them, and
``INSTALL`` copies ~80 MB into an extension folder, so a read-only lake home or a full disk broke every read (and
left the half-written copy behind). Nothing is installed or downloaded (``autoinstall_known_extensions`` off);
DuckDB spills to a folder of its own under the system temporary folder, which it creates only when it spills and
removes on close. A read writes nothing to the lake or its home.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from pathlib import Path

import duckdb
import polars as pl
from pyiceberg.catalog import Catalog

from oso_core.warehouse.duckdb_extensions import load_extension
from oso_core.warehouse.storage import attach_duckdb, is_object_store
from oso_core.warehouse.tables import load_table

# pyiceberg plans the scan; the optional polars_iceberg planner is not installed and would only warn.
os.environ.setdefault("POLARS_ICEBERG_PLANNER", "pyiceberg")

_TABLE_REF = re.compile(r"(?<![\w.\"'])([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)(?![\w.(])", re.IGNORECASE)


def sql_string(text: str) -> str:
    """``text`` as a DuckDB string literal (paths and names built into SQL: the one quoting rule)."""
    return "'" + text.replace("'", "''") + "'"


def sql_name(identifier: str) -> str:
    """``identifier`` as a quoted DuckDB identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def duckdb_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the iceberg extension loaded offline, writing nothing unless it must spill."""
    spill = Path(tempfile.gettempdir()) / f"oso-duckdb-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "temp_directory": str(spill)})
    for name in ("avro", "iceberg"):  # iceberg reads its manifests with avro
        load_extension(con, name)
    return con


def metadata_path(catalog: Catalog, identifier: str) -> str:
    return load_table(catalog, identifier).metadata_location.removeprefix("file://")


def read_table(catalog: Catalog, identifier: str) -> pl.DataFrame:
    """A whole table as a Polars frame (Polars reads local files itself; pyiceberg only plans them).

    Object-store files are read through the table's own FileIO (``reader_override="pyiceberg"``): Polars' native
    reader would need the endpoint and credentials again in its own terms, and has no GCS emulator support.
    A table whose metadata file is unreadable is a ``BrokenTableError`` naming it and the file.
    """
    table = load_table(catalog, identifier)
    if is_object_store(table.metadata_location):
        return pl.scan_iceberg(table, reader_override="pyiceberg").collect()
    return pl.scan_iceberg(table).collect()


def sql(catalog: Catalog, query: str, con: duckdb.DuckDBPyConnection | None = None) -> pl.DataFrame:
    """Run SQL over the lake: every ``namespace.table`` the query names is mapped to its current snapshot.

    DuckDB reads an object-store warehouse through httpfs with the catalog's endpoint and credentials; where it
    cannot (see ``storage.attach_duckdb``) the snapshot is read through pyiceberg and handed to DuckDB as Arrow.
    """
    con = con or duckdb_connection()
    known = {".".join(ident) for ns in catalog.list_namespaces() for ident in catalog.list_tables(ns)}
    remote: bool | None = None  # whether DuckDB reads the object store itself, decided on its first table
    for schema, table in {(m.group(1), m.group(2)) for m in _TABLE_REF.finditer(query)}:
        ident = f"{schema}.{table}"
        if ident not in known:  # a connection reused across queries may still hold the view of a dropped table
            con.execute(f"DROP VIEW IF EXISTS {sql_name(schema)}.{sql_name(table)}")
            continue
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        loaded = load_table(catalog, ident)  # a corrupt metadata file: BrokenTableError naming table and file
        location = loaded.metadata_location
        if is_object_store(location):
            if remote is None:
                remote = attach_duckdb(con, location, catalog.properties)
            if not remote:
                arrow = loaded.scan().to_arrow()
                con.register(f"__oso_{schema}__{table}", arrow)
                con.execute(f'CREATE OR REPLACE VIEW "{schema}"."{table}" AS SELECT * FROM "__oso_{schema}__{table}"')
                continue
            path = location.replace("'", "''")
        else:
            path = Path(location.removeprefix("file://")).as_posix().replace("'", "''")
        con.execute(f'CREATE OR REPLACE VIEW "{schema}"."{table}" AS SELECT * FROM iceberg_scan(\'{path}\')')
    return con.execute(query).pl()
