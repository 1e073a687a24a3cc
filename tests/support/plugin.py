"""Session-wide real services and per-test lakes.

* ``prefect_server`` (session, autouse): one real Prefect server; every flow in the tests reports to it,
  so flow runs cost ~1 s instead of the ~12 s of an ephemeral server per process.
* ``oso_home`` (per test): a fresh embedded lake in a temporary ``OSO_HOME``.
* ``postgres`` (session): a real PostgreSQL cluster, started on first use.
* ``s3_server`` / ``gcs_server`` (session): moto's S3 server and the GCS emulator, started on first use;
  ``object_lake`` (per test, parametrized over both): a lake with its catalog in the session's PostgreSQL and its
  warehouse under a fresh prefix of the store's bucket (``tests/support/object_stores.py``).
* ``small_disk`` (per test): a factory mounting a real tmpfs of a given size at a folder
  (``tests/support/small_disk.py``; needs root, else the test is skipped), unmounted after the test.
* ``fresh_settings`` (per test, autouse): typed settings are read once per process, so each test starts with
  none read and any ``monkeypatch.setenv`` / ``delenv`` forgets them (the next read sees the new environment).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.discord_proxy import DiscordProxy, start_discord_proxy
from tests.support.object_stores import ObjectLake, StoreServer, start_gcs, start_s3
from tests.support.ports import free_port
from tests.support.postgres import PostgresServer, postgres_available, start_postgres
from tests.support.prefect_server import PrefectServer, launch_prefect_server, start_prefect_server, wait_healthy
from tests.support.small_disk import mounted_tmpfs

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_configure(config: pytest.Config) -> None:
    """Point Prefect at the session server before any test module imports Prefect.

    Prefect reads its settings once, when it is first imported (test collection imports the flows), so the
    API URL must be in the environment before that: the port is chosen here and the server started on it.

    Under ``pytest -n N`` (pytest-xdist) the controller only hands out tests: each worker is a session of its
    own, with its own Prefect server, PostgreSQL and emulators, so no test sees another worker's runs, deployments
    or automations. The controller therefore sets nothing here, or its workers would inherit one server's port.
    """
    if _is_xdist_controller(config) or "OSO_TEST_PREFECT_PORT" in os.environ:
        return
    home = Path(tempfile.mkdtemp(prefix="oso-test-prefect-"))
    port = free_port()
    os.environ.update(
        OSO_TEST_PREFECT_PORT=str(port),
        OSO_TEST_PREFECT_HOME=str(home),
        PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
        PREFECT_UI_URL=f"http://127.0.0.1:{port}",
        PREFECT_HOME=str(home / "client"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        # Several workers' servers share two cores, and a weekly replay writes task runs from many threads: on a
        # loaded machine SQLite's writer lock can outlast its 10 s busy timeout, which the server answers with a
        # retryable 503, and the client gives up after 5 tries. A longer busy timeout and more client retries make
        # a busy machine slow the suite down instead of failing a run.
        PREFECT_SERVER_DATABASE_TIMEOUT="30",
        PREFECT_CLIENT_MAX_RETRIES="10",
    )
    # The weekly run's transform reads the whole starter project, which a test's few sources do not load: weekly
    # tests run without it unless they ask (tests/test_transform.py does).
    os.environ.setdefault("DAGSTER__TRANSFORM__IN_WEEKLY", "false")
    # launched now, answering by the time collection (which imports Prefect and every flow) is done
    proxy = start_discord_proxy(home / "discord")
    server = launch_prefect_server(home / "server", extra_env=proxy.env, port=port)
    config.stash[_SESSION_SERVICES] = (proxy, server)


_SESSION_SERVICES = pytest.StashKey[tuple[DiscordProxy, PrefectServer]]()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop what ``pytest_configure`` launched when no test used it (``--collect-only``, a collection error)."""
    launched = _launched(config)
    if launched:
        launched[1].stop()
        launched[0].stop()


def _launched(config: pytest.Config) -> tuple[DiscordProxy, PrefectServer] | None:
    """The proxy and server ``pytest_configure`` launched (none in a pytest run inside a test session)."""
    return config.stash.get(_SESSION_SERVICES, None)


def _is_xdist_controller(config: pytest.Config) -> bool:
    """Whether this process hands tests to xdist workers (and runs none itself)."""
    workers = getattr(config.option, "numprocesses", None)
    return bool(workers) and not hasattr(config, "workerinput")


@pytest.fixture(scope="session")
def discord_proxy(pytestconfig: pytest.Config) -> Iterator[DiscordProxy]:
    """The local stand-in for discord.com; the session server sends its notifications through it."""
    launched = _launched(pytestconfig)
    proxy = launched[0] if launched else start_discord_proxy(Path(os.environ["OSO_TEST_PREFECT_HOME"]) / "discord")
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="session", autouse=True)
def prefect_server(pytestconfig: pytest.Config, discord_proxy: DiscordProxy) -> Iterator[PrefectServer]:
    """The session's server; it runs automation actions, so it gets the proxy and its CA (tests only)."""
    launched = _launched(pytestconfig)
    if launched:
        server = wait_healthy(launched[1])
    else:
        home = Path(os.environ["OSO_TEST_PREFECT_HOME"]) / "server"
        port = int(os.environ["OSO_TEST_PREFECT_PORT"])
        server = start_prefect_server(home, port=port, extra_env=discord_proxy.env)
    try:
        with _no_heartbeats():
            yield server
    finally:
        _drain_prefect_workers()
        server.stop()


@contextlib.contextmanager
def _no_heartbeats() -> Iterator[None]:
    """Flow runs in the test process send no heartbeats.

    Prefect's heartbeat thread sleeps in whole seconds and each run's exit joins it, so every flow run in a test
    ended up to a second late (~0.8 s on average, over the hundreds of runs of the suite). Heartbeats only matter
    to the zombie automation, which watches deployed runs: the worker tests (``tests/support/workers.py``) run
    their deployments in processes of their own, with heartbeats every 30 s, and test exactly that.
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _drain_prefect_workers() -> None:
    """Send buffered run logs and events while the server is still up.

    Otherwise Prefect's background workers flush them at interpreter exit, against a stopped server, and retry
    with back-off for over a minute before giving up ("Error logging to API").
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):  # best effort at teardown
            worker.drain_all(timeout=10)


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Forget the settings read so far, before, during (on every env change of ``monkeypatch``) and after a test.

    The test's ``monkeypatch`` is this same instance, so wrapping its env methods covers every change a test makes
    mid-way (set a variable, call, change it, call again) without each test calling ``settings.reload()``.
    """
    from oso_core.config import settings

    for name in ("setenv", "delenv"):
        method = getattr(monkeypatch, name)

        def changed(*args: object, _method=method, **kwargs: object) -> None:
            _method(*args, **kwargs)
            settings.reload()

        setattr(monkeypatch, name, changed)
    settings.reload()
    yield
    settings.reload()


@pytest.fixture
def oso_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh embedded lake; secrets come only from the test's own environment (no project ``.env``)."""
    home = tmp_path / "oso"
    monkeypatch.setenv("OSO_HOME", str(home))
    monkeypatch.setenv("OSO_ENV_FILE", str(tmp_path / "no.env"))
    return home


@pytest.fixture
def small_disk() -> Iterator[Callable[[Path, str], Path]]:
    """``small_disk(folder, "1m")`` mounts a tmpfs of that size at ``folder``; every mount is undone after the test."""
    with contextlib.ExitStack() as mounts:
        yield lambda folder, size: mounts.enter_context(mounted_tmpfs(folder, size))


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


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreServer]:
    server = start_s3(tmp_path_factory.mktemp("moto"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreServer]:
    server = start_gcs(tmp_path_factory.mktemp("gcs"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["gcs", "s3"])
def object_lake(
    request: pytest.FixtureRequest, postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ObjectLake:
    """A lake on an object store (each test its own prefix of the bucket) with a Postgres catalog."""
    store: StoreServer = request.getfixturevalue(f"{request.param}_server")
    lake = ObjectLake.create(store, postgres, tmp_path)
    for key, value in lake.env.items():
        monkeypatch.setenv(key, value)
    return lake


# Whole modules left out of `./dev test --quick` (`-m "not slow"`): each starts Prefect workers, a temporary Prefect
# server, a Dask or Ray cluster, object-store emulators, PostgreSQL, a full weekly replay or a fresh pytest/CLI
# process per test. Marking them here, rather than test by test, keeps a new test in such a module slow by default.
SLOW_MODULES = frozenset(
    {
        "test_alerts.py",
        "test_archive_large.py",
        "test_cli_telemetry.py",
        "test_deployments.py",
        "test_dynamic_sources.py",
        "test_main_job.py",
        "test_object_store.py",
        "test_scaffold.py",
        "test_secrets_prefect.py",
        "test_sql_replication.py",
        "test_startup.py",
        "test_warehouse_postgres.py",
        "test_weekly.py",
        "test_workers.py",
    }
)


# The deadline of a slow test that sets none itself: the slowest (a worker killed mid-run, ~2 min on a quiet
# machine) still has room on a loaded one, and a hang still fails, with its stacks, well before pytest's 600 s.
SLOW_DEADLINE_S = 420


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the slow modules' tests and every PostgreSQL test ``slow``, so ``-m "not slow"`` is the inner loop."""
    for item in items:
        if item.path.name in SLOW_MODULES or item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.slow)
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(SLOW_DEADLINE_S))
