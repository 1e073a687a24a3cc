"""defillama: protocol TVL, trading volume and LP fee events, protocol metadata, chain TVL, chains and raises.

As OSO's ``assets/default/defillama.py``: seven tables, each replaced every run, with OSO's columns and keys.
The protocol slugs are those the lake knows (ossd projects' ``defillama`` URLs, last path segment, plus op_atlas
projects' DefiLlama slugs when op_atlas is loaded) that ``/protocols`` still lists; OSO took the same two lists
from BigQuery. A slug whose endpoint answers 404 is skipped and listed in the run summary; any other failure
fails the run before anything is written (OSO logged and carried on, silently losing the slug's rows).
Historical chain TVL covers the chains of the previous ``defillama.chains`` load, else OSO's fallback list.

Differences from OSO, on purpose: times are timestamps (OSO wrote ISO strings into a time-partitioned column);
missing strings stay null (OSO's ``str(None)`` wrote ``"None"``); a volume/fee breakdown with several
sub-protocols on one chain sums them (OSO kept only the first, losing the others).
"""

from __future__ import annotations

import polars as pl

from flows.defillama.payload import (
    RAISES_JSON_COLUMNS,
    SLUG_TABLES,
    chains_frame,
    historical_chain_tvl,
    lake_chains,
    lake_slugs,
    protocol_metadata_frame,
    raises_frame,
    slug_tables,
)
from oso_core import DropColumnsUnless, Source, SourceRun, TableSpec, source_flow

EVENT_KEY = ("slug", "chain", "time")
SOURCE = Source(
    name="defillama",
    description="DefiLlama protocols, chains and raises",
    base_url="https://api.llama.fi",
    tables=(
        # The daily time series are partitioned by year of ``time`` (a key column, so a key's partition is fixed):
        # readers of a period read only its years. Years, not months: they are replaced whole each run and hold
        # from thousands to a few hundred thousand rows a year, which monthly partitions would cut into small files.
        TableSpec(
            "tvl_events",
            mode="replace",
            key=EVENT_KEY,
            partition_by="year(time)",
            description="TVL per protocol, chain and day",
            dedupe="last",
        ),
        TableSpec(
            "trading_volume_events",
            mode="replace",
            key=EVENT_KEY,
            partition_by="year(time)",
            description="DEX volume per day",
            dedupe="last",
        ),
        TableSpec(
            "lp_fee_events",
            mode="replace",
            key=EVENT_KEY,
            partition_by="year(time)",
            description="daily fees per protocol and chain",
            dedupe="last",
        ),
        TableSpec(
            "protocol_metadata", mode="replace", key=("slug",), description="every listed protocol", dedupe="last"
        ),
        TableSpec(
            "historical_chain_tvl",
            mode="replace",
            key=("chain", "time"),
            partition_by="year(time)",
            description="TVL per chain and day",
            dedupe="last",
        ),
        TableSpec("chains", mode="replace", key=("name",), description="every chain DefiLlama tracks", dedupe="last"),
        TableSpec("raises", mode="replace", key=("name", "date"), description="fundraising rounds", dedupe="last"),
    ),
    flow="defillama_flow",
    depends_on=("ossd", "op_atlas"),  # reads their tables for its list of slugs
    # a lake written when raises' list columns were lists: dropped, so the next replace writes them as JSON text
    migrations=(DropColumnsUnless("raises", RAISES_JSON_COLUMNS, type_name="string"),),
)


@source_flow(SOURCE)
def defillama_flow(run: SourceRun, base_url: str | None = None, max_workers: int = 4) -> dict[str, pl.DataFrame]:
    """Load DefiLlama's seven tables (each replaced) for the protocols the lake knows about."""
    summary, warehouse = run.summary, run.warehouse
    wanted = lake_slugs(warehouse, summary)
    chains = lake_chains(warehouse, summary)
    frames: dict[str, pl.DataFrame] = {}
    with run.http(base_url, timeout=300) as http:
        frames["protocol_metadata"] = protocol_metadata_frame(SOURCE.name, http.get_json("/protocols"))
        if wanted is None:
            summary.notes.append(f"{', '.join(SLUG_TABLES)} not loaded: no slug list in the lake (run ossd first)")
        else:
            listed = set(frames["protocol_metadata"]["slug"].to_list())
            if unlisted := sorted(wanted - listed):
                summary.notes.append(f"{len(unlisted)} lake slug(s) not in /protocols: {', '.join(unlisted)}")
            frames.update(slug_tables(http, sorted(wanted & listed), max_workers, summary))
        frames["historical_chain_tvl"] = historical_chain_tvl(http, chains, max_workers, summary)
        frames["chains"] = chains_frame(SOURCE.name, http.get_json("/v2/chains"))
        frames["raises"] = raises_frame(SOURCE.name, http.get_json("/raises"))
    summary.notes.append(f"{http.stats.requests} requests, {http.stats.retries} retries")
    return {spec.name: frames[spec.name] for spec in SOURCE.tables if spec.name in frames}  # in declared order
