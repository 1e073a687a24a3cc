"""ethereum: blocks, transactions and logs of an Ethereum (or any EVM) chain over JSON-RPC, one UTC day per window.

As OSO's ``assets/default/ethereum_blockchain.py`` (daily partitions from 2015-07-30, cryo's tables ``blocks``,
``transactions``, ``logs``), read from the node directly:

* The RPC URL is a secret, ``(ethereum, rpc_url)`` → ``DAGSTER__ETHEREUM__RPC_URL``: providers put the API key in
  it. It is resolved by the secret resolver at run time (never a flow parameter) and masked in every error and
  log line.
* A day's blocks are found by binary search on block timestamps, read with ``eth_getBlockByNumber(n, true)``
  and ``eth_getLogs`` over block spans, in batched JSON-RPC requests (``oso_core.transport.jsonrpc``) sent through the
  shared ``HttpClient``: 429/``Retry-After`` and 5xx retried there, error objects inside a batch retried call by
  call, bounded. A day is read completely and checked (its blocks chain by parent hash, every log's block hash is
  a block read) before anything is written; a call that keeps failing makes that day faulty, names the method and
  block, commits nothing for it, and is retried next run.
* Each table is written with ``overwrite_partitions`` on ``day(block_timestamp)``: re-running a day (``--start``
  / ``--end``, or after a reorganisation) replaces exactly that day's rows and leaves every other day alone.
* Only days the node has finished (a block at or after the day's end exists) are loaded; later days wait.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

from flows.ethereum.extract import TABLES, extract_day, head
from oso_core import DEFAULT_MAX_WINDOWS, SecretReference, Source, SourceRun, TableSpec, Window, WindowGrid, source_flow

RPC_URL = SecretReference("ethereum", "rpc_url")
DAY = "day(block_timestamp)"

SOURCE = Source(
    name="ethereum",
    description=(
        "Ethereum blocks, transactions, logs by day over JSON-RPC; cryo's columns + block_timestamp, no receipts"
    ),
    tables=(
        TableSpec("blocks", "overwrite_partitions", ("block_number",), DAY, "one row per block"),
        TableSpec("transactions", "overwrite_partitions", ("block_number", "transaction_index"), DAY, "transactions"),
        TableSpec("logs", "overwrite_partitions", ("block_number", "log_index"), DAY, "event logs"),
    ),
    flow="ethereum_flow",
    secrets=(RPC_URL,),
    windows=WindowGrid(start=date(2015, 7, 30), days=1),  # OSO's ETHEREUM_START_DATE (mainnet genesis day)
    tags=("json-rpc", "windowed"),
)


def url_masks(url: str) -> tuple[str, ...]:
    """What to hide of an RPC URL: all of it, and its path, query and password on their own (a provider's error
    body may echo just the key part)."""
    parts = urlsplit(url)
    pieces = [url, parts.path if len(parts.path) > 1 else "", parts.query, parts.password or ""]
    return tuple(p for p in pieces if p)


@source_flow(SOURCE)
def ethereum_flow(
    run: SourceRun,
    start: str | None = None,
    end: str | None = None,
    max_windows: int = DEFAULT_MAX_WINDOWS,
    batch_size: int = 100,
    logs_span: int = 100,
) -> None:
    """Load blocks, transactions and logs day by day (each day's partitions overwritten).

    Without ``start``/``end`` the finished days not yet loaded are loaded (faulty ones first), at most
    ``max_windows``; with them, every day overlapping ``[start, end)`` is reloaded. ``batch_size`` calls go in
    one JSON-RPC request; ``eth_getLogs`` asks for ``logs_span`` blocks at a time.
    """
    url = run.secret(RPC_URL)
    run.mask(*url_masks(url))
    with run.jsonrpc(url, batch_size=batch_size) as rpc:
        head_number, head_time = head(rpc)
        chain_id = int(rpc.call("eth_chainId"), 16)

        def finished(days: list[Window]) -> list[Window]:
            if waiting := [w for w in days if w.unix()[1] > head_time]:
                run.summary.notes.append(
                    f"day(s) {', '.join(w.key for w in waiting)} not finished at the node (head block {head_number})"
                )
            return [w for w in days if w.unix()[1] <= head_time]

        run.load_windows(
            TABLES,
            lambda day: extract_day(rpc, day, head_number, chain_id, logs_span),
            start=start,
            end=end,
            max_windows=max_windows,
            ready=finished,
        )
        run.summary.notes.append(f"{rpc.http.stats.requests} JSON-RPC request(s), {rpc.batches} batch(es)")
