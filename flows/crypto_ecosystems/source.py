"""crypto_ecosystems: Electric Capital's taxonomy (OSO's fork), its JSONL files combined into ``taxonomy``.

As OSO's archive2bq asset ``crypto_ecosystems/taxonomy``: the repository's ``master`` branch as a zip, every
``*.jsonl`` at most three folders deep concatenated into one table, replaced. Records are
``{"eco_name", "branch": [...], "repo_url", "tags": [...]}``; the zip is read member by member from disk and
each JSONL file line by line, in bounded batches straight into the writer (one commit, or none on bad input).
"""

from __future__ import annotations

from flows.crypto_ecosystems.payload import taxonomy_frames
from oso_core import Source, SourceRun, TableSpec, coalesce, downloaded, source_flow

ARCHIVE_PATH = "/archive/refs/heads/master.zip"

SOURCE = Source(
    name="crypto_ecosystems",
    description="Crypto ecosystems taxonomy (repository zip, JSONL files combined)",
    base_url="https://github.com/opensource-observer/crypto-ecosystems",
    tables=(TableSpec("taxonomy", mode="replace"),),
    flow="crypto_ecosystems_flow",
    tags=("archive",),
)


@source_flow(SOURCE)
def crypto_ecosystems_flow(run: SourceRun, base_url: str | None = None) -> None:
    """Load the crypto ecosystems taxonomy: all JSONL files of the repository zip into one table (replaced)."""
    extra_fields: set[str] = set()
    files: list[str] = []
    with downloaded(SOURCE.name, run.base_url(base_url) + ARCHIVE_PATH) as archive:
        run.summary.notes.extend(archive.notes)
        run.write({"taxonomy": coalesce(taxonomy_frames(SOURCE.name, archive.path, extra_fields, files))})
    run.summary.notes.append(f"combined {len(files)} JSONL file(s): {', '.join(files)}")
    if extra_fields:
        run.summary.notes.append(f"fields not in the taxonomy schema were left out: {', '.join(sorted(extra_fields))}")
