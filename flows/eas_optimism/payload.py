"""EAS's GraphQL count and attestation queries, its node schema, and one weekly window's paging into a frame."""

from __future__ import annotations

import polars as pl

from oso_core import (
    GraphQLClient,
    NodeSchema,
    PageRetry,
    Window,
    fetch_count,
    frame_from_pages,
    paginate_graphql_offset,
)

RETRY = PageRetry(shrink=0.5, min_page_size=100, rate_limit_wait=65.0)
PAGE_SIZE = 10_000

COUNT_QUERY = """
query _count($where: AttestationWhereInput) {
  aggregateAttestation(where: $where) { _count { _all } }
}
"""

ATTESTATIONS_QUERY = """
query Attestations($take: Int, $skip: Int, $where: AttestationWhereInput) {
  attestations(take: $take, skip: $skip, where: $where, orderBy: [{time: asc}, {id: asc}]) {
    id data decodedDataJson recipient attester time timeCreated expirationTime revocationTime
    refUID revocable revoked txid schemaId ipfsHash isOffchain
  }
}
"""

ATTESTATION = NodeSchema(
    {
        "id": pl.String,
        "data": pl.String,
        "decodedDataJson": pl.String,
        "recipient": pl.String,
        "attester": pl.String,
        "time": pl.Int64,
        "timeCreated": pl.Int64,
        "expirationTime": pl.Int64,
        "revocationTime": pl.Int64,
        "refUID": pl.String,
        "revocable": pl.Boolean,
        "revoked": pl.Boolean,
        "txid": pl.String,
        "schemaId": pl.String,
        "ipfsHash": pl.String,
        "isOffchain": pl.Boolean,
    },
    required=("id", "attester", "time"),
)


def attestations_in_window(gql: GraphQLClient, window: Window, page_size: int) -> pl.DataFrame:
    """Count, then skip/take pages of the window ``time >= start and time < end`` (unix seconds)."""
    start, end = window.unix()
    where = {"time": {"gte": start, "lt": end}}
    what = f"attestations {window.key}"
    total = fetch_count(gql, COUNT_QUERY, {"where": where}, count_path="aggregateAttestation._count._all",
                        operation=f"{what} count")  # fmt: skip
    if total == 0:
        return ATTESTATION.empty()
    pages = paginate_graphql_offset(
        gql,
        ATTESTATIONS_QUERY,
        {"where": where},
        nodes_path="attestations",
        total=total,
        page_size=page_size,
        offset_variable="skip",
        limit_variable="take",
        operation=what,
    )
    return frame_from_pages(ATTESTATION, pages, source=gql.source, endpoint=gql.masked_endpoint, what=what)
