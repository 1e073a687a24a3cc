"""ens: ENS domains and text records from the ENS subgraph on The Graph, by keyset pages, replaced each run.

As OSO's ``assets/default/ens.py``: ``first: 500, orderBy: id, orderDirection: asc, where: {id_gt: <last>}``,
2 s between pages, page size ×0.6 on failures. The gateway takes the API key ``(ens, api_key)`` inside the URL
path, so the base URL setting is a template with ``{api_key}``; the key is masked in every log and error.

Columns are named as OSO's models read them (``flows/ens/payload.py`` says why): a lake written when
``ens.domains`` had ``expiry_date`` and ``subdomain_count`` has them renamed by the first run after the upgrade
before anything is fetched (Iceberg schema evolution: the same columns and field ids, no data rewritten, so the
table reads under OSO's names at once, even when that run's fetch then fails); ``subdomains`` and
``text_changeds.resolver`` arrive with the run's data.
"""

from __future__ import annotations

from typing import Any

from flows.ens.payload import PAGE_INTERVAL, PAGE_SIZE, RETRY, extract
from oso_core import RenameColumns, SecretReference, Source, SourceRun, TableSpec, source_flow

API_KEY = SecretReference("ens", "api_key", "The Graph gateway API key, placed into the subgraph URL path")
# columns of ens.domains before they took OSO's (GraphQL's) names
LEGACY_DOMAIN_COLUMNS = {"expiry_date": "expiryDate", "subdomain_count": "subdomainCount"}
SUBGRAPH_PATH = "/api/{api_key}/subgraphs/id/5XqPmWe6gjyrJtFn9cLy237i4cWw2j9HcUJEXsP5qGtH"

SOURCE = Source(
    name="ens",
    description="ENS domains and text records from the ENS subgraph (The Graph gateway, key in the URL)",
    base_url="https://gateway.thegraph.com" + SUBGRAPH_PATH,
    tables=(
        TableSpec("domains", mode="replace", key=("id",), description="every ENS domain"),
        TableSpec("text_changeds", mode="replace", key=("id",), description="every TextChanged resolver event"),
    ),
    flow="ens_flow",
    secrets=(API_KEY,),
    tags=("graphql", "the-graph"),
    api="thegraph",
    migrations=(RenameColumns("domains", LEGACY_DOMAIN_COLUMNS),),
)


def endpoint_with_key(run: SourceRun, base_url: str) -> str:
    """The URL to call: the key (masked by every client of the run) goes where the template says ``{api_key}``."""
    if "{api_key}" not in base_url:
        return base_url  # a self-hosted graph-node needs no key
    return base_url.replace("{api_key}", run.secret(API_KEY))


@source_flow(SOURCE)
def ens_flow(
    run: SourceRun,
    base_url: str | None = None,
    tables: list[str] | None = None,
    page_size: int = PAGE_SIZE,
    page_interval: float | None = None,
) -> dict[str, Any]:
    """Replace ens.domains and ens.text_changeds with every row of the subgraph, read by keyset pages.

    Both tables are extracted and validated before the first commit, so a failed page leaves both tables
    at their previous snapshot.
    """
    endpoint = endpoint_with_key(run, run.base_url(base_url))
    chosen = tables or [t.name for t in SOURCE.tables]
    with run.graphql(
        endpoint=endpoint, retry=RETRY, default_interval=PAGE_INTERVAL, page_interval=page_interval
    ) as gql:
        return {table: extract(gql, table, page_size) for table in chosen}
