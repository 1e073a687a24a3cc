"""giveth: Giveth quadratic-funding rounds, then the projects of each round, into ``giveth.qf_rounds``.

As OSO's ``assets/default/giveth_qf.py``: ``qfRounds(activeOnly: false)`` is not stored itself but drives
``allProjects(qfRoundId, skip, take)`` per round (parent → child); the table holds project rows with
``source_qf_round_id`` naming their round, replaced each run. Nested values are kept as JSON text.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
from prefect import flow

from oso_core.cli import run_source_cli
from oso_core.graphql import GraphQLClient, MalformedResponse, PageRetry, configured_retry, paginate_offset
from oso_core.graphql_frames import JSON, NodeSchema, frame_from_pages
from oso_core.replay import replay_server
from oso_core.sources import Source, TableSpec
from oso_core.summary import LoadSummary
from oso_core.warehouse import Warehouse

SOURCE = Source(
    name="giveth",
    description="Giveth QF rounds and the projects of each round, from Giveth's GraphQL API",
    base_url="https://mainnet.serve.giveth.io/graphql",
    tables=(
        TableSpec(
            "qf_rounds",
            mode="replace",
            key=("id", "source_qf_round_id"),
            description="one row per project per QF round (source_qf_round_id)",
        ),
    ),
    flow="giveth_flow",
    tags=("graphql",),
)

RETRY = PageRetry(shrink=0.5, min_page_size=1)
PAGE_SIZE, PAGE_INTERVAL = 10, 2.0

ROUNDS_QUERY = """
query QfRounds($activeOnly: Boolean!) {
  qfRounds(activeOnly: $activeOnly) { id name slug isActive beginDate endDate }
}
"""

PROJECTS_QUERY = """
query AllProjects($qfRoundId: Int!, $skip: Int, $take: Int) {
  allProjects(qfRoundId: $qfRoundId, skip: $skip, take: $take) {
    totalCount
    projects {
      id title slug description creationDate updatedAt verified listed reviewStatus
      totalDonations totalReactions qualityScore countUniqueDonors sumDonationValueUsdForActiveQfRound
      adminUserId
      addresses { address networkId chainType isRecipient }
      organization { name label }
      status { id symbol name }
    }
  }
}
"""

PROJECT = NodeSchema(
    {
        "id": pl.String,
        "title": pl.String,
        "slug": pl.String,
        "description": pl.String,
        "creationDate": "datetime",
        "updatedAt": "datetime",
        "verified": pl.Boolean,
        "listed": pl.Boolean,
        "reviewStatus": pl.String,
        "totalDonations": pl.Float64,
        "totalReactions": pl.Int64,
        "qualityScore": pl.Float64,
        "countUniqueDonors": pl.Int64,
        "sumDonationValueUsdForActiveQfRound": pl.Float64,
        "adminUserId": pl.Int64,
        "addresses": JSON,
        "organization": JSON,
        "status": JSON,
    },
    required=("id", "slug"),
    extra={"source_qf_round_id": pl.Int64},
)


def qf_rounds(gql: GraphQLClient) -> list[dict[str, Any]]:
    data, _ = gql.query(ROUNDS_QUERY, {"activeOnly": False}, operation="qfRounds")
    rounds = data.get("qfRounds")
    if not isinstance(rounds, list) or not all(isinstance(r, dict) and r.get("id") is not None for r in rounds):
        raise MalformedResponse(SOURCE.name, gql.masked_endpoint, "qfRounds: data.qfRounds is not a list of rounds")
    return rounds


def projects_of_round(gql: GraphQLClient, round_id: int, page_size: int) -> pl.DataFrame:
    what = f"allProjects qfRoundId={round_id}"
    pages = paginate_offset(
        gql,
        PROJECTS_QUERY,
        {"qfRoundId": round_id},
        nodes_path="allProjects.projects",
        total_path="allProjects.totalCount",
        page_size=page_size,
        offset_variable="skip",
        limit_variable="take",
        operation=what,
    )
    return frame_from_pages(
        PROJECT,
        pages,
        source=SOURCE.name,
        endpoint=gql.masked_endpoint,
        what=what,
        extra={"source_qf_round_id": round_id},
    )


@flow(name="giveth", log_prints=True)
def giveth_flow(
    base_url: str | None = None, page_size: int = PAGE_SIZE, page_interval: float | None = None
) -> LoadSummary:
    """Replace giveth.qf_rounds with the projects of every QF round (all rounds read before the commit)."""
    summary = LoadSummary(SOURCE.name)
    retry, interval = configured_retry(SOURCE.name, RETRY, PAGE_INTERVAL)
    interval = interval if page_interval is None else page_interval
    with GraphQLClient(SOURCE.name, SOURCE.resolve_base_url(base_url), retry=retry, min_interval=interval) as gql:
        rounds = qf_rounds(gql)
        frames = [projects_of_round(gql, int(r["id"]), page_size) for r in rounds]
    projects = pl.concat(frames, how="vertical") if frames else PROJECT.empty()
    summary.notes.append(f"{len(rounds)} QF round(s): " + ", ".join(f"{r['id']} {r.get('slug') or ''}" for r in rounds))
    summary.add(Warehouse().write_table(SOURCE, "qf_rounds", projects))
    summary.publish()
    return summary


@contextmanager
def replay_parameters() -> Iterator[dict[str, Any]]:
    """Replay two recorded rounds in pages of 2, with no pause between pages."""
    with replay_server(SOURCE.name) as url:
        yield {"base_url": f"{url}/graphql", "page_size": 2, "page_interval": 0.0}


if __name__ == "__main__":
    raise SystemExit(run_source_cli(SOURCE, giveth_flow))
