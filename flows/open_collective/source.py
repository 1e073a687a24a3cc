"""open_collective: Open Collective transactions in weekly windows (expenses = DEBIT, deposits = CREDIT) and accounts.

As OSO's ``assets/default/open_collective.py``: GraphQL v2 with a ``Personal-Token`` header, a ``totalCount``
query per window then ``limit``/``offset`` pages of 1000 (down to 100 on failures, 65 s on 429), merge on ``id``.
Nested objects (amounts, accounts, expense, order…) are kept as JSON text as OSO's tables kept them.
"""

from __future__ import annotations

import functools
from datetime import date

from flows.open_collective.payload import (
    ACCOUNTS_PAGE,
    RETRY,
    TRANSACTION_KINDS,
    TRANSACTIONS_PAGE,
    all_accounts,
    transactions_in_window,
)
from oso_core import DEFAULT_MAX_WINDOWS, SecretReference, Source, SourceRun, TableSpec, WindowGrid, source_flow

PERSONAL_TOKEN = SecretReference("open_collective", "personal_token", "Open Collective personal API token")

SOURCE = Source(
    name="open_collective",
    description="Open Collective expenses and deposits (weekly windows) and accounts, from GraphQL API v2",
    base_url="https://api.opencollective.com/graphql/v2",
    tables=(
        # Partitioned by month of ``created_at``, the time the windows select on (``dateFrom``/``dateTo``). A
        # transaction's id and creation time are fixed when Open Collective records it (edits change ``updated_at``,
        # a refund is a new transaction), so a key never moves between partitions: a window's merge reads only
        # the month(s) it falls in, whatever the shape of the ids.
        TableSpec(
            "expenses",
            mode="merge",
            key=("id",),
            partition_by="month(created_at)",
            key_determines_partition=True,
            description="DEBIT transactions, weekly windows",
        ),
        TableSpec(
            "deposits",
            mode="merge",
            key=("id",),
            partition_by="month(created_at)",
            key_determines_partition=True,
            description="CREDIT transactions, weekly windows",
        ),
        TableSpec("accounts", mode="merge", key=("id",), description="every account, offset pages"),
    ),
    flow="open_collective_flow",
    secrets=(PERSONAL_TOKEN,),
    windows=WindowGrid(start=date(2015, 1, 23)),
    tags=("graphql", "windowed"),
)


@source_flow(SOURCE)
def open_collective_flow(
    run: SourceRun,
    base_url: str | None = None,
    start: str | None = None,
    end: str | None = None,
    max_windows: int = DEFAULT_MAX_WINDOWS,
    tables: list[str] | None = None,
    page_size: int = TRANSACTIONS_PAGE,
    accounts_page_size: int = ACCOUNTS_PAGE,
) -> None:
    """Load Open Collective expenses and deposits window by window (merge on id), then accounts.

    Without ``start``/``end`` the windows not yet loaded (faulty ones first) are loaded, at most
    ``max_windows`` per table; with them, every window overlapping ``[start, end)`` is reloaded.
    A faulty window is recorded, retried next run, and fails this run after the other windows load.
    """
    chosen = tables or [t.name for t in SOURCE.tables]
    token = run.secret(PERSONAL_TOKEN)
    with run.graphql(base_url, headers={"Personal-Token": token}, retry=RETRY) as gql:
        for table, kind in TRANSACTION_KINDS.items():
            if table in chosen:
                extract = functools.partial(transactions_in_window, gql, kind, page_size=page_size)
                run.load_windows(table, extract, start=start, end=end, max_windows=max_windows)
        if "accounts" in chosen:
            try:
                run.write({"accounts": all_accounts(gql, accounts_page_size)})
            except Exception as exc:  # noqa: BLE001 - windows already loaded stay loaded; the run still fails
                run.summary.notes.append(f"accounts failed: {exc}")
                run.fail_after_load(exc)
