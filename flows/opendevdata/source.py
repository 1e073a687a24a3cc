"""opendevdata: every Open Dev Data parquet dataset in one table, ``opendevdata.datasets``, replaced each run.

As OSO's ``assets/default/opendevdata.py``: the ``open-dev-data`` package's own downloader fetches the datasets
(OSO runs ``uvx open-dev-data download -o <tmpdir>``; here the same package, pinned in ``pyproject.toml``, runs in
a child process with its output streamed to the run's log; a non-zero exit fails the run). Then every
``*.parquet`` under the download directory is read, with the columns OSO adds: ``_source_file`` (file name),
``_source_table`` (path relative to the download directory, ``/`` → ``_``, without ``.parquet``) and
``_source_path`` (the relative path). Columns differ between files; the table has all of them.

Decisions:

* The package hard-codes its manifest URL (``open_dev_data.download.MANIFEST_URL``, no option or environment
  variable). The child process sets that module attribute to ``<base_url>/manifest.json`` before calling the
  package's command line (``run_package.py``), so the base URL is this source's ordinary setting
  (``opendevdata.base_url``, default the package's host) and tests and ``--replay`` serve a local manifest;
  everything else is the package's code.
* Files are streamed in bounded batches (``oso_core.transport.archive.parquet_batches``), not read whole like OSO's
pandas.
  A file that is not readable parquet (its footer, or a row group of its first batch: all of a file smaller than
  a batch) is skipped and listed in the run's summary, as OSO logged and skipped it; a file whose data turns out
  corrupt after some of its batches went to the writer fails the run instead, so the replaced table never holds
  part of a file (the table keeps its previous snapshot).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from oso_core import WRITE_BATCH_BYTES, BadFileError, Source, SourceRun, TableSpec, parquet_batches, source_flow

MANIFEST_PATH = "/manifest.json"
# the package's CLI with its manifest URL replaced (and one dependency bug worked around): see that file
RUN_PACKAGE = Path(__file__).with_name("run_package.py")
BATCH_BYTES = WRITE_BATCH_BYTES  # rows handed to the writer at a time (in memory)

SOURCE = Source(
    name="opendevdata",
    description="Open Dev Data datasets (every parquet file the open-dev-data package downloads), one table",
    base_url="https://data.opendevdata.org",
    tables=(TableSpec("datasets", mode="replace", description="rows of every dataset file, tagged _source_table"),),
    flow="opendevdata_flow",
    tags=("archive",),
)


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


def dataset_batches(directory: Path, skipped: list[str]) -> Iterator[pl.DataFrame]:
    """Every parquet file's rows in bounded batches with OSO's ``_source_*`` columns; unreadable files are
    appended to ``skipped`` (with why) and left out."""
    files = sorted(directory.rglob("*.parquet"))
    loaded = 0
    for path in files:
        relative = path.relative_to(directory).as_posix()
        tags = {
            "_source_file": path.name,
            "_source_table": relative.replace("/", "_").replace(".parquet", ""),
            "_source_path": relative,
        }
        try:
            batches = parquet_batches(SOURCE.name, path, file=relative, target_bytes=BATCH_BYTES)
            first = next(batches)  # reads the footer and the first batch: a file corrupt there is skipped whole
        except BadFileError as exc:
            print(f"opendevdata: skipping {relative}: {exc}")
            skipped.append(f"{relative}: {exc}")
            continue
        loaded += 1
        for batch in _chain(first, batches):
            yield batch.with_columns(*(pl.lit(value, pl.Utf8).alias(name) for name, value in tags.items()))
    if not loaded:
        raise RuntimeError(
            f"opendevdata: no readable parquet file in the download ({len(files)} file(s), {len(skipped)} skipped)"
        )


def _chain(first: pl.DataFrame, rest: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    yield first
    yield from rest


@source_flow(SOURCE)
def opendevdata_flow(run: SourceRun, base_url: str | None = None, retries: int = 5, workers: int = 4) -> None:
    """Download the Open Dev Data datasets with the open-dev-data package and replace ``opendevdata.datasets``.

    ``retries`` and ``workers`` are the package's ``--retry`` (attempts per file) and ``--workers``.
    """
    manifest_url = run.base_url(base_url) + MANIFEST_PATH
    with tempfile.TemporaryDirectory(prefix="oso-opendevdata-") as tmp:
        directory = Path(tmp) / "opendevdata"
        directory.mkdir()
        download(manifest_url, directory, retries, workers)
        skipped: list[str] = []
        run.write({"datasets": dataset_batches(directory, skipped)})
        run.summary.skipped.extend(skipped)
        if skipped:
            run.summary.notes.append(f"{len(skipped)} unreadable parquet file(s) skipped (listed under skipped)")
