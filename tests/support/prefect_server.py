"""One real ``prefect server start`` per test session (start-up costs ~10 s, so it is shared).

The server runs with analytics off, on a free loopback port, with its own PREFECT_HOME. Anything the
server process itself must see (e.g. a proxy for the Discord test) is passed in ``extra_env`` because the
server, not the test process, runs automation actions.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.ports import free_port


@dataclass
class PrefectServer:
    api_url: str
    home: Path
    process: subprocess.Popen
    log_path: Path

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/api")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def launch_prefect_server(
    home: Path, extra_env: dict[str, str] | None = None, port: int | None = None
) -> PrefectServer:
    """Start the server process and return at once; ``wait_healthy`` waits for its API.

    The test session launches its server before collecting the tests, so the server's ~10 s start-up overlaps the
    collection's imports instead of following them.
    """
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_API_URL": api_url,
        "PREFECT_UI_URL": f"http://127.0.0.1:{port}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        **(extra_env or {}),
    }
    log_path = home / "server.log"
    log = log_path.open("w")
    prefect_cli = Path(sys.executable).with_name("prefect")
    process = subprocess.Popen(
        [str(prefect_cli), "server", "start", "--no-ui"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    return PrefectServer(api_url=api_url, home=home, process=process, log_path=log_path)


def wait_healthy(server: PrefectServer, timeout: float = 90) -> PrefectServer:
    """``server`` once its API answers ``/health``; it is killed, and the error shows its log, if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            log = server.log_path.read_text()[-3000:]
            raise RuntimeError(f"prefect server exited early; see {server.log_path}:\n{log}")
        try:
            if httpx.get(f"{server.api_url}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    server.process.kill()
    raise RuntimeError(f"prefect server did not become healthy in {timeout}s; see {server.log_path}")


def start_prefect_server(
    home: Path, extra_env: dict[str, str] | None = None, timeout: float = 90, port: int | None = None
) -> PrefectServer:
    """A server whose API answers (``launch_prefect_server`` then ``wait_healthy``)."""
    return wait_healthy(launch_prefect_server(home, extra_env, port), timeout)
