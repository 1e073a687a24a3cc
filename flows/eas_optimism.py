"""eas_optimism: Ethereum Attestation Service attestations on Optimism, in weekly windows, merged on id.

As OSO's ``assets/default/eas_optimism.py``: ``aggregateAttestation`` counts a window's attestations, then
``attestations(take, skip, where: {time: {gte, lt}})`` pages of 10 000 (down to 100 on failures, 65 s on 429).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import polars as pl
from prefect import flow

from oso_core.cli import run_source_cli
from oso_core.graphql import GraphQLClient, PageRetry, configured_retry, fetch_count, paginate_offset
from oso_core.graphql_frames import NodeSchema, frame_from_pages
from oso_core.replay import replay_server
from oso_core.sources import Source, TableSpec, Windows
from oso_core.summary import LoadSummary
from oso_core.windows import DEFAULT_MAX_WINDOWS, Window, WindowedLoad, window_range_arguments, window_range_parameters

SOURCE = Source(
    name="eas_optimism",
    description="EAS attestations on Optimism (weekly windows) from optimism.easscan.org GraphQL",
    base_url="https://optimism.easscan.org/graphql",
    tables=(TableSpec("attestations", mode="merge", key=("id",), description="attestations, weekly windows"),),
    flow="eas_optimism_flow",
    windows=Windows(start=date(2023, 7, 28)),  # first attestation: 2023-07-28 15:22:35 UTC
    tags=("graphql", "windowed"),
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
    pages = paginate_offset(
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
    return frame_from_pages(ATTESTATION, pages, source=SOURCE.name, endpoint=gql.masked_endpoint, what=what)


@flow(name="eas_optimism", log_prints=True)
def eas_optimism_flow(
    base_url: str | None = None,
    start: str | None = None,
    end: str | None = None,
    max_windows: int = DEFAULT_MAX_WINDOWS,
    page_size: int = PAGE_SIZE,
) -> LoadSummary:
    """Load EAS Optimism attestations window by window (merge on id).

    Without ``start``/``end`` the windows not yet loaded (faulty ones first) are loaded, at most
    ``max_windows``; with them, every window overlapping ``[start, end)`` is reloaded. A faulty window is
    recorded, retried next run, and fails this run after the other windows load.
    """
    retry, interval = configured_retry(SOURCE.name, RETRY)
    load = WindowedLoad(SOURCE)
    with GraphQLClient(SOURCE.name, SOURCE.resolve_base_url(base_url), retry=retry, min_interval=interval) as gql:
        plan = load.plan("attestations", start=start, end=end, max_windows=max_windows)
        load.load(plan, lambda window: attestations_in_window(gql, window, page_size))
    return load.finish()


@contextmanager
def replay_parameters() -> Iterator[dict[str, Any]]:
    """Replay two recorded weeks (2024-03-03 and 2024-03-10) in pages of 2."""
    with replay_server(SOURCE.name) as url:
        yield {"base_url": f"{url}/graphql", "start": "2024-03-03", "end": "2024-03-17", "page_size": 2}


if __name__ == "__main__":
    raise SystemExit(
        run_source_cli(
            SOURCE, eas_optimism_flow, add_arguments=window_range_arguments, to_parameters=window_range_parameters
        )
    )
