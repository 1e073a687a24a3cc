"""The ENS subgraph's GraphQL queries and node schemas, and the keyset paging that turns them into frames.

Column names are the ones OSO's staging models read, which OSO's own tables had:

* ``ens.domains`` keeps the subgraph's field names (``expiryDate``, ``subdomainCount``): OSO's
  ``stg_ens__domains`` selects them quoted, as its BigQuery table had them. Every field this table selects is
  kept as GraphQL names it (the other fields, ``id``, ``name``, ``resolver`` ..., are the same either way).
* ``ens.text_changeds`` has dlt's snake_case (``block_number``, ``transaction_id``), which OSO's
  ``stg_ens__text_changeds`` selects, as for every other GraphQL table OSO loaded (EAS, Open Collective, Giveth).

So the rule, the same for every GraphQL source: a table's columns are named as OSO's models read that table; only
``ens.domains`` was read by GraphQL's names. Nested objects and lists are JSON text, as OSO's
``max_table_nesting=0`` kept them: ``resolver`` of a text record is ``{"id": ...}`` only (the shape of OSO's seed),
which both OSO's ``TRY_CAST(resolver AS ROW(id VARCHAR))`` (DuckDB) and ``resolver->>'$.id'`` read;
``subdomains`` is the list of each subdomain's ``{id, name}`` (the subgraph's first 100; every subdomain is also a
row of ``ens.domains`` of its own, joinable on ``id``).
"""

from __future__ import annotations

import polars as pl

from oso_core import JSON, GraphQLClient, NodeSchema, PageRetry, frame_from_pages, paginate_graphql_keyset

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
    subdomains { id name }
  }
}
"""

TEXT_CHANGEDS_QUERY = """
query TextChangeds($first: Int!, $where: TextChanged_filter) {
  textChangeds(first: $first, orderBy: id, orderDirection: asc, where: $where) {
    id resolver { id } blockNumber transactionID key value
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
        "subdomains": JSON,
    },
    graphql_names=True,
)

TEXT_CHANGED = NodeSchema(
    {
        "id": pl.String,
        "resolver": JSON,
        "blockNumber": pl.Int64,
        "transactionID": pl.String,
        "key": pl.String,
        "value": pl.String,
    },
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
