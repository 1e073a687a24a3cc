"""opendevdata: the Open Dev Data datasets, one lake table per dataset file, named as OSO's models read them.

As OSO's ``assets/default/opendevdata.py``: the ``open-dev-data`` package's own downloader fetches the datasets
(OSO runs ``uvx open-dev-data download -o <tmpdir>``; here the same package, pinned in ``pyproject.toml``, runs in
a child process with its output streamed to the run's log; a non-zero exit fails the run). OSO's dlt asset then
wrote every file into one ``opendevdata.datasets`` table tagged ``_source_table``, but OSO's staging models read
one table per file (``opendevdata.ecosystems``, ``opendevdata.repos``, ``opendevdata.commits`` ...: the file's name
without ``.parquet``, as the package's own ``duckify`` names its tables), with the file's columns and types. So
each file replaces its own table here: ``<version>/repos.parquet`` → ``opendevdata.repos``.

Decisions:

* The package hard-codes its manifest URL (``open_dev_data.download.MANIFEST_URL``, no option or environment
  variable). The child process sets that module attribute to ``<base_url>/manifest.json`` before calling the
  package's command line (``run_package.py``), so the base URL is this source's ordinary setting
  (``opendevdata.base_url``, default the package's host) and tests and ``--replay`` serve a local manifest;
  everything else is the package's code.
* The tables are the ones OSO's models read (``TABLES``), declared so freshness checks and docs know them. A
  file of the download that names none of them is not loaded and is listed in the run's summary (``skipped``,
  with the table to declare); a declared table with no file in the download keeps its previous snapshot (noted).
* A lake written when everything went to ``opendevdata.datasets``: that table is dropped once every declared
  table is in the lake (its rows are theirs now; noted in the summary). A run whose download lacks some of them
  keeps it (noted with the tables still missing), so no file's rows are ever only in a dropped table.
* Files are streamed in bounded batches (``oso_core.transport.archive.parquet_batches``), not read whole like OSO's
  pandas. A file that is not readable parquet (its footer, or a row group of its first batch: all of a file smaller
  than a batch) is skipped and listed in the run's summary, as OSO logged and skipped it; a file whose data turns out
  corrupt after some of its batches went to the writer fails the run instead, so a replaced table never holds
  part of a file (that table keeps its previous snapshot).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from oso_core import (
    WRITE_BATCH_BYTES,
    BadFileError,
    Source,
    SourceRun,
    TableSpec,
    drop_table,
    parquet_batches,
    source_flow,
)

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

MANIFEST_PATH = "/manifest.json"
# the package's CLI with its manifest URL replaced (and one dependency bug worked around): see that file
RUN_PACKAGE = Path(__file__).with_name("run_package.py")
BATCH_BYTES = WRITE_BATCH_BYTES  # rows handed to the writer at a time (in memory)

# the dataset files OSO's staging models read, each its own table (warehouse/oso_sqlmesh/models/staging/opendevdata)
TABLES = (
    "canonical_developer_locations",
    "canonical_developers",
    "commits",
    "developer_activities",
    "eco_developer_28d_activities",
    "eco_developer_activities",
    "eco_developer_contribution_ranks",
    "eco_developer_tenures",
    "eco_mads",
    "ecosystems",
    "ecosystems_child_ecosystems",
    "ecosystems_child_ecosystems_recursive",
    "ecosystems_organizations",
    "ecosystems_repos",
    "ecosystems_repos_recursive",
    "organizations",
    "repo_developer_28d_activities",
    "repo_developer_activities",
    "repos",
)
LEGACY_TABLE = "opendevdata.datasets"  # every file in one table, before OSO's separate tables

SOURCE = Source(
    name="opendevdata",
    description="Open Dev Data datasets (the parquet files the open-dev-data package downloads), a table per file",
    base_url="https://data.opendevdata.org",
    tables=tuple(TableSpec(name, mode="replace", description=f"the dataset file {name}.parquet") for name in TABLES),
    flow="opendevdata_flow",
    tags=("archive",),
)


def table_name(file_name: str) -> str:
    """The table a dataset file loads into: its name without ``.parquet``, ``-`` as ``_``, other characters that
    cannot be in a table name dropped (as the package's ``duckify`` names its DuckDB tables)."""
    return re.sub(r"[^a-zA-Z0-9_]", "", file_name.removesuffix(".parquet").replace("-", "_")).lower()


def download(manifest_url: str, directory: Path, retries: int, workers: int) -> list[str]:
    """Run ``open-dev-data download -o directory`` against ``manifest_url``; its output lines, streamed as printed."""
    command = [sys.executable, str(RUN_PACKAGE), manifest_url, "download", "-o", str(directory)]
    command += ["--retry", str(retries), "--workers", str(workers)]
    lines: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1) as child:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line.rstrip())
            print(f"open-dev-data: {line.rstrip()}")
    if child.returncode != 0:
        tail = "; ".join(line for line in lines[-5:] if line.strip())
        raise RuntimeError(f"opendevdata: open-dev-data download exited with {child.returncode}: {tail}")
    return lines


def files_by_table(directory: Path, skipped: list[str]) -> dict[str, Path]:
    """The downloaded parquet file of each declared table; other files are appended to ``skipped`` (with why)."""
    found: dict[str, Path] = {}
    for path in sorted(directory.rglob("*.parquet")):
        relative = path.relative_to(directory).as_posix()
        name = table_name(path.name)
        if name not in TABLES:
            skipped.append(f"{relative}: no table {SOURCE.name}.{name} is declared (flows/opendevdata TABLES)")
        elif name in found:
            raise RuntimeError(
                f"opendevdata: {relative} and {found[name].relative_to(directory).as_posix()} "
                f"would both replace {SOURCE.name}.{name}"
            )
        else:
            found[name] = path
    return found


def file_batches(path: Path, relative: str) -> Iterator[pl.DataFrame]:
    """One file's rows in bounded batches, its columns and types as they are; ``BadFileError`` when its footer
    or first batch is unreadable (raised before anything is handed to the writer)."""
    batches = parquet_batches(SOURCE.name, path, file=relative, target_bytes=BATCH_BYTES)
    first = next(batches)  # reads the footer and the first batch: a file corrupt there is skipped whole
    return _chain(first, batches)


def _chain(first: pl.DataFrame, rest: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    yield first
    yield from rest


@source_flow(SOURCE)
def opendevdata_flow(run: SourceRun, base_url: str | None = None, retries: int = 5, workers: int = 4) -> None:
    """Download the Open Dev Data datasets with the open-dev-data package; each file replaces its own table.

    ``retries`` and ``workers`` are the package's ``--retry`` (attempts per file) and ``--workers``.
    """
    manifest_url = run.base_url(base_url) + MANIFEST_PATH
    with tempfile.TemporaryDirectory(prefix="oso-opendevdata-") as tmp:
        directory = Path(tmp) / "opendevdata"
        directory.mkdir()
        download(manifest_url, directory, retries, workers)
        skipped: list[str] = []
        files = files_by_table(directory, skipped)
        loaded = 0
        for name, path in files.items():
            relative = path.relative_to(directory).as_posix()
            try:
                batches = file_batches(path, relative)
            except BadFileError as exc:
                print(f"opendevdata: skipping {relative}: {exc}")
                skipped.append(f"{relative}: {exc}")
                continue
            run.write({name: batches})
            loaded += 1
        run.summary.skipped.extend(skipped)
        if not loaded:
            raise RuntimeError(
                f"opendevdata: no readable parquet file of a declared table in the download "
                f"({len(files)} such file(s), {len(skipped)} skipped)"
            )
        if missing := [name for name in TABLES if name not in files]:
            run.summary.notes.append(f"not in this download, previous snapshot kept: {', '.join(missing)}")
        if skipped:
            run.summary.notes.append(f"{len(skipped)} parquet file(s) not loaded (listed under skipped)")
    run.summary.notes.extend(retire_legacy_table(run.warehouse.catalog))


def retire_legacy_table(catalog: Catalog) -> list[str]:
    """Drop the old one-table ``opendevdata.datasets`` once every declared table is in the lake (this run's or an
    earlier one's), so no file's rows live only in the old table; until then it is kept, and noted."""
    if not catalog.table_exists(LEGACY_TABLE):
        return []
    if unwritten := [name for name in TABLES if not catalog.table_exists(SOURCE.qualified(name))]:
        return [f"kept {LEGACY_TABLE} until every declared table is written; not yet: {', '.join(unwritten)}"]
    return drop_table(catalog, LEGACY_TABLE, why="its rows are in OSO's tables now")
