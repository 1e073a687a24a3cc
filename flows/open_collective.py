"""open_collective: Open Collective transactions in weekly windows (expenses = DEBIT, deposits = CREDIT) and accounts.

As OSO's ``assets/default/open_collective.py``: GraphQL v2 with a ``Personal-Token`` header, a ``totalCount``
query per window then ``limit``/``offset`` pages of 1000 (down to 100 on failures, 65 s on 429), merge on ``id``.
Nested objects (amounts, accounts, expense, order…) are kept as JSON text as OSO's tables kept them.
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
from oso_core.graphql_frames import JSON, NodeSchema, frame_from_pages
from oso_core.replay import replay_server
from oso_core.replay_secrets import replay_secrets
from oso_core.secrets import SecretReference, default_resolver
from oso_core.sources import Source, TableSpec, Windows
from oso_core.summary import LoadSummary
from oso_core.windows import DEFAULT_MAX_WINDOWS, Window, WindowedLoad, window_range_arguments, window_range_parameters

PERSONAL_TOKEN = SecretReference("open_collective", "personal_token")

SOURCE = Source(
    name="open_collective",
    description="Open Collective expenses and deposits (weekly windows) and accounts, from GraphQL API v2",
    base_url="https://api.opencollective.com/graphql/v2",
    tables=(
        TableSpec("expenses", mode="merge", key=("id",), description="DEBIT transactions, weekly windows"),
        TableSpec("deposits", mode="merge", key=("id",), description="CREDIT transactions, weekly windows"),
        TableSpec("accounts", mode="merge", key=("id",), description="every account, offset pages"),
    ),
    flow="open_collective_flow",
    secrets=(PERSONAL_TOKEN,),
    windows=Windows(start=date(2015, 1, 23)),
    tags=("graphql", "windowed"),
)

TRANSACTION_KINDS = {"expenses": "DEBIT", "deposits": "CREDIT"}
RETRY = PageRetry(shrink=0.5, min_page_size=100, rate_limit_wait=65.0)
TRANSACTIONS_PAGE, ACCOUNTS_PAGE = 1000, 200

_AMOUNT = "{ value currency valueInCents }"
_ACCOUNT = "{ id slug type name legalName description imageUrl isHost createdAt updatedAt }"
_HOST = "{ id type slug name legalName description currency }"

COUNT_QUERY = """
query ($type: TransactionType, $dateFrom: DateTime!, $dateTo: DateTime!) {
  transactions(type: $type, dateFrom: $dateFrom, dateTo: $dateTo) { totalCount }
}
"""

TRANSACTIONS_QUERY = f"""
query ($limit: Int!, $offset: Int!, $type: TransactionType!, $dateFrom: DateTime!, $dateTo: DateTime!) {{
  transactions(limit: $limit, offset: $offset, type: $type, dateFrom: $dateFrom, dateTo: $dateTo) {{
    totalCount
    nodes {{
      id legacyId group type kind description
      amount {_AMOUNT} amountInHostCurrency {_AMOUNT} hostCurrencyFxRate
      netAmount {_AMOUNT} netAmountInHostCurrency {_AMOUNT} taxAmount {_AMOUNT}
      taxInfo {{ id type rate idNumber }}
      platformFee {_AMOUNT} hostFee {_AMOUNT} paymentProcessorFee {_AMOUNT}
      account {_ACCOUNT} fromAccount {_ACCOUNT} toAccount {_ACCOUNT}
      expense {{ id legacyId description reference createdAt currency type status payee {_ACCOUNT} }}
      order {{ id legacyId description amount {_AMOUNT} totalAmount {_AMOUNT} quantity status }}
      createdAt updatedAt isRefunded isRefund isDisputed isInReview
      paymentMethod {{ id type name }} payoutMethod {{ id type name }}
      isOrderRejected merchantId invoiceTemplate
      host {_HOST}
    }}
  }}
}}
"""

ACCOUNTS_QUERY = """
query ($limit: Int!, $offset: Int!) {
  accounts(limit: $limit, offset: $offset) {
    totalCount
    nodes {
      id legacyId slug type name legalName description longDescription tags
      socialLinks { type url createdAt updatedAt }
      expensePolicy isIncognito imageUrl backgroundImageUrl createdAt updatedAt
      isArchived isFrozen isHost isAdmin
      location { id name address country lat long }
    }
  }
}
"""

TRANSACTION = NodeSchema(
    {
        "id": pl.String,
        "legacyId": pl.Int64,
        "group": pl.String,
        "type": pl.String,
        "kind": pl.String,
        "description": pl.String,
        "amount": JSON,
        "amountInHostCurrency": JSON,
        "hostCurrencyFxRate": pl.Float64,
        "netAmount": JSON,
        "netAmountInHostCurrency": JSON,
        "taxAmount": JSON,
        "taxInfo": JSON,
        "platformFee": JSON,
        "hostFee": JSON,
        "paymentProcessorFee": JSON,
        "account": JSON,
        "fromAccount": JSON,
        "toAccount": JSON,
        "expense": JSON,
        "order": JSON,
        "createdAt": "datetime",
        "updatedAt": "datetime",
        "isRefunded": pl.Boolean,
        "isRefund": pl.Boolean,
        "isDisputed": pl.Boolean,
        "isInReview": pl.Boolean,
        "paymentMethod": JSON,
        "payoutMethod": JSON,
        "isOrderRejected": pl.Boolean,
        "merchantId": pl.String,
        "invoiceTemplate": pl.String,
        "host": JSON,
    },
    required=("id", "type", "createdAt"),
)

ACCOUNT = NodeSchema(
    {
        "id": pl.String,
        "legacyId": pl.Int64,
        "slug": pl.String,
        "type": pl.String,
        "name": pl.String,
        "legalName": pl.String,
        "description": pl.String,
        "longDescription": pl.String,
        "tags": JSON,
        "socialLinks": JSON,
        "expensePolicy": pl.String,
        "isIncognito": pl.Boolean,
        "imageUrl": pl.String,
        "backgroundImageUrl": pl.String,
        "createdAt": "datetime",
        "updatedAt": "datetime",
        "isArchived": pl.Boolean,
        "isFrozen": pl.Boolean,
        "isHost": pl.Boolean,
        "isAdmin": pl.Boolean,
        "location": JSON,
    },
    required=("id", "slug"),
)


def transactions_in_window(gql: GraphQLClient, kind: str, window: Window, page_size: int) -> pl.DataFrame:
    """One window of one transaction type: count, then offset pages, validated into one frame."""
    date_from, date_to = window.iso()
    variables = {"type": kind, "dateFrom": date_from, "dateTo": date_to}
    what = f"{kind} transactions {window.key}"
    total = fetch_count(gql, COUNT_QUERY, variables, count_path="transactions.totalCount", operation=f"{what} count")
    if total == 0:
        return TRANSACTION.empty()
    pages = paginate_offset(
        gql,
        TRANSACTIONS_QUERY,
        variables,
        nodes_path="transactions.nodes",
        total=total,
        total_path="transactions.totalCount",
        page_size=page_size,
        operation=what,
    )
    return frame_from_pages(TRANSACTION, pages, source=SOURCE.name, endpoint=gql.masked_endpoint, what=what)


def all_accounts(gql: GraphQLClient, page_size: int) -> pl.DataFrame:
    pages = paginate_offset(
        gql,
        ACCOUNTS_QUERY,
        {},
        nodes_path="accounts.nodes",
        total_path="accounts.totalCount",
        page_size=page_size,
        operation="accounts",
    )
    return frame_from_pages(ACCOUNT, pages, source=SOURCE.name, endpoint=gql.masked_endpoint, what="accounts")


@flow(name="open_collective", log_prints=True)
def open_collective_flow(
    base_url: str | None = None,
    start: str | None = None,
    end: str | None = None,
    max_windows: int = DEFAULT_MAX_WINDOWS,
    tables: list[str] | None = None,
    page_size: int = TRANSACTIONS_PAGE,
    accounts_page_size: int = ACCOUNTS_PAGE,
) -> LoadSummary:
    """Load Open Collective expenses and deposits window by window (merge on id), then accounts.

    Without ``start``/``end`` the windows not yet loaded (faulty ones first) are loaded, at most
    ``max_windows`` per table; with them, every window overlapping ``[start, end)`` is reloaded.
    A faulty window is recorded, retried next run, and fails this run after the other windows load.
    """
    chosen = tables or [t.name for t in SOURCE.tables]
    token = default_resolver().resolve_as_str(PERSONAL_TOKEN)
    retry, interval = configured_retry(SOURCE.name, RETRY)
    load = WindowedLoad(SOURCE)
    accounts_error: Exception | None = None
    with GraphQLClient(
        SOURCE.name,
        SOURCE.resolve_base_url(base_url),
        headers={"Personal-Token": token},
        mask=(token,),
        retry=retry,
        min_interval=interval,
    ) as gql:
        for table, kind in TRANSACTION_KINDS.items():
            if table in chosen:
                plan = load.plan(table, start=start, end=end, max_windows=max_windows)
                load.load(plan, lambda window, kind=kind: transactions_in_window(gql, kind, window, page_size))
        if "accounts" in chosen:
            try:
                accounts = all_accounts(gql, accounts_page_size)
                load.summary.add(load.warehouse.write_table(SOURCE, "accounts", accounts))
            except Exception as exc:  # noqa: BLE001 - windows already loaded stay loaded; the run still fails
                accounts_error = exc
                load.summary.notes.append(f"accounts failed: {exc}")
    summary = load.finish()
    if accounts_error is not None:
        raise accounts_error
    return summary


@contextmanager
def replay_parameters() -> Iterator[dict[str, Any]]:
    """Replay two recorded weeks (2024-01-07 and 2024-01-14) and the accounts, with a stand-in token."""
    with replay_secrets(SOURCE.secrets), replay_server(SOURCE.name) as url:
        yield {
            "base_url": f"{url}/graphql/v2",
            "start": "2024-01-07",
            "end": "2024-01-21",
            "page_size": 2,
            "accounts_page_size": 2,
        }


if __name__ == "__main__":
    raise SystemExit(
        run_source_cli(
            SOURCE,
            open_collective_flow,
            add_arguments=window_range_arguments,
            to_parameters=window_range_parameters,
        )
    )
