"""crates: the crates.io database dump (``db-dump.tar.gz``), every CSV into ``crates.<csv name>``.

As OSO's archive2bq asset ``rust/crates``: every ``*.csv`` at most three folders deep (the dump keeps them in
``<timestamp>/data/``) replaces the table named after it. Quoted values may span lines. OSO overrides one column,
``crates.id`` → INTEGER; BigQuery then takes every other column of that table from the header as STRING. We keep
strings for every other column of every table: types are decided downstream, and a string never fails to load
when upstream changes a column's content. The archive is streamed from disk, never unpacked or held in memory;
all CSVs are parsed and validated (staged) before the first table is committed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl

from oso_core import Source, SourceRun, TableSpec, source_flow, stage_archive_csvs

ARCHIVE_PATH = "/db-dump.tar.gz"
# The CSVs of the dump as crates.io exports them (crates_io_database_dump's export.sql); a new CSV is loaded too.
DUMP_TABLES = (
    "categories",
    "crate_downloads",
    "crate_owners",
    "crates",
    "crates_categories",
    "crates_keywords",
    "default_versions",
    "dependencies",
    "keywords",
    "metadata",
    "reserved_crate_names",
    "teams",
    "users",
    "version_downloads",
    "versions",
)
COLUMN_TYPES: dict[str, dict[str, pl.DataType]] = {"crates": {"id": pl.Int64()}}

SOURCE = Source(
    name="crates",
    description="crates.io database dump: every CSV of db-dump.tar.gz",
    base_url="https://static.crates.io",
    tables=tuple(TableSpec(name, mode="replace") for name in DUMP_TABLES),
    flow="crates_flow",
    tags=("archive",),
)


@source_flow(SOURCE)
def crates_flow(run: SourceRun, base_url: str | None = None) -> None:
    """Load every CSV of the crates.io database dump, each into its own table (replaced)."""
    summary, warehouse = run.summary, run.warehouse
    url = run.base_url(base_url) + ARCHIVE_PATH
    with run.download(url) as archive, tempfile.TemporaryDirectory(prefix="oso-crates-stage-") as stage:
        summary.notes.extend(archive.notes)
        staged = stage_archive_csvs(
            SOURCE.name, archive.path, Path(stage), column_types=COLUMN_TYPES, notes=summary.notes
        )
        declared = {spec.name for spec in SOURCE.tables}
        for table in staged:
            if table.name in declared:
                run.write({table.name: table.batches(SOURCE.name)})
                continue
            summary.notes.append(f"{table.member}: not in the known dump tables; loaded as crates.{table.name}")
            summary.add(
                warehouse.write(
                    f"{SOURCE.lake_namespace}.{table.name}",
                    table.batches(SOURCE.name),
                    mode="replace",
                    source=SOURCE.name,
                )
            )
        missing = sorted(declared - {table.name for table in staged})
        if missing:
            summary.notes.append(f"dump has no CSV for: {', '.join(missing)} (tables left as they were)")
