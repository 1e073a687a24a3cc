"""eas_optimism: Ethereum Attestation Service attestations on Optimism, in weekly windows, merged on id.

As OSO's ``assets/default/eas_optimism.py``: ``aggregateAttestation`` counts a window's attestations, then
``attestations(take, skip, where: {time: {gte, lt}})`` pages of 10 000 (down to 100 on failures, 65 s on 429).

The table is ``ethereum_attestation_service_optimism.attestations``: the dataset of OSO's asset key, which its
staging model ``stg_eas__optimism_attestations`` reads. The source keeps OSO's file name ``eas_optimism`` (flow,
settings, load state); a lake written when the table was ``eas_optimism.attestations`` has it renamed in the catalog
by the first run after the upgrade (history kept, noted in the run summary).
"""

from __future__ import annotations

from datetime import date

from flows.eas_optimism.payload import PAGE_SIZE, RETRY, attestations_in_window
from oso_core import DEFAULT_MAX_WINDOWS, RenameTable, Source, SourceRun, TableSpec, WindowGrid, source_flow

NAMESPACE = "ethereum_attestation_service_optimism"
LEGACY_TABLE = "eas_optimism.attestations"  # the name before OSO's

SOURCE = Source(
    name="eas_optimism",
    namespace=NAMESPACE,
    description="EAS attestations on Optimism (weekly windows) from optimism.easscan.org GraphQL",
    base_url="https://optimism.easscan.org/graphql",
    # Partitioned by 30-day buckets of ``time`` (unix seconds, the column the windows select on; an integer, so
    # Iceberg's truncate transform rather than month()). An attestation's id is the hash of its content, time
    # included, and an attestation is immutable once made (revoking sets ``revocation_time``): a key never moves
    # between partitions, so a window's merge reads only the bucket(s) it falls in, not every file of hash-like ids.
    tables=(
        TableSpec(
            "attestations",
            mode="merge",
            key=("id",),
            partition_by="truncate(time, 2592000)",
            key_determines_partition=True,
            description="attestations, weekly windows",
        ),
    ),
    flow="eas_optimism_flow",
    windows=WindowGrid(start=date(2023, 7, 28)),  # first attestation: 2023-07-28 15:22:35 UTC
    tags=("graphql", "windowed"),
    migrations=(RenameTable(LEGACY_TABLE, "attestations"),),
)


@source_flow(SOURCE)
def eas_optimism_flow(
    run: SourceRun,
    base_url: str | None = None,
    start: str | None = None,
    end: str | None = None,
    max_windows: int = DEFAULT_MAX_WINDOWS,
    page_size: int = PAGE_SIZE,
) -> None:
    """Load EAS Optimism attestations window by window (merge on id).

    Without ``start``/``end`` the windows not yet loaded (faulty ones first) are loaded, at most
    ``max_windows``; with them, every window overlapping ``[start, end)`` is reloaded. A faulty window is
    recorded, retried next run, and fails this run after the other windows load.
    """
    with run.graphql(base_url, retry=RETRY) as gql:
        run.load_windows(
            "attestations",
            lambda window: attestations_in_window(gql, window, page_size),
            start=start,
            end=end,
            max_windows=max_windows,
        )
