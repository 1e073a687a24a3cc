"""Open Collective's GraphQL v2 queries and node schemas, and the paging that turns them into frames."""

from __future__ import annotations

import polars as pl

from oso_core import (
    JSON,
    GraphQLClient,
    NodeSchema,
    PageRetry,
    Window,
    fetch_count,
    frame_from_pages,
    paginate_graphql_offset,
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
    pages = paginate_graphql_offset(
        gql,
        TRANSACTIONS_QUERY,
        variables,
        nodes_path="transactions.nodes",
        total=total,
        total_path="transactions.totalCount",
        page_size=page_size,
        operation=what,
    )
    return frame_from_pages(TRANSACTION, pages, source=gql.source, endpoint=gql.masked_endpoint, what=what)


def all_accounts(gql: GraphQLClient, page_size: int) -> pl.DataFrame:
    """Every account, in offset pages, validated into one frame."""
    pages = paginate_graphql_offset(
        gql,
        ACCOUNTS_QUERY,
        {},
        nodes_path="accounts.nodes",
        total_path="accounts.totalCount",
        page_size=page_size,
        operation="accounts",
    )
    return frame_from_pages(ACCOUNT, pages, source=gql.source, endpoint=gql.masked_endpoint, what="accounts")
