"""Issue 22's lake errors that must name what to fix: a catalog that does not answer, a warehouse path that is a file,
a table whose metadata file is corrupt. Each is one error naming the setting (or the table and file), never a
traceback of the driver's or pydantic's internals, and never the catalog's password."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from oso_core.warehouse import Warehouse, WarehouseError
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "pw-Never-Printed-7f3a"


def _env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OSO_", "DAGSTER__"))}
    env.update(PYTHONPATH=str(ROOT), **overrides)
    return env


# -- 4: a catalog URI to a closed port -------------------------------------------------------------------------------
@pytest.fixture
def closed_catalog(postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """The session's real PostgreSQL URL, with a password, pointed at a port nothing listens on: (URI, host:port)."""
    port = free_port()
    url = make_url(postgres.url("lake")).set(port=port, password=PASSWORD)
    uri = url.render_as_string(hide_password=False)
    assert PASSWORD in uri
    for key, value in {
        "DAGSTER__ICEBERG__CATALOG_URI": uri,
        "DAGSTER__ICEBERG__WAREHOUSE": str(tmp_path / "warehouse"),
        "OSO_HOME": str(tmp_path / "oso"),
        "OSO_ENV_FILE": str(tmp_path / "no.env"),
    }.items():
        monkeypatch.setenv(key, value)
    return uri, f"{url.host}:{port}"


@pytest.mark.postgres
def test_the_listing_on_a_closed_catalog_port_is_one_line_naming_the_setting(closed_catalog, tmp_path: Path):
    uri, where = closed_catalog
    env = _env(
        DAGSTER__ICEBERG__CATALOG_URI=uri,
        DAGSTER__ICEBERG__WAREHOUSE=str(tmp_path / "warehouse"),
        OSO_HOME=str(tmp_path / "oso"),
        OSO_ENV_FILE=str(tmp_path / "no.env"),
    )
    run = subprocess.run(
        [sys.executable, "-m", "oso_core.query"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 1 and run.stdout == ""
    [line] = run.stderr.strip().splitlines()  # one line, not a 141-line traceback
    assert "DAGSTER__ICEBERG__CATALOG_URI" in line and where in line and "Connection refused" in line, line
    assert PASSWORD not in run.stderr and "***@" in line


@pytest.mark.postgres
def test_the_weekly_run_on_a_closed_catalog_port_fails_naming_the_setting(
    closed_catalog, capfd: pytest.CaptureFixture[str]
):
    from flows.weekly import weekly_flow

    _, where = closed_catalog
    state = weekly_flow(return_state=True)
    assert state.is_failed()
    assert "CatalogUnreachableError" in state.message and "OperationalError" not in state.message
    assert "DAGSTER__ICEBERG__CATALOG_URI" in state.message and where in state.message
    assert "Connection refused" in state.message
    printed = capfd.readouterr()
    assert PASSWORD not in state.message + printed.out + printed.err


# -- 5: a warehouse path that is a file ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("layout", "setting"),
    [("warehouse_setting", "DAGSTER__ICEBERG__WAREHOUSE"), ("under_a_file", "DAGSTER__ICEBERG__WAREHOUSE"),
     ("default_layout", "OSO_HOME")],
)  # fmt: skip
def test_a_warehouse_path_that_is_a_file_names_the_setting(
    layout: str, setting: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    home = tmp_path / "oso"
    monkeypatch.setenv("OSO_HOME", str(home))
    monkeypatch.setenv("OSO_ENV_FILE", str(tmp_path / "no.env"))
    for key in [k for k in os.environ if k.startswith("DAGSTER__ICEBERG__")]:
        monkeypatch.delenv(key)
    blocker = tmp_path / "a-file" if layout != "default_layout" else home / "warehouse"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a lake")
    if layout != "default_layout":
        monkeypatch.setenv(setting, str(blocker if layout == "warehouse_setting" else blocker / "lake"))
    with pytest.raises(WarehouseError) as caught:
        Warehouse()
    message = str(caught.value)
    assert setting in message and "must be a folder" in message and str(blocker) in message, message
    assert blocker.read_text() == "not a lake"
