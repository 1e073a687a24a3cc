"""ethereum against a real local node (ganache, started once per session): days, reorgs, 429s, errors in a batch."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal

import polars as pl
import pytest

from flows.ethereum.replay import replay_parameters
from flows.ethereum.source import ethereum_flow, url_masks
from oso_core import FAULTY, LOADED, FaultyWindowsError, LoadState, RpcError, describe_call
from tests.support.ganache import Ganache, RpcProxy, build_chain, build_days, ensure_installed
from tests.support.oso_contract import assert_matches_contract

KEY = "k3y-0f-the-provider"
DAYS = ("2024-01-02", "2024-01-03")


class Chain:
    """The session's node, its emitter contract and the snapshot taken before 2024-01-03."""

    def __init__(self, node: Ganache):
        self.node = node
        self.emitter, self.before_day_two = build_chain(node)

    def rebuild_day_two(self, variant: str) -> None:
        self.node.revert(self.before_day_two)
        self.before_day_two = self.node.snapshot()
        build_days(self.node, self.emitter, variant)


@pytest.fixture(scope="session")
def chain() -> Iterator[Chain]:
    problem = ensure_installed()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"ganache is needed on CI: {problem}")
        pytest.skip(problem)
    node = Ganache().start()
    try:
        yield Chain(node)
    finally:
        node.stop()


@pytest.fixture
def proxy(chain: Chain, oso_home, monkeypatch: pytest.MonkeyPatch) -> Iterator[RpcProxy]:
    """A proxy in front of the node; the RPC URL secret points at it with a provider-like key in the path."""
    with RpcProxy(chain.node.url) as running:
        monkeypatch.setenv("DAGSTER__ETHEREUM__RPC_URL", f"{running.url}/v2/{KEY}")
        yield running


def lake_day(warehouse, table: str, day: str, order: str) -> pl.DataFrame:
    return warehouse.sql(
        f"select * from ethereum.{table} where cast(block_timestamp as date) = date '{day}' order by {order}"
    )


def assert_day_matches_node(warehouse, chain: Chain, day: str) -> None:
    blocks, logs = chain.node.day_blocks(day), chain.node.day_logs(day)
    got = lake_day(warehouse, "blocks", day, "block_number")
    assert got["block_number"].to_list() == [int(b["number"], 16) for b in blocks]
    assert got["block_hash"].to_list() == [b["hash"] for b in blocks]
    assert got["parent_hash"].to_list() == [b["parentHash"] for b in blocks]
    assert got["timestamp"].to_list() == [int(b["timestamp"], 16) for b in blocks]
    assert got["transaction_count"].to_list() == [len(b["transactions"]) for b in blocks]
    assert set(got["chain_id"]) == {1337}
    txs = [tx for b in blocks for tx in b["transactions"]]
    got = lake_day(warehouse, "transactions", day, "block_number, transaction_index")
    assert got["transaction_hash"].to_list() == [tx["hash"] for tx in txs]
    assert got["from_address"].to_list() == [tx["from"] for tx in txs]
    assert got["to_address"].to_list() == [tx["to"] for tx in txs]
    assert got["value"].to_list() == [Decimal(int(tx["value"], 16)) for tx in txs]
    assert got["input"].to_list() == [tx["input"] for tx in txs]
    got = lake_day(warehouse, "logs", day, "block_number, log_index")
    columns = ("block_number", "log_index", "address", "topic0", "data", "transaction_hash")
    assert got.select(columns).rows() == [
        (
            int(g["blockNumber"], 16),
            int(g["logIndex"], 16),
            g["address"],
            g["topics"][0],
            g["data"],
            g["transactionHash"],
        )
        for g in logs
    ]


def test_two_days_load_as_the_node_says(proxy: RpcProxy, chain: Chain, warehouse) -> None:
    summary = ethereum_flow(start=DAYS[0], end="2024-01-04", batch_size=2, logs_span=1)
    for day in DAYS:
        assert_day_matches_node(warehouse, chain, day)
    # 2024-01-02: contract deployment + 3 calls/transfers + 1; 2024-01-03: 1 + 2; the midnight block is day two's
    assert warehouse.sql("select count(*) from ethereum.blocks").item() == 5
    assert warehouse.sql("select count(*) from ethereum.transactions").item() == 8
    assert warehouse.sql("select count(*) from ethereum.logs").item() == 4
    assert (
        warehouse.sql(
            "select count(*) from ethereum.blocks where block_timestamp = timestamptz '2024-01-03 00:00:00+00'"
        ).item()
        == 1
    )
    deployment = warehouse.sql("select to_address, input from ethereum.transactions order by block_number limit 1")
    assert deployment["to_address"].to_list() == [None] and deployment["input"][0].startswith("0x602c600c")
    states = LoadState(warehouse).latest("ethereum", "logs")
    assert {states[d].status for d in DAYS} == {LOADED}
    batched = [body for body, _ in proxy.exchanges if len(body) == 2]
    assert batched, "calls were batched two at a time"
    assert summary.rows == {"ethereum.blocks": 5, "ethereum.transactions": 8, "ethereum.logs": 4}
    assert_matches_contract(warehouse, "ethereum.blocks", "ethereum.transactions", "ethereum.logs")


def test_rerun_of_a_reorganised_day_replaces_exactly_that_day(proxy: RpcProxy, chain: Chain, warehouse) -> None:
    ethereum_flow(start=DAYS[0], end="2024-01-04")
    day_one = {t: lake_day(warehouse, t, DAYS[0], "block_number") for t in ("blocks", "transactions", "logs")}
    old_hashes = set(lake_day(warehouse, "blocks", DAYS[1], "block_number")["block_hash"])
    chain.rebuild_day_two("reorg")
    try:
        ethereum_flow(start=DAYS[1], end="2024-01-04")
        assert_day_matches_node(warehouse, chain, DAYS[1])
        assert not old_hashes & set(warehouse.sql("select block_hash from ethereum.blocks")["block_hash"])
        for table, before in day_one.items():
            assert lake_day(warehouse, table, DAYS[0], "block_number").equals(before), table
        assert warehouse.sql("select count(*) from ethereum.blocks").item() == 3 + 3
        assert warehouse.sql("select count(*) from ethereum.logs where block_timestamp >= '2024-01-03'").item() == 3
    finally:
        chain.rebuild_day_two("original")


def test_429_answers_are_retried_then_the_day_loads(proxy: RpcProxy, chain: Chain, warehouse) -> None:
    proxy.throttle = 3
    ethereum_flow(start=DAYS[0], end=DAYS[1])
    assert proxy.statuses[:4] == [429, 429, 429, 200]
    assert_day_matches_node(warehouse, chain, DAYS[0])


def test_an_rpc_that_keeps_answering_429_fails_clearly_without_the_url(proxy: RpcProxy, warehouse) -> None:
    proxy.throttle = 1000
    with pytest.raises(RpcError) as failure:
        ethereum_flow(start=DAYS[0], end=DAYS[1])
    text = str(failure.value)
    assert "eth_blockNumber" in text and "HTTP 429 after 6 attempt(s)" in text
    assert KEY not in text and proxy.url not in text
    assert not warehouse.exists("ethereum.blocks")


def test_an_error_inside_a_batch_fails_the_day_and_commits_nothing(proxy: RpcProxy, chain: Chain, warehouse) -> None:
    third_block = hex(2)
    proxy.fail = lambda call: call["method"] == "eth_getBlockByNumber" and call["params"] == [third_block, True]
    with pytest.raises(FaultyWindowsError) as failure:
        ethereum_flow(start=DAYS[0], end="2024-01-04")
    state = LoadState(warehouse).latest("ethereum", "transactions")
    assert state[DAYS[0]].status == FAULTY and state[DAYS[1]].status == LOADED
    error = state[DAYS[0]].error
    assert "eth_getBlockByNumber block 2" in error and "limit exceeded" in error and "after 3 attempt(s)" in error
    assert KEY not in error and KEY not in str(failure.value)
    for table in ("blocks", "transactions", "logs"):
        assert lake_day(warehouse, table, DAYS[0], "block_number").height == 0, table
    assert_day_matches_node(warehouse, chain, DAYS[1])
    # the next run retries the faulty day and loads it
    proxy.fail = None
    ethereum_flow(max_windows=1)  # faulty days come first: this run retries exactly that one
    assert_day_matches_node(warehouse, chain, DAYS[0])
    assert LoadState(warehouse).latest("ethereum", "blocks")[DAYS[0]].status == LOADED


def test_an_error_object_once_is_retried_within_the_batch(proxy: RpcProxy, chain: Chain, warehouse) -> None:
    failed: list[dict] = []

    def once(call: dict) -> bool:
        if call["method"] == "eth_getLogs" and not failed:
            failed.append(call)
            return True
        return False

    proxy.fail = once
    ethereum_flow(start=DAYS[0], end=DAYS[1], batch_size=10)
    assert len(failed) == 1
    retried = [body for body, _ in proxy.exchanges if body[0]["method"] == "eth_getLogs"]
    assert len(retried) == 2 and len(retried[1]) == 1  # only the failed call was sent again
    assert_day_matches_node(warehouse, chain, DAYS[0])


def test_replay_loads_the_recorded_day(oso_home, warehouse) -> None:
    with replay_parameters() as params:
        ethereum_flow(**params)
    assert warehouse.sql("select count(*) from ethereum.blocks").item() == 3
    assert warehouse.sql("select count(*) from ethereum.logs").item() == 2
    assert warehouse.sql("select count(*) from ethereum.transactions").item() == 5


def test_describe_call_and_masks_name_the_block_not_the_key() -> None:
    assert describe_call("eth_getBlockByNumber", ["0x11", True]) == "eth_getBlockByNumber block 17"
    assert describe_call("eth_getLogs", [{"fromBlock": "0xa", "toBlock": "0x13"}]) == "eth_getLogs blocks 10..19"
    masks = url_masks(f"https://user:pw@eth.example/v2/{KEY}?apikey=q")
    assert f"/v2/{KEY}" in masks and "apikey=q" in masks and "pw" in masks
