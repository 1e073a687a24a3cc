"""giveth: Giveth quadratic-funding rounds, then the projects of each round, into ``giveth.qf_rounds``.

As OSO's ``assets/default/giveth_qf.py``: ``qfRounds(activeOnly: false)`` is not stored itself but drives
``allProjects(qfRoundId, skip, take)`` per round (parent → child); the table holds project rows with
``source_qf_round_id`` naming their round, replaced each run. Nested values are kept as JSON text.
"""

from __future__ import annotations

from typing import Any

from flows.giveth.payload import PAGE_INTERVAL, PAGE_SIZE, RETRY, projects_of_rounds, qf_rounds
from oso_core import Source, SourceRun, TableSpec, source_flow

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


@source_flow(SOURCE)
def giveth_flow(
    run: SourceRun, base_url: str | None = None, page_size: int = PAGE_SIZE, page_interval: float | None = None
) -> dict[str, Any]:
    """Replace giveth.qf_rounds with the projects of every QF round (all rounds read before the commit)."""
    with run.graphql(base_url, retry=RETRY, default_interval=PAGE_INTERVAL, page_interval=page_interval) as gql:
        rounds = qf_rounds(gql)
        projects = projects_of_rounds(gql, rounds, page_size)
    named = ", ".join(f"{r['id']} {r.get('slug') or ''}" for r in rounds)
    run.summary.notes.append(f"{len(rounds)} QF round(s): {named}")
    return {"qf_rounds": projects}
