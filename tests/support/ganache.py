"""A real local Ethereum node for the ethereum source's tests: ganache (npm), a fixed chain, blocks on chosen days.

``tests/support/ethereum/`` holds ganache's ``package.json`` and ``package-lock.json``; ``./dev test`` installs it
with ``npm ci`` (``ensure_installed`` does the same once per session when it is missing). The node starts with a
deterministic wallet, chain id 1337 and ``--chain.time`` at 2024-01-01 00:00 UTC; its automatic miner is stopped
so every block is mined by ``evm_mine {timestamp}`` on the day a test wants, holding the transactions sent
before it (``eth_sendTransaction`` from the unlocked accounts). One contract, :data:`EMITTER_INIT`, emits a log
with the call data for every call, so days have logs.

:class:`RpcProxy` sits in front of the node for the failure tests: it answers 429 a number of times, replaces
chosen calls' results inside a batch with JSON-RPC error objects, and records every exchange (which is how the
replay fixtures are made: ``python -m tests.support.ganache record``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from oso_dev.replay import SHUTDOWN_POLL_S
from tests.support.ports import free_port

PACKAGE_DIR = Path(__file__).parent / "ethereum"
CLI = PACKAGE_DIR / "node_modules" / "ganache" / "dist" / "node" / "cli.js"
CHAIN_ID = 1337
GENESIS = "2024-01-01T00:00:00Z"
TOPIC = "0x" + "ab" * 32
# init code returning a runtime that copies its call data to memory and emits LOG1(TOPIC, calldata)
EMITTER_RUNTIME = "3660006000377f" + TOPIC[2:] + "366000a100"
EMITTER_INIT = "0x602c600c600039602c6000f3" + EMITTER_RUNTIME
_install_lock = threading.Lock()


def unix(moment: str) -> int:
    return int(datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(UTC).timestamp())


def ensure_installed() -> str | None:
    """Install ganache with ``npm ci`` if it is missing; ``None`` when ready, else why it cannot be."""
    with _install_lock:
        if CLI.is_file():
            return None
        if not shutil.which("node") or not shutil.which("npm"):
            return "node/npm are not installed (apt-get install nodejs npm)"
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=PACKAGE_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0 or not CLI.is_file():
            return f"npm ci failed in {PACKAGE_DIR}: {done.stderr[-500:]}"
        return None


class Ganache:
    """One ganache process on a free loopback port; ``rpc`` calls it directly (not through the proxy)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self._client = httpx.Client(timeout=30)
        self._ids = 0

    def start(self) -> Ganache:
        args = [
            "node",
            str(CLI),
            "--server.host=127.0.0.1",
            f"--server.port={self.port}",
            f"--chain.chainId={CHAIN_ID}",
            f"--chain.time={GENESIS}",
            "--wallet.deterministic",
            "--logging.quiet",
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ganache exited: {self.process.stderr.read().decode()[-500:]}")  # type: ignore[union-attr]
            try:
                self.rpc("eth_chainId")
                break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise RuntimeError("ganache did not answer within 60 s")
        self.rpc("miner_stop")
        self.accounts = self.rpc("eth_accounts")
        return self

    def stop(self) -> None:
        self._client.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        self._ids += 1
        answer = self._client.post(
            self.url, json={"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params or []}
        ).json()
        if answer.get("error"):
            raise RuntimeError(f"{method}: {answer['error'].get('message')}")
        return answer["result"]

    # -- making blocks -----------------------------------------------------------------------------------------
    def send(self, sender: int, to: str | None = None, value: int = 0, data: str | None = None) -> str:
        tx: dict[str, Any] = {"from": self.accounts[sender], "gas": hex(200_000), "value": hex(value)}
        if to:
            tx["to"] = to
        if data:
            tx["data"] = data
        return self.rpc("eth_sendTransaction", [tx])

    def mine(self, moment: str) -> int:
        """Mine the pending transactions into one block stamped ``moment`` (UTC ISO); its number."""
        self.rpc("evm_mine", [{"timestamp": unix(moment)}])
        return int(self.rpc("eth_blockNumber"), 16)

    def deploy_emitter(self, moment: str) -> str:
        tx = self.send(0, data=EMITTER_INIT)
        self.mine(moment)
        return self.rpc("eth_getTransactionReceipt", [tx])["contractAddress"]

    def snapshot(self) -> str:
        return self.rpc("evm_snapshot")

    def revert(self, snapshot: str) -> None:
        if not self.rpc("evm_revert", [snapshot]):
            raise RuntimeError(f"evm_revert {snapshot} refused")
        self.rpc("miner_stop")

    # -- reading what the node says ------------------------------------------------------------------------------
    def day_blocks(self, day: str) -> list[dict[str, Any]]:
        """Every block (with full transactions) whose timestamp falls on ``day`` (YYYY-MM-DD), read one by one."""
        lo, hi = unix(f"{day}T00:00:00Z"), unix(f"{day}T00:00:00Z") + 86400
        head = int(self.rpc("eth_blockNumber"), 16)
        blocks = [self.rpc("eth_getBlockByNumber", [hex(n), True]) for n in range(head + 1)]
        return [b for b in blocks if lo <= int(b["timestamp"], 16) < hi]

    def day_logs(self, day: str) -> list[dict[str, Any]]:
        blocks = self.day_blocks(day)
        if not blocks:
            return []
        span = {"fromBlock": blocks[0]["number"], "toBlock": blocks[-1]["number"]}
        return self.rpc("eth_getLogs", [span])


def build_days(node: Ganache, emitter: str, variant: str = "original") -> None:
    """Blocks on 2024-01-03 (two shapes: ``original`` and ``reorg``) and one on 2024-01-04 that ends that day."""
    if variant == "original":
        node.send(2, to=emitter, data="0x03")
        node.mine("2024-01-03T00:00:00Z")  # exactly at midnight: the first block of the day
        node.send(1, to=node.accounts[7], value=5 * 10**18)
        node.send(3, to=emitter, data="0x0404")
        node.mine("2024-01-03T18:00:00Z")
    else:
        for sender in (4, 5, 6):
            node.send(sender, to=node.accounts[8], value=sender * 10**15)
        node.mine("2024-01-03T03:00:00Z")
        node.send(5, to=emitter, data="0xbeef")
        node.send(6, to=emitter, data="0xcafe")
        node.mine("2024-01-03T09:00:00Z")
        node.send(7, to=emitter, data="0x07")
        node.mine("2024-01-03T10:00:00Z")
    node.mine("2024-01-04T06:00:00Z")  # an empty block: 2024-01-03 is finished at the node


def build_chain(node: Ganache) -> tuple[str, str]:
    """The test chain: 2024-01-02 (contract, transfers, logs, a block at 23:59:59), then :func:`build_days`.

    Returns the emitter's address and a snapshot taken after 2024-01-02 (for the reorganisation test).
    """
    emitter = node.deploy_emitter("2024-01-02T01:00:00Z")
    node.send(1, to=node.accounts[2], value=10**18)
    node.send(0, to=emitter, data="0x01")
    node.send(3, to=emitter, data="0x0202")
    node.mine("2024-01-02T12:00:00Z")
    node.send(1, to=node.accounts[6], value=123456789)
    node.mine("2024-01-02T23:59:59Z")
    before_day_two = node.snapshot()
    build_days(node, emitter)
    return emitter, before_day_two


# -- a proxy in front of the node --------------------------------------------------------------------------------
@dataclass
class RpcProxy:
    """Forwards JSON-RPC POSTs to ``target``; ``throttle`` answers the next N with 429, ``fail`` turns matching
    calls of a batch into error objects, ``exchanges`` records (request body, answer)."""

    target: str
    throttle: int = 0
    retry_after: str = "0"
    fail: Callable[[dict[str, Any]], bool] | None = None
    exchanges: list[tuple[Any, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> RpcProxy:
        proxy, client = self, httpx.Client(timeout=30)
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    throttled = proxy.throttle > 0
                    proxy.throttle -= 1 if throttled else 0
                if throttled:
                    proxy.statuses.append(429)
                    self._send(429, b'{"error": "rate limited"}', {"Retry-After": proxy.retry_after})
                    return
                body = json.loads(raw)
                answer = client.post(proxy.target, content=raw, headers={"Content-Type": "application/json"}).json()
                if proxy.fail is not None and isinstance(body, list):
                    failing = {call["id"] for call in body if proxy.fail(call)}
                    for item in answer:
                        if item.get("id") in failing:
                            item.pop("result", None)
                            item["error"] = {"code": -32005, "message": "limit exceeded (injected by the test)"}
                proxy.exchanges.append((body, answer))
                proxy.statuses.append(200)
                self._send(200, json.dumps(answer).encode(), {})

            def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> RpcProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def record_fixtures(destination: Path) -> None:
    """Write ``flows/ethereum/fixtures``: the flow's requests for day 2024-01-02 of a fresh test chain, answered
    by the node through a recording proxy, as replay routes matched on the first call of each batch."""
    from flows.ethereum.extract import extract_day, head
    from oso_core.engine.windows import Window
    from oso_core.transport.http import HttpClient
    from oso_core.transport.jsonrpc import JsonRpcClient

    node = Ganache().start()
    try:
        build_chain(node)
        with RpcProxy(node.url) as proxy, HttpClient("ethereum", proxy.url) as http:
            rpc = JsonRpcClient(http, proxy.url)
            number, _ = head(rpc)
            rpc.call("eth_chainId")
            start = datetime(2024, 1, 2, tzinfo=UTC)
            extract_day(rpc, Window(start, start.replace(day=3)), number, CHAIN_ID, 100)
    finally:
        node.stop()
    destination.mkdir(parents=True, exist_ok=True)
    for old in destination.glob("rpc_*.json"):
        old.unlink()
    routes, seen = [], set()
    for body, answer in proxy.exchanges:
        match = {"0.method": body[0]["method"], "0.params": body[0]["params"]}
        key = json.dumps(match, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        name = f"rpc_{len(routes):02d}_{body[0]['method']}.json"
        (destination / name).write_text(json.dumps(answer, indent=1) + "\n")
        routes.append({"method": "POST", "path": "/rpc/*", "body": match, "file": name})
    (destination / "routes.json").write_text(json.dumps(routes, indent=1) + "\n")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["record"]:
        raise SystemExit("usage: python -m tests.support.ganache record")
    problem = ensure_installed()
    if problem:
        raise SystemExit(problem)
    record_fixtures(Path(__file__).resolve().parents[2] / "flows" / "ethereum" / "fixtures")
    print("recorded flows/ethereum/fixtures", file=sys.stderr)
    os._exit(0)
