"""ossd_sbom: the dependency-graph SBOM of every GitHub repository in ``ossd.repositories`` (OSO's ``ossd/sbom``).

For each repository of ``ossd.repositories`` (written by ``ossd_github``) whose SBOM in ``ossd.sbom`` is missing or
older than ``max_age_days`` (OSO's ``max-sbom-age-days`` tag, default 7), asks GitHub for
``GET /repos/{owner}/{repo}/dependency-graph/sbom`` (SPDX JSON) and merges one row per (repository, package) into
``ossd.sbom``. Repositories GitHub answers 404 (gone, or no dependency graph) or 403 (dependency graph disabled,
no access) for are skipped and listed in the run summary; rate limits are waited out by the GitHub client (the
``github`` API is shared with ``ossd_github`` and ``ossd_funding``: the weekly run never loads them at once);
any other failure fails the run before anything is committed. Runs on OSO's SBOM cadence, Tuesdays and Fridays.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import polars as pl

from flows.ossd.migration import REPOSITORIES
from flows.ossd_sbom.payload import KEY, RepositorySbom, repositories_due, sbom_frame, sbom_rows
from oso_core import CallFunction, GitHubClient, SecretReference, Source, SourceRun, TableSpec, source_flow

GITHUB_TOKEN = SecretReference("ossd", "github_token")
SKIP_STATUSES = {403: "skip", 404: "skip"}  # a 403 that is a rate limit is retried by GitHubClient first

SOURCE = Source(
    name="ossd_sbom",
    description="GitHub dependency-graph SBOMs of the repositories in ossd.repositories",
    base_url="https://api.github.com",
    namespace="ossd",
    tables=(TableSpec("sbom", mode="merge", key=KEY, description="one row per repository × package"),),
    flow="ossd_sbom_flow",
    secrets=(GITHUB_TOKEN,),
    depends_on=("ossd_github",),
    tags=("sbom",),
    cadence="0 0 * * 2,5",
    api="github",
    migrations=(CallFunction("flows.ossd.migration:migrate_table_names"),),
)


def sbom_path(owner: str, name: str) -> str:
    return f"/repos/{owner}/{name}/dependency-graph/sbom"


@source_flow(SOURCE)
def ossd_sbom_flow(
    run: SourceRun,
    base_url: str | None = None,
    max_age_days: Annotated[int, "fetch only repositories whose SBOM is older than this (0: every one)"] = 7,
    max_workers: Annotated[int, "SBOM requests in flight at once"] = 4,
) -> dict[str, pl.DataFrame] | None:
    """Fetch the SBOMs that are due and merge them into ``ossd.sbom`` in one commit."""
    summary, warehouse = run.summary, run.warehouse
    if not warehouse.exists(REPOSITORIES):
        summary.notes.append(f"{REPOSITORIES} is missing: run ossd_github first")
        return None
    table = SOURCE.qualified("sbom")
    existing = warehouse.read(table) if warehouse.exists(table) else None
    due = repositories_due(warehouse.read(REPOSITORIES), existing, max_age_days, datetime.now(UTC))
    if not due:
        summary.notes.append(f"no repository's SBOM is older than {max_age_days} day(s): nothing to fetch")
        return None
    token = run.secret(GITHUB_TOKEN)
    with GitHubClient(SOURCE.name, run.base_url(base_url), token) as client:

        def fetch(repo: tuple[str, str]) -> RepositorySbom:
            path = sbom_path(*repo)
            return sbom_rows(SOURCE.name, path, *repo, client.get_json(path, on_status=SKIP_STATUSES))

        found = run.fan_out(
            due, fetch, endpoint=sbom_path("{owner}", "{repo}"), label="/".join, max_workers=max_workers
        )
    sboms = found.values()
    rows = [row for sbom in sboms for row in sbom.rows]
    repeated = sum(sbom.repeated for sbom in sboms)
    summary.notes.append(
        f"{len(due)} repositories due, {len(sboms)} SBOM(s) fetched, {len(found.skipped)} skipped; {len(rows)} "
        f"packages" + (f" ({repeated} further versions of a listed package not kept)" if repeated else "")
    )
    return {"sbom": sbom_frame(rows)}
