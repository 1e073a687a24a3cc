"""ossd_github: GitHub metadata for every repository oss-directory lists (OSO's ``ossd/repositories`` asset).

Reads the GitHub URLs of ``ossd.project_repositories`` (written by the ``ossd`` source), resolves each through
GitHub's REST API (an organization or user URL → all its repositories, a repository URL → that one) and merges
them into ``ossd.repositories`` (OSO's name and columns) on the repository id. URLs GitHub does not know (404) are
skipped and listed in the run summary; every other failure fails the run before anything is committed.
"""

from __future__ import annotations

import polars as pl

from flows.ossd.migration import PROJECT_REPOSITORIES
from oso_core import (
    CallFunction,
    GitHubClient,
    SecretReference,
    Source,
    SourceRun,
    TableSpec,
    Warehouse,
    resolve_repositories,
    source_flow,
)

GITHUB_TOKEN = SecretReference(
    "ossd",
    "github_token",
    'GitHub token (fine-grained or classic, public read is enough) sent as "Authorization: Bearer"',
)

SOURCE = Source(
    name="ossd_github",
    description="GitHub repository metadata for oss-directory's GitHub URLs",
    base_url="https://api.github.com",
    namespace="ossd",
    tables=(TableSpec("repositories", mode="merge", key=("id",), description="one row per GitHub repo"),),
    flow="ossd_github_flow",
    secrets=(GITHUB_TOKEN,),
    depends_on=("ossd",),
    api="github",
    migrations=(CallFunction("flows.ossd.migration:migrate_table_names"),),
)


def github_urls(warehouse: Warehouse) -> list[str] | None:
    """Distinct URLs of ``ossd.project_repositories``, or None when ossd has not been loaded yet."""
    if not warehouse.exists(PROJECT_REPOSITORIES):
        return None
    urls = warehouse.read(PROJECT_REPOSITORIES).get_column("url").drop_nulls().unique().sort()
    return [url for url in urls.to_list() if url.strip()]


@source_flow(SOURCE)
def ossd_github_flow(
    run: SourceRun, base_url: str | None = None, per_page: int = 100, max_workers: int = 4
) -> dict[str, pl.DataFrame] | None:
    """Resolve oss-directory's GitHub URLs to repositories and merge them into ``ossd.repositories``."""
    summary, warehouse = run.summary, run.warehouse
    urls = github_urls(warehouse)
    if not urls:
        summary.notes.append(f"{PROJECT_REPOSITORIES} is {'missing' if urls is None else 'empty'}: run ossd first")
        return None
    token = run.secret(GITHUB_TOKEN)
    with GitHubClient(SOURCE.name, run.base_url(base_url), token) as client:
        resolved = resolve_repositories(client, urls, per_page=per_page, max_workers=max_workers)
    summary.skipped.extend(resolved.skipped)
    summary.notes.append(
        f"{len(urls)} URL(s) → {resolved.frame.height} repositories ({resolved.fetched - resolved.frame.height} "
        "listed twice)"
    )
    return {"repositories": resolved.frame}
