"""``python -m oso_core.query "SELECT ... FROM ossd.projects"``: SQL over the lake, the local stand-in for pyoso.

DuckDB's iceberg extension reads each named table's current snapshot straight from its metadata file, so
the query sees exactly what the catalog committed, through a reader that shares no code with the writer.
``from oso_core.query import Client`` is the pyoso-shaped client for notebooks (``oso_core.query_client``).
"""

from __future__ import annotations

import argparse
import sys

import polars as pl

from oso_core.query_client import Client, ClientConfig, OsoError, QueryResponse
from oso_core.warehouse import Warehouse

__all__ = ["Client", "ClientConfig", "OsoError", "QueryResponse", "list_tables", "main"]


def list_tables(warehouse: Warehouse) -> pl.DataFrame:
    catalog = warehouse.catalog
    rows = []
    for namespace in catalog.list_namespaces():
        for identifier in catalog.list_tables(namespace):
            name = ".".join(identifier)
            table = catalog.load_table(name)
            snapshot = table.current_snapshot()
            rows.append(
                {
                    "table": name,
                    "rows": int(snapshot.summary.get("total-records", 0)) if snapshot and snapshot.summary else 0,
                    "snapshot_id": str(snapshot.snapshot_id) if snapshot else "",
                }
            )
    return pl.DataFrame(rows, schema={"table": pl.String, "rows": pl.Int64, "snapshot_id": pl.String}).sort("table")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m oso_core.query",
        description="Run SQL over the lake (tables are named namespace.table, e.g. ossd.projects).",
    )
    parser.add_argument("sql", nargs="?", help="the query; omit it to list the lake's tables")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    parser.add_argument("--max-rows", type=int, default=100, help="rows to print in table format (default 100)")
    args = parser.parse_args(argv)
    warehouse = Warehouse()
    try:
        result = warehouse.sql(args.sql) if args.sql else list_tables(warehouse)
    except Exception as exc:  # noqa: BLE001 - a bad query is a user error: one line, non-zero exit
        print(f"query failed: {exc}", file=sys.stderr)
        return 1
    if args.format == "csv":
        sys.stdout.write(result.write_csv())
    elif args.format == "json":
        sys.stdout.write(result.write_json() + "\n")
    else:
        with pl.Config(tbl_rows=args.max_rows, tbl_cols=-1, fmt_str_lengths=60, tbl_width_chars=160):
            print(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
