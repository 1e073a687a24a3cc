"""Session-wide real services and per-test lakes.

* ``prefect_server`` (session, autouse): one real Prefect server; every flow in the tests reports to it,
  so flow runs cost ~1 s instead of the ~12 s of an ephemeral server per process.
* ``oso_home`` (per test): a fresh embedded lake in a temporary ``OSO_HOME``.
* ``postgres`` (session): a real PostgreSQL cluster, started on first use.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer, postgres_available, start_postgres
from tests.support.prefect_server import PrefectServer, start_prefect_server

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session", autouse=True)
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    home = tmp_path_factory.mktemp("prefect-home")
    server = start_prefect_server(home)
    saved = {k: os.environ.get(k) for k in ("PREFECT_API_URL", "PREFECT_UI_URL", "PREFECT_HOME")}
    os.environ.update(
        PREFECT_API_URL=server.api_url, PREFECT_UI_URL=server.ui_url, PREFECT_HOME=str(home / "client")
    )
    os.environ.setdefault("DO_NOT_TRACK", "1")
    try:
        yield server
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def oso_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh embedded lake; secrets come only from the test's own environment (no project ``.env``)."""
    home = tmp_path / "oso"
    monkeypatch.setenv("OSO_HOME", str(home))
    monkeypatch.setenv("OSO_ENV_FILE", str(tmp_path / "no.env"))
    return home


@pytest.fixture
def warehouse(oso_home: Path):
    from oso_core.warehouse import Warehouse

    return Warehouse()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    if not postgres_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed on CI; .ci/run must install it")
        pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql)")
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()
