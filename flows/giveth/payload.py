"""Giveth's GraphQL queries and project schema, and the per-round paging that turns them into one frame."""

from __future__ import annotations

from typing import Any

import polars as pl

from oso_core import (
    JSON,
    GraphQLClient,
    MalformedResponse,
    NodeSchema,
    PageRetry,
    frame_from_pages,
    paginate_graphql_offset,
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
    """Every QF round, active or not (OSO's parent resource); each must have an ``id``."""
    data, _ = gql.query(ROUNDS_QUERY, {"activeOnly": False}, operation="qfRounds")
    rounds = data.get("qfRounds")
    if not isinstance(rounds, list) or not all(isinstance(r, dict) and r.get("id") is not None for r in rounds):
        raise MalformedResponse(gql.source, gql.masked_endpoint, "qfRounds: data.qfRounds is not a list of rounds")
    return rounds


def projects_of_round(gql: GraphQLClient, round_id: int, page_size: int) -> pl.DataFrame:
    """One round's projects in ``skip``/``take`` pages, each row naming its round."""
    what = f"allProjects qfRoundId={round_id}"
    pages = paginate_graphql_offset(
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
        source=gql.source,
        endpoint=gql.masked_endpoint,
        what=what,
        extra={"source_qf_round_id": round_id},
    )


def projects_of_rounds(gql: GraphQLClient, rounds: list[dict[str, Any]], page_size: int) -> pl.DataFrame:
    """The projects of every round, one frame (empty, with the table's columns, when there are no rounds)."""
    frames = [projects_of_round(gql, int(r["id"]), page_size) for r in rounds]
    return pl.concat(frames, how="vertical") if frames else PROJECT.empty()
