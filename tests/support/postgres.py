"""A throw-away PostgreSQL cluster for the tests (Debian's ``postgresql``, installed by ``.ci/run``).

``initdb`` refuses to run as root, so when the tests run as root the cluster belongs to the ``postgres``
user and commands go through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port


def _pg_bin(name: str) -> str | None:
    for candidate in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return candidate
    return shutil.which(name)


def postgres_available() -> bool:
    return _pg_bin("initdb") is not None and _pg_bin("pg_ctl") is not None


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    datadir: Path
    _as_user: list[str]

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{self.user}@{self.host}:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg2

        conn = psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return name

    def stop(self) -> None:
        subprocess.run(
            [*self._as_user, _pg_bin("pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(self.datadir, ignore_errors=True)


def start_postgres() -> PostgresServer:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        raise RuntimeError("PostgreSQL is not installed: apt-get install -y postgresql (.ci/run does this)")
    as_user: list[str] = []
    user = os.environ.get("USER", "postgres")
    datadir = Path(tempfile.mkdtemp(prefix="oso-pg-"))
    if os.geteuid() == 0:
        as_user, user = ["runuser", "-u", "postgres", "--"], "postgres"
        shutil.chown(datadir, "postgres", "postgres")
    subprocess.run(
        [*as_user, initdb, "-D", str(datadir), "-U", user, "--auth=trust", "-E", "UTF8"],
        check=True, capture_output=True,
    )
    port = free_port()
    opts = f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(
        [*as_user, pg_ctl, "-D", str(datadir), "-o", opts, "-l", str(datadir / "server.log"), "-w", "start"],
        check=True, capture_output=True,
    )
    server = PostgresServer("127.0.0.1", port, user, datadir, as_user)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            import psycopg2

            psycopg2.connect(host=server.host, port=port, user=user, dbname="postgres").close()
            return server
        except Exception:  # noqa: BLE001 - not accepting connections yet
            time.sleep(0.2)
    raise RuntimeError(f"PostgreSQL did not start; see {datadir / 'server.log'}")
