"""op_atlas: OP Atlas's Postgres tables, replicated (OSO's ``sql_assets("op_atlas", ...)``).

Thirteen tables are copied incrementally on ``updatedAt`` (or ``createdAt`` for the append-only snapshots) and
merged on their primary key; the rest are small and replaced whole. Lake tables and columns get dlt's snake_case
names, as in OSO (``ProjectContract.updatedAt`` → ``op_atlas.project_contract.updated_at``).
``--replay`` loads ``tests/fixtures/op_atlas/seed.sql`` into a temporary local PostgreSQL (needs the server
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

DATABASE = SecretReference("op_atlas", "database")

TABLES = (
    SqlTable("Application", cursor="updatedAt"),
    SqlTable("Badgeholder"),
    SqlTable("Category"),
    SqlTable("FundingReward", cursor="updatedAt"),
    SqlTable("FundingRound"),
    SqlTable("GithubProximity"),
    SqlTable("ImpactStatement"),
    SqlTable("ImpactStatementAnswer"),
    SqlTable("Organization", cursor="updatedAt"),
    SqlTable("OrganizationSnapshot", cursor="createdAt"),
    SqlTable("Project", cursor="updatedAt"),
    SqlTable("ProjectContract", cursor="updatedAt"),
    SqlTable("ProjectFunding", cursor="updatedAt"),
    SqlTable("ProjectLinks", cursor="updatedAt"),
    SqlTable("ProjectOrganization", cursor="updatedAt"),
    SqlTable("ProjectRepository", cursor="updatedAt"),
    SqlTable("ProjectSnapshot", cursor="createdAt"),
    SqlTable("PublishedContract"),
    SqlTable("RewardClaim", cursor="updatedAt", key=("rewardId",)),
    SqlTable("UserOrganization", cursor="updatedAt"),
    SqlTable("UserProjects"),
)

SOURCE = Source(
    name="op_atlas",
    description="OP Atlas database tables (projects, applications, rewards), replicated from Postgres",
    tables=table_specs(TABLES),
    flow="op_atlas_flow",
    secrets=(DATABASE,),
)


@source_flow(SOURCE, log_prints=True)
def op_atlas_flow(
    tables: list[str] | None = None,
    full_refresh: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    database_url: str | None = None,
) -> LoadSummary:
    """Replicate OP Atlas's tables into ``op_atlas.*`` (incremental tables merge only rows changed since the last load).

    ``database_url`` is for password-less local databases (replay); the real connection string is the
    secret ``op_atlas.database``.
    """
    url = resolve_database_url(DATABASE, database_url)
    summary = replicate(SOURCE, TABLES, url, only=tables, full_refresh=full_refresh, batch_rows=batch_rows)
    summary.publish()
    return summary


@contextmanager
def replay_parameters() -> Iterator[dict[str, Any]]:
    """``--replay``: the seed database in a temporary local PostgreSQL, handed over as a password-less URL."""
    with replay_database(SOURCE) as url:
        yield {"database_url": url}


if __name__ == "__main__":
    raise SystemExit(run_source_cli(SOURCE, op_atlas_flow))
