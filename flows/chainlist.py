"""chainlist: every EVM chain listed in chainlist.org's ``rpcs.json``, one row per chain.

OSO's asset (``assets/chainlist.py``) meant to load these ten columns but never appended a row, so its table
was always empty. Ours loads them, and refuses to replace the table with nothing if the list comes back empty.
"""

from __future__ import annotations

import polars as pl

from oso_core.cli import run_source_cli
from oso_core.flow_guard import source_flow
from oso_core.http import HttpClient
from oso_core.records import Where, records_to_frame
from oso_core.sources import Source, TableSpec
from oso_core.summary import LoadSummary
from oso_core.warehouse import Warehouse

ENDPOINT = "/rpcs.json"
# The API's fields as read (errors name these), then renamed to OSO's intended columns.
CHAIN_FIELDS: dict[str, pl.DataType] = {
    "name": pl.String(),
    "chain": pl.String(),
    "chainId": pl.Int64(),
    "networkId": pl.Int64(),
    "shortName": pl.String(),
    "chainSlug": pl.String(),
    "nativeCurrency": pl.Struct({"name": pl.String, "symbol": pl.String, "decimals": pl.Int64}),
    "infoURL": pl.String(),
}
COLUMNS = {
    "name": "name",
    "chain": "chain",
    "chainId": "chain_id",
    "networkId": "network_id",
    "shortName": "short_name",
    "chainSlug": "chain_slug",
    "infoURL": "info_url",
}

SOURCE = Source(
    name="chainlist",
    description="EVM chains from chainlist.org",
    base_url="https://chainlist.org",
    tables=(TableSpec("chains", mode="replace", key=("chain_id",), description="one row per EVM chain"),),
    flow="chainlist_flow",
)


def chains_frame(payload: object) -> pl.DataFrame:
    """OSO's intended ``chains`` columns from the ``rpcs.json`` list (native currency flattened)."""
    where = Where(SOURCE.name, ENDPOINT)
    rows = where.expect(payload, list)
    raw = records_to_frame(rows, CHAIN_FIELDS, where=where, required=("name", "chainId"), record_id="name")
    if raw.is_empty():
        raise where.error(None, "the chain list is empty; refusing to replace chainlist.chains with nothing")
    currency = pl.col("nativeCurrency").struct
    return raw.select(
        *[pl.col(api).alias(column) for api, column in COLUMNS.items() if column != "info_url"],
        currency.field("name").alias("native_currency_name"),
        currency.field("symbol").alias("native_currency_symbol"),
        currency.field("decimals").alias("native_currency_decimals"),
        pl.col("infoURL").alias("info_url"),
    )


@source_flow(SOURCE, log_prints=True)
def chainlist_flow(base_url: str | None = None) -> LoadSummary:
    """Load every chain of chainlist.org's rpcs.json into chainlist.chains (replaced)."""
    summary = LoadSummary(SOURCE.name)
    with HttpClient(SOURCE.name, SOURCE.resolve_base_url(base_url)) as http:
        chains = chains_frame(http.get_json(ENDPOINT))
    summary.add(Warehouse().write_table(SOURCE, "chains", chains))
    summary.publish()
    return summary


if __name__ == "__main__":
    raise SystemExit(run_source_cli(SOURCE, chainlist_flow))
