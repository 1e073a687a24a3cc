"""``python -m oso_core.warehouse.query "SELECT ..."``: SQL over the lake, the local stand-in for pyoso.

DuckDB's iceberg extension reads each named table's current snapshot straight from its metadata file, so
the query sees exactly what the catalog committed, through a reader that shares no code with the writer.
``from oso_core.warehouse.query import Client`` is the pyoso-shaped client for notebooks
(``oso_core.warehouse.query_client``).

The listing names every table, with its row count and current snapshot; a table whose metadata file cannot be
read (overwritten, truncated, deleted) is listed too, marked with the file and what is wrong with it, so one broken
table hides none of the others. A query of that table fails naming it and the file.

Start-up: ``--help`` imports nothing but this file, and the listing (no query) reads the catalog only; DuckDB and
Polars load when a query runs (and the client classes when first named).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

    from oso_core.warehouse.query_client import Client, ClientConfig, OsoError, QueryResponse

__all__ = ["Client", "ClientConfig", "OsoError", "QueryResponse", "list_tables", "main"]
_CLIENT_NAMES = {"Client", "ClientConfig", "OsoError", "QueryResponse"}
COLUMNS = ("table", "rows", "snapshot_id")
PROBLEM = "problem"  # CSV, JSON and the frame carry it as a column; the text table lists it under the rows


def __getattr__(name: str) -> Any:
    """The pyoso-shaped client on first use (it imports DuckDB and Polars)."""
    if name in _CLIENT_NAMES:
        import oso_core.warehouse.query_client

        return getattr(oso_core.warehouse.query_client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def table_rows(catalog: Catalog) -> list[dict[str, Any]]:
    """Every table of the catalog with its row count and current snapshot, by name; ``problem`` is empty, or for
    a table whose metadata file cannot be read, that file and what is wrong (its ``rows`` then None)."""
    from oso_core.warehouse.errors import BrokenTableError
    from oso_core.warehouse.tables import load_table

    rows = []
    for namespace in catalog.list_namespaces():
        for identifier in catalog.list_tables(namespace):
            name = ".".join(identifier)
            try:
                snapshot = load_table(catalog, name).current_snapshot()
            except BrokenTableError as broken:
                problem = f"metadata file {broken.file} {broken.problem}"
                rows.append({"table": name, "rows": None, "snapshot_id": "", PROBLEM: problem})
                continue
            rows.append(
                {
                    "table": name,
                    "rows": int(snapshot.summary.get("total-records", 0)) if snapshot and snapshot.summary else 0,
                    "snapshot_id": str(snapshot.snapshot_id) if snapshot else "",
                    PROBLEM: "",
                }
            )
    return sorted(rows, key=lambda row: row["table"])


def list_tables(warehouse: Any) -> Any:
    """The lake's tables as a Polars frame (``table``, ``rows``, ``snapshot_id``, ``problem``: see
    :func:`table_rows`)."""
    import polars as pl

    schema = {"table": pl.String, "rows": pl.Int64, "snapshot_id": pl.String, PROBLEM: pl.String}
    return pl.DataFrame(table_rows(warehouse.catalog), schema=schema)


def _print_rows(rows: list[dict[str, Any]], fmt: str) -> None:
    """The listing without Polars: an aligned text table, CSV, or JSON rows (as Polars' ``write_json``)."""
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=(*COLUMNS, PROBLEM), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    elif fmt == "json":
        sys.stdout.write(json.dumps(rows) + "\n")
    else:
        cells = [list(COLUMNS)] + [["?" if row[c] is None else str(row[c]) for c in COLUMNS] for row in rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(COLUMNS))]
        for n, line in enumerate(cells):  # the row count right-aligned, the names left
            padded = (c.rjust(w) if i == 1 else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True)))
            print("  ".join(padded).rstrip())
            if n == 0:
                print("  ".join("-" * w for w in widths))
        broken = [row for row in rows if row[PROBLEM]]
        for row in broken:
            print(f"{row['table']}: unreadable: {row[PROBLEM]}")
        print(f"({len(rows)} tables{f', {len(broken)} unreadable' if broken else ''})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m oso_core.warehouse.query",
        description="Run SQL over the lake (tables are named namespace.table, e.g. ossd.projects).",
    )
    parser.add_argument("sql", nargs="?", help="the query; omit it to list the lake's tables")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    parser.add_argument("--max-rows", type=int, default=100, help="rows to print in table format (default 100)")
    args = parser.parse_args(argv)
    from oso_core.warehouse import Warehouse

    try:
        warehouse = Warehouse()  # a catalog that does not answer, or a warehouse that is a file, fails here
        if not args.sql:
            _print_rows(table_rows(warehouse.catalog), args.format)
            return 0
        from oso_core.warehouse.query_client import Client

        # the read-only client's path: the parse check, then DuckDB kept to the folders of the tables read
        result = Client().to_polars(args.sql)
    except Exception as exc:  # noqa: BLE001 - a bad query or setting is a user error: one line, non-zero exit
        text = str(exc)
        print(text if text.startswith("query failed") else f"{'query' if args.sql else 'listing'} failed: {text}",
              file=sys.stderr)  # fmt: skip
        return 1
    if args.format == "csv":
        sys.stdout.write(result.write_csv())
    elif args.format == "json":
        sys.stdout.write(result.write_json() + "\n")
    else:
        import polars as pl

        with pl.Config(tbl_rows=args.max_rows, tbl_cols=-1, fmt_str_lengths=60, tbl_width_chars=160):
            print(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
