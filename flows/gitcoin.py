"""gitcoin: Gitcoin Grants donations, matching and project groups from the regendata.xyz Postgres database.

OSO's ``sql_assets("gitcoin", ...)``: four tables, each replaced whole on every load (they carry no key to merge
on). The two large ones are read in ranges of ``round_num`` so no single query has to return everything.
``--replay`` loads ``tests/fixtures/gitcoin/seed.sql`` into a temporary local PostgreSQL (needs the server
binaries) and replicates that.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from oso_core.cli import run_source_cli
from oso_core.flow_guard import source_flow
from oso_core.secrets import SecretReference
from oso_core.sources import Source
from oso_core.sql_replication import (
    DEFAULT_BATCH_ROWS,
    SqlTable,
    replay_database,
    replicate,
    resolve_database_url,
    table_specs,
)
from oso_core.summary import LoadSummary

DATABASE = SecretReference("gitcoin", "regendata_xyz_database")

TABLES = (
    SqlTable("all_donations", partition_on="round_num"),
    SqlTable("project_groups_summary"),
    SqlTable("project_lookup"),
    SqlTable("all_matching", partition_on="round_num"),
)

SOURCE = Source(
    name="gitcoin",
    description="Gitcoin Grants donations, matching and project groups (regendata.xyz database)",
    tables=table_specs(TABLES),
    flow="gitcoin_flow",
    secrets=(DATABASE,),
)


@source_flow(SOURCE, log_prints=True)
def gitcoin_flow(
    tables: list[str] | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    database_url: str | None = None,
) -> LoadSummary:
    """Replace ``gitcoin.all_donations``, ``project_groups_summary``, ``project_lookup`` and ``all_matching``.

    ``database_url`` is for password-less local databases (replay); the real connection string is the secret
    ``gitcoin.regendata_xyz_database``.
    """
    url = resolve_database_url(DATABASE, database_url)
    summary = replicate(SOURCE, TABLES, url, only=tables, batch_rows=batch_rows)
    summary.publish()
    return summary


@contextmanager
def replay_parameters() -> Iterator[dict[str, Any]]:
    """``--replay``: the seed database in a temporary local PostgreSQL, handed over as a password-less URL."""
    with replay_database(SOURCE) as url:
        yield {"database_url": url}


if __name__ == "__main__":
    raise SystemExit(run_source_cli(SOURCE, gitcoin_flow))
