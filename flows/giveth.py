"""giveth: Giveth quadratic-funding rounds, then the projects of each round, into ``giveth.qf_rounds``.

As OSO's ``assets/default/giveth_qf.py``: ``qfRounds(activeOnly: false)`` is not stored itself but drives
``allProjects(qfRoundId, skip, take)`` per round (parent → child); the table holds project rows with
``source_qf_round_id`` naming their round, replaced each run. Nested values are kept as JSON text.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from oso_core.cli import run_source_cli
from oso_core.flow_guard import source_flow
from oso_core.graphql import GraphQLClient, configured_retry
from oso_core.payloads.giveth import PAGE_INTERVAL, PAGE_SIZE, RETRY, projects_of_rounds, qf_rounds
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


@source_flow(SOURCE, log_prints=True)
def giveth_flow(
    base_url: str | None = None, page_size: int = PAGE_SIZE, page_interval: float | None = None
) -> LoadSummary:
    """Replace giveth.qf_rounds with the projects of every QF round (all rounds read before the commit)."""
    summary = LoadSummary(SOURCE.name)
    retry, interval = configured_retry(SOURCE.name, RETRY, PAGE_INTERVAL)
    interval = interval if page_interval is None else page_interval
    with GraphQLClient(SOURCE.name, SOURCE.resolve_base_url(base_url), retry=retry, min_interval=interval) as gql:
        rounds = qf_rounds(gql)
        projects = projects_of_rounds(gql, rounds, page_size)
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
