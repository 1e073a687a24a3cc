"""Reading one UTC day of a chain over JSON-RPC: its block range, its blocks with transactions, its logs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from flows.ethereum.payload import block_rows, block_time, check_consistent, log_rows, quantity, transaction_rows
from oso_core import JsonRpcClient, RpcError, Window

TABLES = ("blocks", "transactions", "logs")


class BlockTimes:
    """Block timestamps read on demand and remembered: the two binary searches of a day share their probes."""

    def __init__(self, rpc: JsonRpcClient):
        self.rpc = rpc
        self.known: dict[int, int] = {}

    def __call__(self, number: int) -> int:
        if number not in self.known:
            block = self.rpc.call("eth_getBlockByNumber", [hex(number), False])
            if block is None:
                raise RpcError(self.rpc.http.source, f"eth_getBlockByNumber block {number}", "the node has no block")
            self.known[number] = quantity(block["timestamp"]) or 0
        return self.known[number]


def head(rpc: JsonRpcClient) -> tuple[int, int]:
    """The node's latest block number and its timestamp."""
    number = quantity(rpc.call("eth_blockNumber")) or 0
    return number, BlockTimes(rpc)(number)


def first_block_at_or_after(times: BlockTimes, timestamp: int, head_number: int) -> int:
    """The lowest block number whose timestamp is >= ``timestamp`` (``head_number + 1`` if none): block
    timestamps never decrease along the chain, so a binary search needs ~log2(head) probes."""
    lo, hi = 0, head_number + 1
    while lo < hi:
        mid = (lo + hi) // 2
        if times(mid) < timestamp:
            lo = mid + 1
        else:
            hi = mid
    return lo


def day_block_range(rpc: JsonRpcClient, window: Window, head_number: int) -> range:
    """The blocks whose timestamp falls in ``[window.start, window.end)``."""
    times = BlockTimes(rpc)
    start, end = window.unix()
    first = first_block_at_or_after(times, start, head_number)
    return range(first, first_block_at_or_after(times, end, head_number))


def extract_day(rpc: JsonRpcClient, window: Window, head_number: int, chain_id: int, logs_span: int) -> dict[str, Any]:
    """The day's three tables, read completely and checked before anything is written."""
    blocks_range = day_block_range(rpc, window, head_number)
    blocks = rpc.batch([("eth_getBlockByNumber", [hex(n), True]) for n in blocks_range])
    for number, block in zip(blocks_range, blocks, strict=True):
        if block is None:
            raise RpcError(rpc.http.source, f"eth_getBlockByNumber block {number}", "the node has no such block")
    first, stop = blocks_range.start, blocks_range.stop
    spans = [(lo, min(lo + logs_span, stop) - 1) for lo in range(first, stop, logs_span)]
    answers = rpc.batch([("eth_getLogs", [{"fromBlock": hex(lo), "toBlock": hex(hi)}]) for lo, hi in spans])
    logs = [log for answer in answers for log in (answer or [])]
    check_consistent(blocks, logs)
    times: dict[int, datetime] = {quantity(b["number"]) or 0: block_time(b) for b in blocks}
    frames: dict[str, pl.DataFrame] = {
        "blocks": block_rows(blocks, chain_id),
        "transactions": transaction_rows(blocks, chain_id),
        "logs": log_rows(logs, times, chain_id).sort("block_number", "log_index"),
    }
    return frames
