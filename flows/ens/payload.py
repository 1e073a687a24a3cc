"""The ENS subgraph's GraphQL queries and node schemas, and the keyset paging that turns them into frames."""

from __future__ import annotations

import polars as pl

from oso_core.graphql import GraphQLClient, PageRetry, paginate_graphql_keyset
from oso_core.graphql_frames import JSON, NodeSchema, frame_from_pages

RETRY = PageRetry(shrink=0.6, min_page_size=1, backoff_initial=1.0, backoff_max=5.0)
PAGE_SIZE, PAGE_INTERVAL = 500, 2.0

DOMAINS_QUERY = """
query Domains($first: Int!, $where: Domain_filter) {
  domains(first: $first, orderBy: id, orderDirection: asc, where: $where) {
    id name subdomainCount expiryDate
    resolver { id address }
    owner { id }
    registrant { id }
    registration { id registrationDate expiryDate cost labelName }
  }
}
"""

TEXT_CHANGEDS_QUERY = """
query TextChangeds($first: Int!, $where: TextChanged_filter) {
  textChangeds(first: $first, orderBy: id, orderDirection: asc, where: $where) {
    id blockNumber transactionID key value
  }
}
"""

DOMAIN = NodeSchema(
    {
        "id": pl.String,
        "name": pl.String,
        "subdomainCount": pl.Int64,
        "expiryDate": pl.String,  # BigInt: a decimal string in subgraph responses
        "resolver": JSON,
        "owner": JSON,
        "registrant": JSON,
        "registration": JSON,
    },
)

TEXT_CHANGED = NodeSchema(
    {"id": pl.String, "blockNumber": pl.Int64, "transactionID": pl.String, "key": pl.String, "value": pl.String},
    required=("id", "blockNumber", "key"),
)

QUERIES = {
    "domains": (DOMAINS_QUERY, "domains", DOMAIN),
    "text_changeds": (TEXT_CHANGEDS_QUERY, "textChangeds", TEXT_CHANGED),
}


def extract(gql: GraphQLClient, table: str, page_size: int) -> pl.DataFrame:
    """Every row of one table, by keyset pages on ``id``, validated into one frame."""
    query, field, schema = QUERIES[table]
    pages = paginate_graphql_keyset(gql, query, {}, nodes_path=field, page_size=page_size, operation=field)
    return frame_from_pages(schema, pages, source=gql.source, endpoint=gql.masked_endpoint, what=field)
