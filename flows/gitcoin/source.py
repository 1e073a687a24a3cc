"""gitcoin: Gitcoin Grants donations, matching and project groups from the regendata.xyz Postgres database.

OSO's ``sql_assets("gitcoin", ...)``: four tables, each replaced whole on every load (they carry no key to merge
on). The two large ones are read in ranges of ``round_num`` so no single query has to return everything.
``--replay`` loads ``flows/gitcoin/fixtures/seed.sql`` into a temporary local PostgreSQL (needs the server
binaries) and replicates that.
"""

from __future__ import annotations

from oso_core.engine import SourceRun, source_flow
from oso_core.secrets import SecretReference
from oso_core.sources import Source
from oso_core.sql_replication import (
    DEFAULT_BATCH_ROWS,
    SqlTable,
    replicate,
    resolve_database_url,
    table_specs,
)

DATABASE = SecretReference(
    "gitcoin", "regendata_xyz_database", "PostgreSQL URL of Gitcoin's regendata.xyz replica (contains the password)"
)

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
    cadence="daily",  # OSO ran it in its daily stable/unstable jobs
)


@source_flow(SOURCE)
def gitcoin_flow(
    run: SourceRun,
    tables: list[str] | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    database_url: str | None = None,
) -> None:
    """Replace ``gitcoin.all_donations``, ``project_groups_summary``, ``project_lookup`` and ``all_matching``.

    ``database_url`` is for password-less local databases (replay); the real connection string is the secret
    ``gitcoin.regendata_xyz_database``.
    """
    url = resolve_database_url(DATABASE, database_url)
    replicate(SOURCE, TABLES, url, only=tables, batch_rows=batch_rows, summary=run.summary)
