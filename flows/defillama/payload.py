"""DefiLlama's payloads → frames: one parser per endpoint, plus the lake's slugs and chains and the per-slug fan-out."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import polars as pl

from oso_core import (
    FanOutResult,
    HttpClient,
    LoadSummary,
    Warehouse,
    Where,
    column_values,
    concat_frames,
    fan_out,
    from_unix,
    project_urls,
    records_to_frame,
)

SLUG_TABLES = ("tvl_events", "trading_volume_events", "lp_fee_events")
# OSO's chains for historical TVL when no defillama.chains table exists yet.
FALLBACK_CHAINS = ("arbitrum", "base", "celo", "ethereum", "mint", "optimism", "polygon", "unichain")

TIME = pl.Datetime("us", "UTC")
TVL_SCHEMA = {
    "time": TIME,
    "slug": pl.String(),
    "protocol": pl.String(),
    "parent_protocol": pl.String(),
    "category": pl.String(),
    "chain": pl.String(),
    "token": pl.String(),
    "tvl": pl.Float64(),
    "event_type": pl.String(),
}
TVL_POINT = {"date": pl.Int64(), "totalLiquidityUSD": pl.Float64()}
EVENT_SCHEMA = {
    "time": TIME,
    "slug": pl.String(),
    "protocol": pl.String(),
    "parent_protocol": pl.String(),
    "chain": pl.String(),
    "token": pl.String(),
    "event_type": pl.String(),
    "amount": pl.Float64(),
}
METADATA_FIELDS = ("id", "slug", "name", "address", "symbol", "url", "description", "logo", "chain", "category")
METADATA_SCHEMA = {name: pl.String() for name in (*METADATA_FIELDS, "twitter", "parent_protocol")}
HISTORICAL_SCHEMA = {"time": TIME, "chain": pl.String(), "tvl": pl.Float64()}
CHAINS_SCHEMA = {
    "gecko_id": pl.String(),
    "tvl": pl.Float64(),
    "token_symbol": pl.String(),
    "cmc_id": pl.String(),
    "name": pl.String(),
    "chain_id": pl.Int64(),
}
RAISES_SCHEMA = {
    "date": TIME,
    "name": pl.String(),
    "round": pl.String(),
    "amount": pl.Float64(),
    "chains": pl.String(),  # JSON text of a list, as OSO's table (see raises_frame)
    "sector": pl.String(),
    "category": pl.String(),
    "category_group": pl.String(),
    "source": pl.String(),
    "lead_investors": pl.String(),
    "other_investors": pl.String(),
    "valuation": pl.Float64(),
    "defillama_id": pl.String(),
}
NUMBER = (int, float)
ID = (str, int)


# ---- payload parsing (one function per endpoint; errors name endpoint, record and field) ----


def _unix(where: Where, obj: Any, field: str) -> Any:
    value = where.field(obj, field, (*NUMBER, str))
    try:
        return from_unix(value)
    except (TypeError, ValueError, OverflowError):
        raise where.error(field, f"expected a Unix timestamp, got {value!r}") from None


def _text(where: Where, obj: Any, field: str) -> str | None:
    value = where.field(obj, field, ID, required=False)
    return None if value is None else str(value)


def protocol_metadata_frame(source: str, payload: Any) -> pl.DataFrame:
    where = Where(source, "/protocols")
    rows = []
    for index, protocol in enumerate(where.expect(payload, list)):
        at = where.at(f"#{index}")
        row = {name: _text(at, protocol, name) for name in (*METADATA_FIELDS, "twitter")}
        row["parent_protocol"] = _text(at, protocol, "parentProtocol")
        rows.append(row)
    return records_to_frame(rows, METADATA_SCHEMA, where=where, required=("slug",), record_id="slug")


def tvl_frame(source: str, slug: str, payload: Any) -> pl.DataFrame:
    """``chainTvls[chain].tvl[] {date, totalLiquidityUSD}`` → one TVL event per chain and date."""
    where = Where(source, f"/protocol/{slug}")
    where.expect(payload, dict)
    parent = where.field(payload, "parentProtocol", str, required=False, default="")
    category = where.field(payload, "category", str, required=False, default="")
    frames = []
    for chain, series in where.field(payload, "chainTvls", dict, required=False, default={}).items():
        if not isinstance(series, dict) or not series.get("tvl"):
            continue  # e.g. a bare number, or a chain with no history: OSO skips these too
        at = where.at(f"chainTvls.{chain}.tvl")
        points = records_to_frame(at.field(series, "tvl", list), TVL_POINT, where=at, required=tuple(TVL_POINT))
        frames.append(
            points.select(
                pl.from_epoch("date", "s").dt.replace_time_zone("UTC").cast(TIME).alias("time"),
                pl.lit(slug).alias("slug"),
                pl.lit(slug).alias("protocol"),
                pl.lit(parent).alias("parent_protocol"),
                pl.lit(category).alias("category"),
                pl.lit(chain).alias("chain"),
                pl.lit("USD").alias("token"),
                pl.col("totalLiquidityUSD").alias("tvl"),
                pl.lit("TVL").alias("event_type"),
            )
        )
    return concat_frames(frames, TVL_SCHEMA)


def chart_frame(source: str, slug: str, endpoint: str, payload: Any, event_type: str) -> pl.DataFrame:
    """``[[ts, number | {chain: {sub_protocol: number}}]]`` → one event per date (and chain, when broken down)."""
    where = Where(source, endpoint)
    where.expect(payload, dict)
    parent = where.field(payload, "parentProtocol", str, required=False, default="")
    field = "totalDataChartBreakdown" if "totalDataChartBreakdown" in payload else "totalDataChart"
    rows = []
    for index, point in enumerate(where.field(payload, field, list, required=False, default=[])):
        at = where.at(f"{field}[{index}]")
        if not isinstance(point, list) or len(point) != 2:
            raise at.error(None, f"expected [timestamp, value], got {point!r}"[:200])
        time = _unix(at, {"timestamp": point[0]}, "timestamp")
        value = point[1]
        if isinstance(value, NUMBER) and not isinstance(value, bool):
            per_chain = {"": float(value)}
        elif isinstance(value, dict):
            per_chain = {chain: _chain_amount(at, chain, nested) for chain, nested in value.items()}
        else:
            raise at.error(None, f"expected a number or a per-chain breakdown, got {value!r}"[:200])
        base = {"time": time, "slug": slug, "protocol": slug, "parent_protocol": parent, "token": "USD"}
        rows.extend(
            {**base, "chain": chain, "event_type": event_type, "amount": amount} for chain, amount in per_chain.items()
        )
    return records_to_frame(rows, EVENT_SCHEMA, where=where)


def _chain_amount(at: Where, chain: str, nested: Any) -> float:
    if isinstance(nested, NUMBER) and not isinstance(nested, bool):
        return float(nested)
    if isinstance(nested, dict) and all(isinstance(v, NUMBER) and not isinstance(v, bool) for v in nested.values()):
        return float(sum(nested.values()))
    raise at.error(chain, f"expected numbers per sub-protocol, got {nested!r}"[:200])


def historical_chain_tvl_frame(source: str, chain: str, payload: Any) -> pl.DataFrame:
    where = Where(source, f"/v2/historicalChainTvl/{chain}")
    rows = []
    for index, point in enumerate(where.expect(payload, list)):
        at = where.at(f"#{index}")
        rows.append({"time": _unix(at, point, "date"), "chain": chain, "tvl": at.field(point, "tvl", NUMBER)})
    return records_to_frame(rows, HISTORICAL_SCHEMA, where=where)


def chains_frame(source: str, payload: Any) -> pl.DataFrame:
    where = Where(source, "/v2/chains")
    rows = []
    for index, chain in enumerate(where.expect(payload, list)):
        at = where.at(f"#{index}")
        chain_id = at.field(chain, "chainId", ID, required=False)
        if isinstance(chain_id, str):
            if not chain_id.strip().isdigit():
                raise at.error("chainId", f"expected an integer, got {chain_id!r}")
            chain_id = int(chain_id)
        rows.append(
            {
                "gecko_id": _text(at, chain, "gecko_id"),
                "tvl": float(at.field(chain, "tvl", NUMBER, required=False, default=0.0)),
                "token_symbol": _text(at, chain, "tokenSymbol"),
                "cmc_id": _text(at, chain, "cmcId"),
                "name": at.field(chain, "name", str),
                "chain_id": chain_id,
            }
        )
    return records_to_frame(rows, CHAINS_SCHEMA, where=where, required=("name",), record_id="name")


RAISES_JSON_COLUMNS = ("chains", "lead_investors", "other_investors")


def raises_frame(source: str, payload: Any) -> pl.DataFrame:
    """``raises[]``; amounts and valuations are in millions of USD upstream, in USD here (as OSO).

    ``chains``, ``lead_investors`` and ``other_investors`` are JSON text of the lists (``["Paradigm"]``), as in
    OSO's table (dlt's JSON columns): OSO's ``stg_defillama__raises`` turns them into arrays with
    ``CAST(JSON_EXTRACT(x, '$') AS ARRAY(VARCHAR))``, which takes JSON text on Trino and on DuckDB, while Trino
    refuses ``JSON_EXTRACT`` of an array column (no such function signature). DuckDB would take either.
    """
    where = Where(source, "/raises")
    rows = []
    for index, item in enumerate(where.field(payload, "raises", list)):
        at = where.at(f"raises[{index}]")
        amount = at.field(item, "amount", NUMBER, required=False)
        valuation = at.field(item, "valuation", NUMBER, required=False)
        rows.append(
            {
                "date": _unix(at, item, "date") if at.field(item, "date", required=False) else None,
                "name": _text(at, item, "name"),
                "round": _text(at, item, "round"),
                "amount": None if amount is None else float(amount) * 1_000_000,
                "chains": _json_list(at, item, "chains"),
                "sector": _text(at, item, "sector"),
                "category": _text(at, item, "category"),
                "category_group": _text(at, item, "categoryGroup"),
                "source": _text(at, item, "source"),
                "lead_investors": _json_list(at, item, "leadInvestors"),
                "other_investors": _json_list(at, item, "otherInvestors"),
                "valuation": None if valuation is None else float(valuation) * 1_000_000,
                "defillama_id": _text(at, item, "defillamaId"),
            }
        )
    return records_to_frame(rows, RAISES_SCHEMA, where=where, required=("name",), record_id="name")


def _json_list(at: Where, item: Any, name: str) -> str:
    """A list field of strings as JSON text (``[]`` when absent or null)."""
    values = at.field(item, name, list, required=False, default=None) or []
    for value in values:
        if not isinstance(value, str):
            raise at.error(name, f"expected a list of strings, got an item {value!r}")
    return json.dumps(values)


# ---- which slugs and chains ----


def slug_of(url: str) -> str:
    """OSO's ``extract_protocol``: the last path segment of a DefiLlama URL."""
    return url.split("?")[0].rstrip("/").split("/")[-1]


def lake_slugs(warehouse: Warehouse, summary: LoadSummary) -> set[str] | None:
    """Slugs from ossd projects' DefiLlama URLs and op_atlas projects' slugs; ``None`` when neither is loaded."""
    found: set[str] | None = None
    urls = project_urls(warehouse, "defillama")
    if urls is None:
        summary.notes.append("ossd.projects is not in the lake yet: no ossd DefiLlama slugs")
    else:
        found = {slug for slug in map(slug_of, urls) if slug}
        summary.notes.append(f"ossd.projects: {len(found)} DefiLlama slug(s)")
    for table, column in (("op_atlas.project", "defi_llama_slug"), ("op_atlas.project__defi_llama_slug", "value")):
        values = column_values(warehouse, table, column)
        if values is not None:
            found = (found or set()) | set(values)
            summary.notes.append(f"{table}.{column}: {len(values)} slug(s)")
    return found


def lake_chains(warehouse: Warehouse, summary: LoadSummary) -> list[str]:
    names = column_values(warehouse, "defillama.chains", "name")
    if names:
        return names
    summary.notes.append(f"historical_chain_tvl: no defillama.chains yet, OSO's fallback chains {FALLBACK_CHAINS}")
    return list(FALLBACK_CHAINS)


# ---- fetching ----


def fetch_each(
    http: HttpClient,
    items: list[str],
    endpoint: Callable[[str], str],
    parse: Callable[[str, str, Any], pl.DataFrame],
    max_workers: int,
    params: dict[str, str] | None = None,
) -> FanOutResult[str, pl.DataFrame]:
    """One GET per item (404 skipped), parsed into a frame per item; any other failure fails the run."""

    def fetch(item: str) -> pl.DataFrame:
        path = endpoint(item)
        return parse(item, path, http.get_json(path, params=params, on_status={404: "skip"}))

    result = fan_out(items, fetch, max_workers=max_workers)
    result.raise_for_errors(http.source, endpoint("{item}"))
    return result


def slug_tables(http: HttpClient, slugs: list[str], max_workers: int, summary: LoadSummary) -> dict[str, pl.DataFrame]:
    """The three per-slug tables; a slug answering 404 on an endpoint is skipped there and listed in the summary."""
    fetched = {
        "tvl_events": fetch_each(
            http, slugs, lambda s: f"/protocol/{s}", lambda s, _, p: tvl_frame(http.source, s, p), max_workers
        ),
        "trading_volume_events": fetch_each(
            http,
            slugs,
            lambda s: f"/summary/dexs/{s}",
            lambda s, path, p: chart_frame(http.source, s, path, p, "TRADING_VOLUME"),
            max_workers,
            {"excludeTotalDataChart": "true", "excludeTotalDataChartBreakdown": "false"},
        ),
        "lp_fee_events": fetch_each(
            http,
            slugs,
            lambda s: f"/summary/fees/{s}",
            lambda s, path, p: chart_frame(http.source, s, path, p, "LP_FEES"),
            max_workers,
            {"dataType": "dailyFees"},
        ),
    }
    for table, result in fetched.items():
        summary.skipped.extend(f"{table}: {label}" for label in result.skipped_labels())
    return {
        table: concat_frames(result.values(), TVL_SCHEMA if table == "tvl_events" else EVENT_SCHEMA)
        for table, result in fetched.items()
    }


def historical_chain_tvl(http: HttpClient, chains: list[str], max_workers: int, summary: LoadSummary) -> pl.DataFrame:
    """TVL history of each chain; a chain answering 404 is skipped and listed in the summary."""
    history = fetch_each(
        http,
        chains,
        lambda c: f"/v2/historicalChainTvl/{c}",
        lambda c, _, p: historical_chain_tvl_frame(http.source, c, p),
        max_workers,
    )
    summary.skipped.extend(f"historical_chain_tvl: {label}" for label in history.skipped_labels())
    return concat_frames(history.values(), HISTORICAL_SCHEMA)
