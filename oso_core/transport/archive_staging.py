"""Archive staging: parse every table of a multi-table archive to local parquet before the first commit.

A tar.gz can only be read front to back, and the crates.io dump holds some fifteen CSVs. Writing each table
to Iceberg as its member streams past would leave the first tables committed when a later member turns out
malformed. Instead every member is parsed and validated into a parquet file on local disk (what OSO's
archive2bq did with its GCS staging folder), and only when all of them are good does the flow commit them,
one ``Warehouse.write`` per table, reading each staged file back in bounded batches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from oso_core.errors import BadFileError
from oso_core.transport.archive import csv_batches, iter_members, parquet_batches
from oso_core.warehouse.types import to_arrow

# A lake table name: snake_case, so it needs no quoting in SQL (what archive2bq's BigQuery tables had too).
TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class StagedTable:
    """One table parsed and validated to a local parquet file."""

    name: str
    member: str
    path: Path
    rows: int

    def batches(self, source: str) -> Iterator[pl.DataFrame]:
        """The staged rows in frames sized for the writer (staged row groups joined up to the writer's batch)."""
        return parquet_batches(source, self.path, file=self.member)


def stage_frames(frames: Iterable[pl.DataFrame], path: Path) -> int:
    """Write frames to one parquet file as they come (one row group per frame); return the row count."""
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for frame in frames:
            table = to_arrow(frame)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table)
            rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


def table_name_problem(table: str) -> str | None:
    """Why a member's base name cannot name a lake table, or None when it can."""
    if not table:
        return "its name gives an empty table name"
    if not TABLE_NAME.match(table) or not table.strip("_"):
        return f"{table!r} is not a snake_case table name"
    return None


def stage_archive_csvs(
    source: str,
    archive: Path,
    directory: Path,
    *,
    pattern: str = "*.csv",
    max_depth: int = 3,
    column_types: Mapping[str, Mapping[str, pl.DataType]] | None = None,
    notes: list[str] | None = None,
) -> list[StagedTable]:
    """Every CSV member of ``archive`` → ``directory/<table>.parquet``, table named after the member's base name.

    ``column_types`` maps table → column → type (archive2bq's schema overrides); other columns stay strings.
    A member whose base name makes no table name (``.csv``, ``._crates.csv`` from a Mac, ``Crate Owners.csv``)
    is not a table of the dump: it is skipped and named in ``notes`` (the run summary's), so one odd file
    neither fails the load nor creates a table the lake's readers trip over.
    Raises ``BadFileError`` for a corrupt archive, a malformed CSV, two members with one table name, or an
    archive without any usable matching file (archive2bq's "No valid files found in the archive").
    """
    directory.mkdir(parents=True, exist_ok=True)
    staged: dict[str, StagedTable] = {}
    skipped: list[str] = []
    for member in iter_members(source, archive, pattern=pattern, max_depth=max_depth):
        table = member.stem
        problem = table_name_problem(table)
        if problem:
            skipped.append(f"{member.name} ({problem})")
            continue
        if table in staged:
            raise BadFileError(
                source, archive.name, f"two files map to table {table!r}: {staged[table].member}", member=member.name
            )
        path = directory / f"{table}.parquet"
        frames = csv_batches(
            source, archive.name, member.stream, member=member.name, column_types=(column_types or {}).get(table)
        )
        staged[table] = StagedTable(table, member.name, path, stage_frames(frames, path))
    if notes is not None and skipped:
        notes.append(f"archive member(s) skipped, no table name: {', '.join(skipped)}")
    if not staged:
        also = f" (skipped: {', '.join(skipped)})" if skipped else ""
        raise BadFileError(source, archive.name, f"no files matching {pattern!r} within {max_depth} folders{also}")
    return list(staged.values())
