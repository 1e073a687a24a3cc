"""Batched JSON-RPC over the shared HTTP client (Ethereum nodes and every EVM chain's RPC).

A batch is one POST whose body is a JSON array of calls; the node answers with an array of results in any order,
matched back by ``id``. What can go wrong is handled in two layers:

* the HTTP layer is ``oso_core.transport.http.HttpClient``'s: connection errors, 429 (with ``Retry-After``) and 5xx are
  retried with its bounded backoff; its ``mask`` keeps the RPC URL (which carries the provider's key) out of
  every error and log line;
* inside a batch, one call may come back as an error object (a provider's "limit exceeded", "header not found"
  while a block propagates) or be missing. Only those calls are sent again, a bounded number of times with
  backoff; calls the node can never answer (method not found, invalid params: codes -32600/-32601/-32602/-32700)
  fail at once. A call still failing raises :class:`RpcError`, naming the method and the block(s) it asked for,
  so the caller fails its whole unit of work rather than keep a result with holes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from oso_core.transport.http import HttpClient, SourceError

# JSON-RPC 2.0's "the request itself is wrong" codes: asking again cannot help.
FINAL_CODES = frozenset({-32600, -32601, -32602, -32700})

Call = tuple[str, list[Any]]


class RpcError(SourceError):
    """A JSON-RPC call failed (error object, missing answer or a refused batch); names the method and block."""


def describe_call(method: str, params: Sequence[Any]) -> str:
    """``eth_getBlockByNumber block 17`` / ``eth_getLogs blocks 10..19``: what a failing call asked for."""
    if params and isinstance(params[0], str) and params[0].startswith("0x") and "Block" in method:
        return f"{method} block {int(params[0], 16)}"
    if params and isinstance(params[0], dict) and "fromBlock" in params[0]:
        bounds = [params[0].get("fromBlock"), params[0].get("toBlock")]
        shown = [str(int(b, 16)) if isinstance(b, str) and b.startswith("0x") else str(b) for b in bounds]
        return f"{method} blocks {shown[0]}..{shown[1]}"
    return f"{method}({', '.join(map(str, params))})" if params else method


def _error_text(error: Any) -> tuple[int | None, str]:
    if isinstance(error, dict):
        code = error.get("code")
        return (code if isinstance(code, int) else None), f"JSON-RPC error {code}: {error.get('message', error)}"
    return None, f"JSON-RPC error: {error}"


class JsonRpcClient:
    """Calls ``url`` (an RPC endpoint, a secret) through ``http`` in batches of at most ``batch_size`` calls."""

    def __init__(
        self,
        http: HttpClient,
        url: str,
        *,
        batch_size: int = 100,
        error_attempts: int = 3,
        error_backoff: float = 0.5,
    ):
        if batch_size < 1 or error_attempts < 1:
            raise ValueError("batch_size and error_attempts must be >= 1")
        self.http, self.url = http, url
        self.batch_size, self.error_attempts, self.error_backoff = batch_size, error_attempts, error_backoff
        self.batches = 0

    def call(self, method: str, params: list[Any] | None = None) -> Any:
        return self.batch([(method, list(params or []))])[0]

    def batch(self, calls: Sequence[Call]) -> list[Any]:
        """The result of each call, in order; raises ``RpcError`` if any call keeps failing."""
        results: list[Any] = []
        for start in range(0, len(calls), self.batch_size):
            results.extend(self._send(list(calls[start : start + self.batch_size])))
        return results

    def _send(self, chunk: list[Call]) -> list[Any]:
        results: dict[int, Any] = {}
        pending = dict(enumerate(chunk))
        failed: dict[int, tuple[int | None, str]] = {}
        for attempt in range(1, self.error_attempts + 1):
            body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in pending.items()]
            self.batches += 1
            try:
                answer = self.http.post_json(self.url, body)
            except RpcError:
                raise
            except SourceError as exc:  # HTTP retries spent (429, 5xx) or a final status: name what was asked
                raise self._error(describe_call(*chunk[0]), f"batch of {len(body)} call(s): {exc.problem}") from None
            if not isinstance(answer, list):
                # the whole batch refused (too large, bad key): one error object instead of an array
                first = describe_call(*chunk[0])
                problem = _error_text(answer.get("error") if isinstance(answer, dict) else answer)[1]
                raise self._error(first, f"batch of {len(body)} call(s) refused: {problem}")
            by_id = {item.get("id"): item for item in answer if isinstance(item, dict)}
            failed = {}
            for i in pending:
                item = by_id.get(i)
                if item is None:
                    failed[i] = (None, "no answer for this call in the batch response")
                elif item.get("error") is not None:
                    failed[i] = _error_text(item["error"])
                else:
                    results[i] = item.get("result")
            if not failed:
                break
            if any(code in FINAL_CODES for code, _ in failed.values()) or attempt == self.error_attempts:
                break
            pending = {i: chunk[i] for i in failed}
            time.sleep(self.error_backoff * 2 ** (attempt - 1))
        if failed:
            i, (code, text) = next(iter(failed.items()))
            tries = 1 if code in FINAL_CODES else attempt
            more = f" ({len(failed) - 1} more call(s) of the batch failed too)" if len(failed) > 1 else ""
            raise self._error(describe_call(*chunk[i]), f"{text} after {tries} attempt(s){more}")
        return [results[i] for i in range(len(chunk))]

    def _error(self, call: str, problem: str) -> RpcError:
        return RpcError(self.http.source, self.http.masked(call), self.http.masked(problem))
