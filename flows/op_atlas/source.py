"""op_atlas: OP Atlas's Postgres tables, replicated (OSO's ``sql_assets("op_atlas", ...)``).

Thirteen tables are copied incrementally on ``updatedAt`` (or ``createdAt`` for the append-only snapshots) and
merged on their primary key; the rest are small and replaced whole. Lake tables and columns get dlt's snake_case
names, as in OSO (``ProjectContract.updatedAt`` → ``op_atlas.project_contract.updated_at``).
``--replay`` loads ``flows/op_atlas/fixtures/seed.sql`` into a temporary local PostgreSQL (needs the server
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
    "op_atlas", "database", "PostgreSQL URL of the OP Atlas database replica (contains the password)"
)

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
    cadence="daily",  # OSO ran it in its daily stable/unstable jobs
)


@source_flow(SOURCE)
def op_atlas_flow(
    run: SourceRun,
    tables: list[str] | None = None,
    full_refresh: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    database_url: str | None = None,
) -> None:
    """Replicate OP Atlas's tables into ``op_atlas.*`` (incremental tables merge only rows changed since the last load).

    ``database_url`` is for password-less local databases (replay); the real connection string is the
    secret ``op_atlas.database``.
    """
    url = resolve_database_url(DATABASE, database_url)
    replicate(SOURCE, TABLES, url, only=tables, full_refresh=full_refresh, batch_rows=batch_rows, summary=run.summary)
