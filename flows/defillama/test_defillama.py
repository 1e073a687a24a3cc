"""defillama against its replayed API: seven tables, slugs from the lake, 404 slugs skipped, bad payloads refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest

from flows.defillama.payload import FALLBACK_CHAINS
from flows.defillama.source import SOURCE, defillama_flow
from oso_core import SourceError
from oso_dev.replay import ReplayServer, Route, fixtures_dir
from tests.support.oso_contract import assert_matches_contract

FIXTURE = fixtures_dir("defillama")
ROUTES = json.loads((FIXTURE / "routes.json").read_text())
URL = pl.List(pl.Struct({"url": pl.String}))
EXPECTED_ROWS = {
    "defillama.protocol_metadata": 5,
    "defillama.tvl_events": 24,  # aave 5 chains, uniswap 2, velodrome 1; x 3 days
    "defillama.trading_volume_events": 9,  # uniswap 2 chains, velodrome 1; x 3 days
    "defillama.lp_fee_events": 9,  # aave 2 chains x 3 days; uniswap's aggregate chart, 3 days
    "defillama.historical_chain_tvl": 3 * len(FALLBACK_CHAINS),
    "defillama.chains": 4,
    "defillama.raises": 3,
}
DAY1 = datetime(2024, 12, 31, tzinfo=UTC)


def fixture_routes(*first: Route) -> list[Route]:
    return [*first, *(Route.from_dict(r) for r in ROUTES)]


def seed_lake(warehouse) -> None:
    projects = pl.DataFrame(
        {
            "name": ["aave", "uniswap", "gyroscope", "old", "nodefi"],
            "defillama": [
                [{"url": "https://defillama.com/protocol/aave-v3"}],
                [{"url": "https://defillama.com/protocol/uniswap-v3/"}],
                [{"url": "https://defillama.com/protocol/gyroscope-protocol"}],
                [{"url": "https://defillama.com/protocol/retired-thing"}],
                None,
            ],
        },
        schema={"name": pl.String, "defillama": URL},
    )
    warehouse.write("ossd.projects", projects, mode="replace")
    atlas = pl.DataFrame({"id": ["p1"], "defi_llama_slug": [["velodrome-v2"]]})
    warehouse.write("op_atlas.project", atlas, mode="replace")


def test_happy_path_all_seven_tables(warehouse) -> None:
    seed_lake(warehouse)
    with ReplayServer.for_source("defillama") as server:
        summary = defillama_flow(base_url=server.url)
    assert summary.rows == EXPECTED_ROWS
    for table, rows in EXPECTED_ROWS.items():
        assert warehouse.sql(f"SELECT count(*) AS n FROM {table}")["n"][0] == rows, table
    assert summary.skipped == [
        "tvl_events: gyroscope-protocol (HTTP 404)",
        "trading_volume_events: aave-v3 (HTTP 404)",
        "trading_volume_events: gyroscope-protocol (HTTP 404)",
        "lp_fee_events: gyroscope-protocol (HTTP 404)",
        "lp_fee_events: velodrome-v2 (HTTP 404)",
    ]
    assert any("1 lake slug(s) not in /protocols: retired-thing" in note for note in summary.notes)
    requested = {r.path for r in server.requests}
    assert "/protocol/not-in-ossd" not in requested and "/protocol/retired-thing" not in requested

    tvl = warehouse.sql(
        "SELECT * FROM defillama.tvl_events WHERE slug = 'aave-v3' AND chain = 'Ethereum-borrowed' ORDER BY time"
    )
    assert tvl.height == 3
    assert tvl.row(0, named=True) == {
        "time": DAY1,
        "slug": "aave-v3",
        "protocol": "aave-v3",
        "parent_protocol": "parent#aave",
        "category": "Lending",
        "chain": "Ethereum-borrowed",
        "token": "USD",
        "tvl": 400.0,
        "event_type": "TVL",
    }
    velo = warehouse.sql("SELECT chain, amount FROM defillama.trading_volume_events WHERE slug = 'velodrome-v2'")
    assert sorted(velo.rows()) == [("optimism", 57.0), ("optimism", 58.0), ("optimism", 59.0)]
    fees = warehouse.sql("SELECT DISTINCT chain, event_type FROM defillama.lp_fee_events WHERE slug = 'uniswap-v3'")
    assert fees.rows() == [("", "LP_FEES")]
    meta = warehouse.sql("SELECT * FROM defillama.protocol_metadata WHERE slug = 'uniswap-v3'").row(0, named=True)
    assert meta["id"] == "2198" and meta["address"] is None and meta["parent_protocol"] == "parent#uniswap"
    chains = warehouse.sql("SELECT name, chain_id, cmc_id FROM defillama.chains ORDER BY name").rows()
    assert chains == [
        ("Base", 8453, None),
        ("Ethereum", 1, "1027"),
        ("OP Mainnet", 10, "11840"),
        ("Solana", None, "5426"),
    ]
    raise_row = warehouse.sql("SELECT * FROM defillama.raises WHERE name = 'Acme Swap'").row(0, named=True)
    assert raise_row["amount"] == 5_000_000 and raise_row["valuation"] == 50_000_000
    assert json.loads(raise_row["lead_investors"]) == ["Paradigm"] and raise_row["date"] == datetime(
        2024, 1, 1, tzinfo=UTC
    )
    hist = warehouse.sql("SELECT DISTINCT chain FROM defillama.historical_chain_tvl ORDER BY chain")
    assert hist["chain"].to_list() == sorted(FALLBACK_CHAINS)
    assert_matches_contract(warehouse, *EXPECTED_ROWS)
    # the investor lists as OSO's raises model reads them on DuckDB: JSON text → VARCHAR[] → one row per investor
    investors = warehouse.sql(
        "SELECT name, unnest(CAST(json_extract(lead_investors, '$') AS VARCHAR[])) AS investor "
        "FROM defillama.raises ORDER BY name, investor"
    )
    assert ("Acme Swap", "Paradigm") in investors.rows()


def test_a_lake_with_list_investor_columns_gets_them_as_json_text(warehouse) -> None:
    old = pl.DataFrame({"name": ["Old Raise"], "date": [DAY1], "lead_investors": [["a16z"]], "chains": [["Base"]]})
    warehouse.write("defillama.raises", old, mode="replace")
    with ReplayServer.for_source("defillama") as server:
        summary = defillama_flow(base_url=server.url)
    assert "defillama.raises: dropped column(s) lead_investors, chains to write them as string (OSO's type)" in (
        summary.notes
    )
    assert_matches_contract(warehouse, "defillama.raises")
    assert (
        warehouse.sql("SELECT lead_investors FROM defillama.raises WHERE name = 'Acme Swap'").item() == '["Paradigm"]'
    )


def test_without_slug_tables_in_the_lake_the_rest_still_loads(warehouse) -> None:
    with ReplayServer.for_source("defillama") as server:
        summary = defillama_flow(base_url=server.url)
    assert set(summary.rows) == {
        "defillama.protocol_metadata",
        "defillama.historical_chain_tvl",
        "defillama.chains",
        "defillama.raises",
    }
    assert "ossd.projects is not in the lake yet: no ossd DefiLlama slugs" in summary.notes
    assert not warehouse.exists("defillama.tvl_events")


def test_second_run_takes_historical_chains_from_the_loaded_chains_table(warehouse) -> None:
    with ReplayServer.for_source("defillama") as server:
        defillama_flow(base_url=server.url)
        server.requests.clear()
        defillama_flow(base_url=server.url)
    history = sorted(r.path for r in server.requests if r.path.startswith("/v2/historicalChainTvl/"))
    assert history == [f"/v2/historicalChainTvl/{c}" for c in ("Base", "Ethereum", "OP%20Mainnet", "Solana")]
    assert warehouse.sql("SELECT count(*) AS n FROM defillama.historical_chain_tvl")["n"][0] == 12


def test_429_and_flaky_5xx_are_retried(warehouse) -> None:
    seed_lake(warehouse)
    routes = fixture_routes(
        Route("/protocols", status=429, headers={"Retry-After": "0"}, times=1),
        Route("/protocol/aave-v3", status=503, headers={"Retry-After": "0"}, times=2),
        Route("/summary/dexs/uniswap-v3", status=502, times=1),
    )
    with ReplayServer(routes, root=FIXTURE) as server:
        summary = defillama_flow(base_url=server.url)
    assert summary.rows == EXPECTED_ROWS
    paths = [r.path for r in server.requests]
    assert paths.count("/protocols") == 2 and paths.count("/protocol/aave-v3") == 3


def test_malformed_slug_payload_fails_naming_field_and_commits_nothing(warehouse) -> None:
    seed_lake(warehouse)
    with ReplayServer.for_source("defillama") as server:
        defillama_flow(base_url=server.url)
    snapshots = {table: warehouse.snapshot_id(table) for table in EXPECTED_ROWS}
    bad = json.loads((FIXTURE / "protocol_uniswap-v3.json").read_text())
    bad["chainTvls"]["Ethereum"]["tvl"][1]["totalLiquidityUSD"] = "lots"
    with (
        ReplayServer(fixture_routes(Route("/protocol/uniswap-v3", json=bad)), root=FIXTURE) as server,
        pytest.raises(SourceError) as caught,
    ):
        defillama_flow(base_url=server.url)
    assert str(caught.value) == (
        "defillama: /protocol/uniswap-v3: record chainTvls.Ethereum.tvl #1: field 'totalLiquidityUSD': "
        "expected a number, got str 'lots'"
    )
    assert {table: warehouse.snapshot_id(table) for table in EXPECTED_ROWS} == snapshots


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (Route("/raises", json={"data": []}), "defillama: /raises: field 'raises': missing"),
        (
            Route("/v2/chains", json=[{"name": "X", "chainId": "0x1"}]),
            "defillama: /v2/chains: record #0: field 'chainId': expected an integer, got '0x1'",
        ),
        (
            Route("/summary/fees/aave-v3", json={"totalDataChart": [[1735603200, "7"]]}),
            "defillama: /summary/fees/aave-v3: record totalDataChart[0]: expected a number or a per-chain breakdown",
        ),
        (
            Route("/protocol/aave-v3", status=500, headers={"Retry-After": "0"}),
            "defillama: /protocol/aave-v3: HTTP 500 after 6 attempt(s)",
        ),
    ],
)
def test_bad_input_fails_the_run_before_any_write(warehouse, route, message) -> None:
    seed_lake(warehouse)
    with ReplayServer(fixture_routes(route), root=FIXTURE) as server, pytest.raises(SourceError) as caught:
        defillama_flow(base_url=server.url)
    assert message in str(caught.value)
    assert not any(warehouse.exists(f"defillama.{spec.name}") for spec in SOURCE.tables)


def test_rerun_gives_the_same_tables(warehouse) -> None:
    seed_lake(warehouse)

    def tables() -> dict[str, pl.DataFrame]:
        return {t: warehouse.sql(f"SELECT * FROM {t} ORDER BY ALL") for t in EXPECTED_ROWS}

    with ReplayServer.for_source("defillama") as server:
        defillama_flow(base_url=server.url)
        first = tables()
        defillama_flow(base_url=server.url)  # now historical chains come from the loaded chains table
        second = tables()
        defillama_flow(base_url=server.url)
        third = tables()
    for table in EXPECTED_ROWS:
        assert third[table].equals(second[table]), table
        if table != "defillama.historical_chain_tvl":
            assert second[table].equals(first[table]), table
