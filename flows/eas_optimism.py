"""eas_optimism: Ethereum Attestation Service attestations on Optimism, in weekly windows, merged on id.

As OSO's ``assets/default/eas_optimism.py``: ``aggregateAttestation`` counts a window's attestations, then
``attestations(take, skip, where: {time: {gte, lt}})`` pages of 10 000 (down to 100 on failures, 65 s on 429).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from oso_core.cli import run_source_cli
from oso_core.flow_guard import source_flow
from oso_core.graphql import GraphQLClient, configured_retry
from oso_core.payloads.eas_optimism import PAGE_SIZE, RETRY, attestations_in_window
from oso_core.replay import replay_server
from oso_core.sources import Source, TableSpec, Windows
from oso_core.summary import LoadSummary
from oso_core.windows import DEFAULT_MAX_WINDOWS, WindowedLoad, window_range_arguments, window_range_parameters

SOURCE = Source(
    name="eas_optimism",
    description="EAS attestations on Optimism (weekly windows) from optimism.easscan.org GraphQL",
    base_url="https://optimism.easscan.org/graphql",
    tables=(TableSpec("attestations", mode="merge", key=("id",), description="attestations, weekly windows"),),
    flow="eas_optimism_flow",
    windows=Windows(start=date(2023, 7, 28)),  # first attestation: 2023-07-28 15:22:35 UTC
    tags=("graphql", "windowed"),
)


@source_flow(SOURCE, log_prints=True)
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
