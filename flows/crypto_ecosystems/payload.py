"""crypto_ecosystems' payload: the taxonomy's JSONL members of the repository zip, as batches of one schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from oso_core import BadFileError, iter_members, jsonl_batches

TAXONOMY_SCHEMA: dict[str, pl.DataType] = {
    "eco_name": pl.String(),
    "branch": pl.List(pl.String()),
    "repo_url": pl.String(),
    "tags": pl.List(pl.String()),
}
REQUIRED = ("eco_name", "repo_url")


def taxonomy_frames(source: str, archive: Path, extra_fields: set[str], files: list[str]) -> Iterator[pl.DataFrame]:
    """Every JSONL member of the zip, in archive order, as batches of the taxonomy schema."""
    for member in iter_members(source, archive, pattern="*.jsonl", max_depth=3):
        files.append(member.name)
        yield from jsonl_batches(
            source,
            archive.name,
            member.stream,
            member=member.name,
            schema=TAXONOMY_SCHEMA,
            required=REQUIRED,
            extra_fields=extra_fields,
        )
    if not files:
        raise BadFileError(source, archive.name, "no *.jsonl files within 3 folders of the archive")
