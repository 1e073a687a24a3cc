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
        [sys.executable, "-m", "oso_core.warehouse.query"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
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


# -- 6: one table's metadata file corrupt ----------------------------------------------------------------------------
# each broken table: how its current metadata file is damaged, and the words its problem is reported in
CORRUPTIONS = {
    "c.junk": (lambda text: "\x00garbage, not a metadata file", "is not valid JSON"),  # overwritten with junk
    "c.shape": (lambda text: '{"tables": []}', "is not Iceberg table metadata"),  # with JSON of another shape
    "c.cut": (lambda text: text[: len(text) // 2], "is not valid JSON"),  # truncated
}


@pytest.fixture
def broken_lake(warehouse: Warehouse) -> dict[str, str]:
    """A lake with one healthy table and one per corruption; returns each broken table's metadata file."""
    import polars as pl

    files = {}
    for name in ["c.good", *CORRUPTIONS]:
        warehouse.write(name, pl.DataFrame({"id": [1, 2, 3]}), mode="replace")
    for name, (damage, _) in CORRUPTIONS.items():
        path = Path(warehouse.catalog.load_table(name).metadata_location.removeprefix("file://"))
        path.write_text(damage(path.read_text()))
        files[name] = str(path)
    return files


def test_the_listing_shows_every_healthy_table_and_marks_each_broken_one(warehouse: Warehouse, broken_lake, oso_home):
    from oso_core.warehouse.query import Client, list_tables

    for reader in (warehouse, Client()):
        listing = {row["table"]: row for row in list_tables(reader).to_dicts()}
        assert set(listing) == {"c.good", *CORRUPTIONS}
        good = listing["c.good"]
        assert good["rows"] == 3 and good["snapshot_id"] == str(warehouse.snapshot_id("c.good"))
        assert good["problem"] == ""
        for name, (_, problem) in CORRUPTIONS.items():
            assert listing[name]["rows"] is None and listing[name]["snapshot_id"] == ""
            assert broken_lake[name] in listing[name]["problem"] and problem in listing[name]["problem"]
    env = _env(OSO_HOME=str(oso_home), OSO_ENV_FILE=str(oso_home.parent / "no.env"))
    run = subprocess.run(
        [sys.executable, "-m", "oso_core.warehouse.query"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert [line.split()[:2] for line in lines if line.startswith("c.good ")] == [["c.good", "3"]]
    for name, (_, problem) in CORRUPTIONS.items():
        [note] = [line for line in lines if line.startswith(f"{name}: unreadable:")]
        assert broken_lake[name] in note and problem in note
    assert lines[-1] == "(4 tables, 3 unreadable)"


def test_a_query_of_a_broken_table_names_it_and_its_file(warehouse: Warehouse, broken_lake):
    from oso_core.warehouse.errors import BrokenTableError
    from oso_core.warehouse.query import Client, OsoError

    client = Client()
    for name, (_, problem) in CORRUPTIONS.items():
        with pytest.raises(OsoError) as caught:
            client.query(f"SELECT count(*) FROM {name}")
        assert f"table {name}" in str(caught.value) and broken_lake[name] in str(caught.value)
        assert problem in str(caught.value)
        with pytest.raises(BrokenTableError) as by_sql:
            warehouse.sql(f"SELECT count(*) AS n FROM {name}")
        with pytest.raises(BrokenTableError) as by_read:
            warehouse.read(name)
        for raw in (by_sql, by_read):
            assert (raw.value.table, raw.value.file) == (name, broken_lake[name])
    # the healthy table still reads, through both
    assert client.to_polars("SELECT count(*) AS n FROM c.good")["n"][0] == 3
    assert warehouse.sql("SELECT count(*) AS n FROM c.good")["n"][0] == 3
