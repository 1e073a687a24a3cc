"""crypto_ecosystems: Electric Capital's taxonomy (OSO's fork), its JSONL files combined into ``taxonomy``.

As OSO's archive2bq asset ``crypto_ecosystems/taxonomy``: the repository's ``master`` branch as a zip, every
``*.jsonl`` at most three folders deep concatenated into one table, replaced. Records are
``{"eco_name", "branch": [...], "repo_url", "tags": [...]}``; the zip is read member by member from disk and
each JSONL file line by line, in bounded batches straight into the writer (one commit, or none on bad input).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from oso_core.archive import BadFileError, coalesce, iter_members, jsonl_batches
from oso_core.cli import run_source_cli
from oso_core.download import downloaded
from oso_core.flow_guard import source_flow
from oso_core.sources import Source, TableSpec
from oso_core.summary import LoadSummary
from oso_core.warehouse import Warehouse

ARCHIVE_PATH = "/archive/refs/heads/master.zip"
TAXONOMY_SCHEMA: dict[str, pl.DataType] = {
    "eco_name": pl.String(),
    "branch": pl.List(pl.String()),
    "repo_url": pl.String(),
    "tags": pl.List(pl.String()),
}
REQUIRED = ("eco_name", "repo_url")

SOURCE = Source(
    name="crypto_ecosystems",
    description="Crypto ecosystems taxonomy (repository zip, JSONL files combined)",
    base_url="https://github.com/opensource-observer/crypto-ecosystems",
    tables=(TableSpec("taxonomy", mode="replace"),),
    flow="crypto_ecosystems_flow",
    tags=("archive",),
)


def taxonomy_frames(archive: Path, extra_fields: set[str], files: list[str]) -> Iterator[pl.DataFrame]:
    """Every JSONL member of the zip, in archive order, as batches of the taxonomy schema."""
    for member in iter_members(SOURCE.name, archive, pattern="*.jsonl", max_depth=3):
        files.append(member.name)
        yield from jsonl_batches(
            SOURCE.name,
            archive.name,
            member.stream,
            member=member.name,
            schema=TAXONOMY_SCHEMA,
            required=REQUIRED,
            extra_fields=extra_fields,
        )
    if not files:
        raise BadFileError(SOURCE.name, archive.name, "no *.jsonl files within 3 folders of the archive")


@source_flow(SOURCE, log_prints=True)
def crypto_ecosystems_flow(base_url: str | None = None) -> LoadSummary:
    """Load the crypto ecosystems taxonomy: all JSONL files of the repository zip into one table (replaced)."""
    summary = LoadSummary(SOURCE.name)
    url = SOURCE.resolve_base_url(base_url) + ARCHIVE_PATH
    extra_fields: set[str] = set()
    files: list[str] = []
    with downloaded(SOURCE.name, url) as archive:
        summary.notes.extend(archive.notes)
        frames = coalesce(taxonomy_frames(archive.path, extra_fields, files))
        result = Warehouse().write_table(SOURCE, "taxonomy", frames)
    summary.add(result)
    summary.notes.append(f"combined {len(files)} JSONL file(s): {', '.join(files)}")
    if extra_fields:
        summary.notes.append(f"fields not in the taxonomy schema were left out: {', '.join(sorted(extra_fields))}")
    summary.publish()
    return summary


if __name__ == "__main__":
    raise SystemExit(run_source_cli(SOURCE, crypto_ecosystems_flow))
