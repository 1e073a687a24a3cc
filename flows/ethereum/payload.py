"""Shaping JSON-RPC blocks and logs into the ``blocks``, ``transactions`` and ``logs`` tables (pure functions).

Column names follow cryo, the extractor OSO's ``ethereum_blockchain`` assets ran (``block_number``,
``transaction_index``, ``from_address``, ``topic0``..``topic3``, ...), plus ``block_timestamp`` (a UTC timestamp,
the day partition) on every table. Quantities are decoded from hex: counters as 64-bit integers, wei amounts
(``value``) as ``decimal(38, 0)`` since they overflow 64 bits. Hashes, addresses and data stay ``0x`` hex text.
Receipt fields (``gas_used``, ``success`` of a transaction) are not loaded: they need one receipt call per
transaction, which the day's block and log calls do not.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import polars as pl

TIMESTAMP = pl.Datetime("us", "UTC")

BLOCK_SCHEMA = pl.Schema(
    {
        "block_number": pl.Int64,
        "block_hash": pl.Utf8,
        "parent_hash": pl.Utf8,
        "author": pl.Utf8,
        "state_root": pl.Utf8,
        "transactions_root": pl.Utf8,
        "receipts_root": pl.Utf8,
        "gas_used": pl.Int64,
        "gas_limit": pl.Int64,
        "extra_data": pl.Utf8,
        "base_fee_per_gas": pl.Int64,
        "size": pl.Int64,
        "transaction_count": pl.Int64,
        "timestamp": pl.Int64,
        "chain_id": pl.Int64,
        "block_timestamp": TIMESTAMP,
    }
)

TRANSACTION_SCHEMA = pl.Schema(
    {
        "block_number": pl.Int64,
        "transaction_index": pl.Int64,
        "transaction_hash": pl.Utf8,
        "nonce": pl.Int64,
        "from_address": pl.Utf8,
        "to_address": pl.Utf8,
        "value": pl.Decimal(38, 0),
        "input": pl.Utf8,
        "gas_limit": pl.Int64,
        "gas_price": pl.Int64,
        "max_fee_per_gas": pl.Int64,
        "max_priority_fee_per_gas": pl.Int64,
        "transaction_type": pl.Int64,
        "block_hash": pl.Utf8,
        "chain_id": pl.Int64,
        "block_timestamp": TIMESTAMP,
    }
)

LOG_SCHEMA = pl.Schema(
    {
        "block_number": pl.Int64,
        "block_hash": pl.Utf8,
        "transaction_index": pl.Int64,
        "log_index": pl.Int64,
        "transaction_hash": pl.Utf8,
        "address": pl.Utf8,
        "topic0": pl.Utf8,
        "topic1": pl.Utf8,
        "topic2": pl.Utf8,
        "topic3": pl.Utf8,
        "data": pl.Utf8,
        "chain_id": pl.Int64,
        "block_timestamp": TIMESTAMP,
    }
)


def quantity(value: Any) -> int | None:
    """A JSON-RPC quantity (``"0x1a"``) as an int; ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    return int(value, 16)


def block_time(block: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(quantity(block["timestamp"]) or 0, UTC)


def block_rows(blocks: list[dict[str, Any]], chain_id: int) -> pl.DataFrame:
    rows = [
        {
            "block_number": quantity(b["number"]),
            "block_hash": b["hash"],
            "parent_hash": b["parentHash"],
            "author": b.get("miner"),
            "state_root": b.get("stateRoot"),
            "transactions_root": b.get("transactionsRoot"),
            "receipts_root": b.get("receiptsRoot"),
            "gas_used": quantity(b.get("gasUsed")),
            "gas_limit": quantity(b.get("gasLimit")),
            "extra_data": b.get("extraData"),
            "base_fee_per_gas": quantity(b.get("baseFeePerGas")),
            "size": quantity(b.get("size")),
            "transaction_count": len(b.get("transactions") or []),
            "timestamp": quantity(b["timestamp"]),
            "chain_id": chain_id,
            "block_timestamp": block_time(b),
        }
        for b in blocks
    ]
    return pl.DataFrame(rows, schema=BLOCK_SCHEMA)


def transaction_rows(blocks: list[dict[str, Any]], chain_id: int) -> pl.DataFrame:
    rows = []
    for b in blocks:
        when = block_time(b)
        for tx in b.get("transactions") or []:
            if not isinstance(tx, dict):
                raise ValueError(f"block {quantity(b['number'])}: transactions were not returned in full")
            rows.append(
                {
                    "block_number": quantity(tx["blockNumber"]),
                    "transaction_index": quantity(tx["transactionIndex"]),
                    "transaction_hash": tx["hash"],
                    "nonce": quantity(tx.get("nonce")),
                    "from_address": tx.get("from"),
                    "to_address": tx.get("to"),
                    "value": Decimal(quantity(tx.get("value")) or 0),
                    "input": tx.get("input"),
                    "gas_limit": quantity(tx.get("gas")),
                    "gas_price": quantity(tx.get("gasPrice")),
                    "max_fee_per_gas": quantity(tx.get("maxFeePerGas")),
                    "max_priority_fee_per_gas": quantity(tx.get("maxPriorityFeePerGas")),
                    "transaction_type": quantity(tx.get("type")),
                    "block_hash": tx.get("blockHash"),
                    "chain_id": chain_id,
                    "block_timestamp": when,
                }
            )
    return pl.DataFrame(rows, schema=TRANSACTION_SCHEMA)


def log_rows(logs: list[dict[str, Any]], times: dict[int, datetime], chain_id: int) -> pl.DataFrame:
    """Logs with their block's timestamp (``times`` by block number; logs carry none of their own)."""
    rows = []
    for log in logs:
        topics = list(log.get("topics") or []) + [None] * 4
        number = quantity(log["blockNumber"])
        rows.append(
            {
                "block_number": number,
                "block_hash": log.get("blockHash"),
                "transaction_index": quantity(log.get("transactionIndex")),
                "log_index": quantity(log.get("logIndex")),
                "transaction_hash": log.get("transactionHash"),
                "address": log.get("address"),
                "topic0": topics[0],
                "topic1": topics[1],
                "topic2": topics[2],
                "topic3": topics[3],
                "data": log.get("data"),
                "chain_id": chain_id,
                "block_timestamp": times[number],
            }
        )
    return pl.DataFrame(rows, schema=LOG_SCHEMA)


def check_consistent(blocks: list[dict[str, Any]], logs: list[dict[str, Any]]) -> None:
    """The day's blocks chain to each other and every log belongs to one of them, by hash.

    A reorganisation while the day was being read would mix two forks; this catches it, and the window is
    retried, instead of committing a day that never existed.
    """
    hashes = {quantity(b["number"]): b["hash"] for b in blocks}
    for previous, block in zip(blocks, blocks[1:], strict=False):
        if block["parentHash"] != previous["hash"]:
            raise ValueError(
                f"block {quantity(block['number'])}'s parent is not block {quantity(previous['number'])} as read: "
                "the chain reorganised while the day was read"
            )
    for log in logs:
        number = quantity(log["blockNumber"])
        if hashes.get(number) != log.get("blockHash"):
            raise ValueError(
                f"log {quantity(log.get('logIndex'))} of block {number} has block hash {log.get('blockHash')}, "
                f"the block read has {hashes.get(number)}: the chain reorganised while the day was read"
            )
