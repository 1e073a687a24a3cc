"""One real ``prefect server start`` per test session (start-up costs ~10 s, so it is shared).

The server runs with analytics off, on a free loopback port, with its own PREFECT_HOME. Anything the
server process itself must see (e.g. a proxy for the Discord test) is passed in ``extra_env`` because the
server, not the test process, runs automation actions.

Half of a first start (~6 of ~10 CPU seconds) is the server migrating a new SQLite database and registering its
block types. Every session server therefore starts from a copy of one database that a server of this Prefect
version has already set up (:func:`seeded_database`, kept in the user's cache and built once, under a lock, by the
first session that needs it): each of the suite's servers then answers in ~4 s, on two cores shared by four.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
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
    home: Path, extra_env: dict[str, str] | None = None, port: int | None = None, *, seeded: bool = True
) -> PrefectServer:
    """Start the server process and return at once; ``wait_healthy`` waits for its API.

    The test session launches its server before collecting the tests, so the server's start-up overlaps the
    collection's imports instead of following them. ``seeded``: start from the set-up database
    (:func:`seed_home`) instead of migrating a new one.
    """
    home.mkdir(parents=True, exist_ok=True)
    if seeded:
        seed_home(home)
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
    home: Path,
    extra_env: dict[str, str] | None = None,
    timeout: float = 90,
    port: int | None = None,
    *,
    seeded: bool = True,
) -> PrefectServer:
    """A server whose API answers (``launch_prefect_server`` then ``wait_healthy``)."""
    return wait_healthy(launch_prefect_server(home, extra_env, port, seeded=seeded), timeout)


def seed_home(home: Path) -> None:
    """Give a new server home the database (and block-registration memo) of :func:`seeded_database`."""
    seed = seeded_database()
    if not (home / "prefect.db").exists():
        shutil.copyfile(seed / "prefect.db", home / "prefect.db")
        shutil.copyfile(seed / "memo_store.toml", home / "memo_store.toml")


def seeded_database(cache: Path | None = None) -> Path:
    """A folder with ``prefect.db`` as a server of the installed Prefect leaves it after its first start (migrated,
    block types registered, no runs) and that server's ``memo_store.toml``.

    Built once per Prefect version, by the first process to ask while the others wait on a file lock, by starting a
    real server on a new home and stopping it; the database is copied out with SQLite's backup API, so the copy is
    whole whatever the server left in its write-ahead log.
    """
    version = importlib.metadata.version("prefect")
    root = cache or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "oso-prefect-tests"
    seed = root / f"prefect-{version}-server"
    if (seed / "memo_store.toml").exists():  # written last: a folder with it is complete
        return seed
    root.mkdir(parents=True, exist_ok=True)
    with (root / f"prefect-{version}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (seed / "memo_store.toml").exists():  # built by another session while this one waited
            return seed
        with tempfile.TemporaryDirectory(prefix="oso-test-prefect-seed-") as scratch:
            home = Path(scratch) / "server"
            server = start_prefect_server(home, seeded=False)
            server.stop()
            building = Path(tempfile.mkdtemp(prefix=f".prefect-{version}-", dir=root))
            with sqlite3.connect(home / "prefect.db") as source, sqlite3.connect(building / "prefect.db") as copy:
                source.backup(copy)
            shutil.copyfile(home / "memo_store.toml", building / "memo_store.toml")
            shutil.rmtree(seed, ignore_errors=True)
            building.rename(seed)
    return seed
