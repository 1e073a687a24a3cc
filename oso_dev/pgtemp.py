"""A throw-away local PostgreSQL cluster: for the tests and for ``--replay`` of the database sources.

op_atlas and gitcoin read a Postgres database rather than an HTTP API, so their replay cannot be a recorded
HTTP server: it starts a temporary cluster from the locally installed server binaries (Debian's ``postgresql``
package), loads ``tests/fixtures/<source>/seed.sql`` into it and points the source at it. Nothing is downloaded
and nothing outside a temporary directory is touched; without the binaries replay fails with a clear message.

``initdb`` refuses to run as root, so when we run as root the cluster belongs to the ``postgres`` user and
commands go through ``runuser``. The cluster trusts local connections, so its connection strings carry no
password. Replays share one cluster per process (:func:`shared_postgres`, stopped at exit): a weekly ``--replay``
starts one cluster for gitcoin and op_atlas, not one each, and each replay gets its own database in it.
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INSTALL_HINT = "apt-get install -y postgresql (Debian/Ubuntu) or install PostgreSQL so initdb and pg_ctl exist"


def pg_bin(name: str) -> str | None:
    """The newest installed PostgreSQL server binary ``name`` (Debian keeps them out of ``PATH``)."""
    for candidate in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return candidate
    return shutil.which(name)


def postgres_available() -> bool:
    return pg_bin("initdb") is not None and pg_bin("pg_ctl") is not None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    """A running temporary cluster; ``stop()`` shuts it down and deletes its data directory."""

    host: str
    port: int
    user: str
    datadir: Path
    _as_user: list[str]

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{self.user}@{self.host}:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        """A psycopg2 connection in autocommit mode (seeding and test changes)."""
        import psycopg2

        conn = psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname=database)
        conn.autocommit = True
        return conn

    def create_database(self, name: str) -> str:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, closing what still connects to it (a failed load's pool)."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            conn.close()

    def run_sql(self, database: str, sql: str) -> None:
        """Execute a script (several statements) in ``database``."""
        conn = self.connect(database)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def stop(self) -> None:
        subprocess.run(
            [*self._as_user, pg_bin("pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,  # a bounded wait: a stuck stop must not hang the caller (the test suite's teardown)
        )
        shutil.rmtree(self.datadir, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """Start a trust-auth cluster on a free loopback port and wait until it accepts connections."""
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        raise RuntimeError(f"PostgreSQL server binaries are not installed: {INSTALL_HINT}")
    as_user: list[str] = []
    user = os.environ.get("USER", "postgres")
    datadir = Path(tempfile.mkdtemp(prefix="oso-pg-"))
    if os.geteuid() == 0:
        as_user, user = ["runuser", "-u", "postgres", "--"], "postgres"
        shutil.chown(datadir, "postgres", "postgres")
    subprocess.run(
        # --no-sync: a throw-away cluster needs no fsync of its fresh files (seconds on a busy disk)
        [*as_user, initdb, "-D", str(datadir), "-U", user, "--auth=trust", "-E", "UTF8", "--no-sync"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    opts = f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(
        [*as_user, pg_ctl, "-D", str(datadir), "-o", opts, "-l", str(datadir / "server.log"), "-w", "start"],
        check=True,
        capture_output=True,
        timeout=120,  # pg_ctl -w gives up after its own 60 s; this bounds the rest
    )
    server = PostgresServer("127.0.0.1", port, user, datadir, as_user)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            server.connect().close()
            return server
        except Exception:  # noqa: BLE001 - not accepting connections yet
            time.sleep(0.2)
    server.stop()
    raise RuntimeError("PostgreSQL did not start within 30 s")


_shared: PostgresServer | None = None
_shared_lock = threading.Lock()
_database_numbers = itertools.count(1)


def shared_postgres() -> PostgresServer:
    """This process's replay cluster, started on first use and stopped when the process exits."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = start_postgres()
            atexit.register(_shared.stop)
        return _shared


@contextmanager
def seeded_database(seed: Path, database: str) -> Iterator[str]:
    """A database named after ``database`` loaded from the SQL script ``seed``, in the process's replay cluster;
    yields its connection string and drops the database afterwards.

    Raises:
        RuntimeError: no PostgreSQL server binaries are installed, or the seed file is missing.
    """
    if not seed.is_file():
        raise RuntimeError(f"replay seed {seed} is missing")
    if not postgres_available():
        raise RuntimeError(
            f"replaying {database} needs a local PostgreSQL server to load {seed.name} into: {INSTALL_HINT}; "
            "or run without --replay against the real database"
        )
    server = shared_postgres()
    name = f"{database}_{next(_database_numbers)}"  # two replays of one source at once get a database each
    server.create_database(name)
    try:
        server.run_sql(name, seed.read_text())
        yield server.dsn(name)
    finally:
        server.drop_database(name)


@contextmanager
def replay_database(source: Any) -> Iterator[str]:
    """``--replay`` for a database source: its ``fixtures/seed.sql`` in a temporary local PostgreSQL."""
    from oso_dev.replay import fixtures_dir

    with seeded_database(fixtures_dir(source.name) / "seed.sql", source.name) as url:
        yield url
