"""chainlist against its replayed rpcs.json: the ten intended columns, non-empty, failures commit nothing."""

from __future__ import annotations

import json

import pytest

from flows.chainlist.source import SOURCE, chainlist_flow
from oso_core import SourceError
from oso_dev.replay import ReplayServer, Route, fixtures_dir
from tests.support.oso_contract import assert_matches_contract

FIXTURE = fixtures_dir("chainlist")
RPCS = json.loads((FIXTURE / "rpcs.json").read_text())
COLUMNS = [
    "name",
    "chain",
    "chain_id",
    "network_id",
    "short_name",
    "chain_slug",
    "native_currency_name",
    "native_currency_symbol",
    "native_currency_decimals",
    "info_url",
]


def serve(*routes: Route) -> ReplayServer:
    return ReplayServer([*routes, Route("/rpcs.json", file="rpcs.json")], root=FIXTURE)


def test_happy_path_reads_back_every_chain(warehouse) -> None:
    with ReplayServer.for_source("chainlist") as server:
        summary = chainlist_flow(base_url=server.url)
    assert summary.rows == {"chainlist.chains": len(RPCS)}
    frame = warehouse.sql("SELECT * FROM chainlist.chains ORDER BY chain_id")
    assert frame.columns == COLUMNS
    assert frame.height == 6
    assert frame.row(0) == (
        "Ethereum Mainnet",
        "ETH",
        1,
        1,
        "eth",
        "ethereum",
        "Ether",
        "ETH",
        18,
        "https://ethereum.org",
    )
    assert frame["chain_id"].to_list() == [1, 10, 8453, 42220, 987654, 11155111]
    kaiju = frame.filter(frame["chain_id"] == 987654).row(0, named=True)
    assert kaiju["native_currency_name"] is None and kaiju["chain_slug"] is None
    assert warehouse.sql("SELECT count(*) AS n FROM chainlist.chains WHERE chain_slug IS NULL")["n"][0] == 2
    assert_matches_contract(warehouse, "chainlist.chains")


def test_429_with_retry_after_then_flaky_5xx_then_success(warehouse) -> None:
    with serve(
        Route("/rpcs.json", status=429, headers={"Retry-After": "0"}, times=1),
        Route("/rpcs.json", status=502, times=1),
    ) as server:
        chainlist_flow(base_url=server.url)
    assert len(server.requests) == 3
    assert warehouse.read("chainlist.chains").height == 6


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"chains": []}, "chainlist: /rpcs.json: response: expected a list, got dict"),
        ([{"name": "No id", "chain": "X"}], "chainlist: /rpcs.json: record No id #0: field 'chainId': missing"),
        ([{"name": "Bad", "chainId": "ten"}], "record Bad #0: field 'chainId': expected an integer, got str 'ten'"),
        (
            [{"name": "Bad", "chainId": 5, "nativeCurrency": {"decimals": "18"}}],
            "field 'nativeCurrency': decimals: expected an integer, got str '18'",
        ),
        ([], "the chain list is empty; refusing to replace chainlist.chains with nothing"),
    ],
)
def test_bad_payload_fails_naming_the_field_and_commits_nothing(warehouse, payload, message) -> None:
    with ReplayServer.for_source("chainlist") as server:
        chainlist_flow(base_url=server.url)
    before = warehouse.snapshot_id("chainlist.chains")
    with ReplayServer([Route("/rpcs.json", json=payload)]) as server, pytest.raises(SourceError) as caught:
        chainlist_flow(base_url=server.url)
    assert message in str(caught.value)
    assert warehouse.snapshot_id("chainlist.chains") == before
    assert warehouse.read("chainlist.chains").height == 6


def test_failure_on_a_fresh_lake_creates_no_table(warehouse) -> None:
    with (
        ReplayServer([Route("/rpcs.json", text="<html>maintenance</html>")]) as server,
        pytest.raises(SourceError, match="chainlist: /rpcs.json: malformed JSON"),
    ):
        chainlist_flow(base_url=server.url)
    assert not warehouse.exists("chainlist.chains")


def test_rerun_gives_the_same_table(warehouse) -> None:
    with ReplayServer.for_source("chainlist") as server:
        chainlist_flow(base_url=server.url)
        first = warehouse.sql("SELECT * FROM chainlist.chains ORDER BY chain_id")
        chainlist_flow(base_url=server.url)
    assert warehouse.sql("SELECT * FROM chainlist.chains ORDER BY chain_id").equals(first)
    assert SOURCE.table("chains").key == ("chain_id",)
