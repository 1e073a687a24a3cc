"""The pyoso-shaped client: a notebook written for pyoso runs over a lake loaded by real flow runs, read-only.

The lake is loaded by the chainlist and defillama flows (real Prefect runs against their replayed APIs), so the
snapshots carry the source and flow run our writer records; the client is read back against the catalog directly.
"""

from __future__ import annotations

import contextlib
import io
import os
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from flows.chainlist.source import chainlist_flow
from flows.defillama.source import defillama_flow
from oso_core.warehouse import CatalogConfig, Warehouse
from oso_core.warehouse.quality import accepting
from oso_core.warehouse.query import Client, OsoError
from oso_dev.replay import ReplayServer

NOTEBOOK = """
    from pyoso import Client

    client = Client()
    chains = client.to_pandas("SELECT chain_id, name, chain_slug FROM chainlist.chains ORDER BY chain_id")
    response = client.query(
        "SELECT (SELECT count(*) FROM chainlist.chains) AS chains, (SELECT count(*) FROM defillama.chains) AS llama"
    )
    counts = response.to_pandas()
    response.analytics.print_tree()
"""


def run_notebook(source: str) -> tuple[dict[str, Any], str]:
    """Run a pyoso notebook with only its import line changed; its namespace and what it printed."""
    original = textwrap.dedent(source)
    ported = original.replace("from pyoso import Client", "from oso_core.warehouse.query import Client")
    changed = [a for a, b in zip(original.splitlines(), ported.splitlines(), strict=True) if a != b]
    assert changed == ["from pyoso import Client"]
    namespace: dict[str, Any] = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(ported, "<pyoso notebook>", "exec"), namespace)
    return namespace, printed.getvalue()


@pytest.fixture
def loaded_lake(warehouse: Warehouse) -> dict[str, str]:
    """chainlist and defillama loaded by their flows; ``{table: flow run id}``."""
    runs = {}
    for source, flow, table in (
        ("chainlist", chainlist_flow, "chainlist.chains"),
        ("defillama", defillama_flow, "defillama.chains"),
    ):
        with ReplayServer.for_source(source) as server:
            state = flow(base_url=server.url, return_state=True)
        assert state.is_completed(), state
        runs[table] = str(state.state_details.flow_run_id)
    return runs


def lake_files(oso_home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(oso_home)): p.read_bytes() for p in sorted(oso_home.rglob("*")) if p.is_file()}


def test_pyoso_notebook_runs_over_the_lake(warehouse: Warehouse, loaded_lake: dict[str, str]) -> None:
    started = datetime.now(UTC)
    oso, printed = run_notebook(NOTEBOOK)

    chains = oso["chains"]
    expected = warehouse.sql("SELECT chain_id, name, chain_slug FROM chainlist.chains ORDER BY chain_id")
    assert chains["chain_id"].tolist() == expected["chain_id"].to_list() == [1, 10, 8453, 42220, 987654, 11155111]
    assert chains["name"].tolist()[0] == "Ethereum Mainnet"
    assert str(chains["chain_id"].dtype) == "Int64", "nullable dtypes, as pyoso's convert_dtypes()"
    assert chains["chain_slug"].isna().sum() == 2

    llama_rows = warehouse.read("defillama.chains").height
    assert oso["counts"].to_dict("records") == [{"chains": 6, "llama": llama_rows}]

    response = oso["response"]
    assert response.data.columns == ["chains", "llama"] and response.data.data == [[6, llama_rows]]
    assert [t.key for t in response.tables] == ["chainlist.chains", "defillama.chains"]
    for table in response.tables:
        snapshot = warehouse.catalog.load_table(table.key).current_snapshot()
        assert table.snapshot_id == snapshot.snapshot_id
        assert table.loaded_at == datetime.fromtimestamp(snapshot.timestamp_ms / 1000, tz=UTC)
        assert table.loaded_at <= started
        assert table.flow_run_id == loaded_lake[table.key], "the run that wrote the snapshot"
        assert table.source == table.key.split(".")[0] and table.mode == "replace"
        assert response.analytics.get(table.key) is table
        assert f"snapshot {table.snapshot_id}" in printed and f"run {table.flow_run_id}" in printed
    assert [s.key for s in response.analytics.sources] == ["chainlist.chains", "defillama.chains"]
    assert response.to_polars().rows(named=True) == [{"chains": 6, "llama": llama_rows}]


def test_to_polars_and_the_snapshot_each_response_read(warehouse: Warehouse, loaded_lake: dict[str, str]) -> None:
    client = Client()
    before = client.query("SELECT count(*) AS n FROM chainlist.chains WHERE chain_id < 100")
    assert before.to_polars()["n"].to_list() == [2]

    with accepting(["chainlist.chains:row_drop"]):  # 6 → 1 rows: the default gate refuses it unless accepted
        warehouse.write("chainlist.chains", warehouse.read("chainlist.chains").head(1), mode="replace")
    after = client.query("SELECT count(*) AS n FROM chainlist.chains WHERE chain_id < 100")
    assert after.to_polars()["n"].to_list() == [1]
    assert after.tables[0].snapshot_id != before.tables[0].snapshot_id
    current = warehouse.catalog.load_table("chainlist.chains").current_snapshot()
    assert after.tables[0].snapshot_id == current.snapshot_id
    assert after.tables[0].flow_run_id == "", "written outside a flow run"
    assert client.to_polars("SELECT name FROM chainlist.chains")["name"].to_list() == ["Ethereum Mainnet"]


def test_a_table_never_written_is_listed_without_a_snapshot(warehouse: Warehouse) -> None:
    warehouse.catalog.create_namespace("empty")
    warehouse.catalog.create_table("empty.things", schema=pl.DataFrame({"id": [1]}).to_arrow().schema)
    response = Client().query("SELECT count(*) AS n FROM empty.things")
    assert response.to_polars()["n"].to_list() == [0]
    [table] = response.tables
    assert (table.key, table.snapshot_id, table.loaded_at) == ("empty.things", None, None)


WRITES = [
    "CREATE TABLE chainlist.copy AS SELECT * FROM chainlist.chains",
    "INSERT INTO chainlist.chains SELECT * FROM chainlist.chains",
    "DELETE FROM chainlist.chains",
    "DROP VIEW chainlist.chains",
    "ATTACH '{tmp}/other.duckdb' AS other",
    "COPY (SELECT * FROM chainlist.chains) TO '{tmp}/leak.parquet'",
    "SELECT 1; DROP TABLE chainlist.chains",
    "",
]


def test_the_client_cannot_write(
    warehouse: Warehouse, loaded_lake: dict[str, str], oso_home: Path, tmp_path: Path
) -> None:
    client = Client()
    client.to_pandas("SELECT count(*) FROM chainlist.chains")  # DuckDB's extensions are set up before the snapshot
    files = lake_files(oso_home)
    snapshots = {t: warehouse.catalog.load_table(t).current_snapshot().snapshot_id for t in loaded_lake}

    for statement in WRITES:
        with pytest.raises(OsoError):
            client.query(statement.format(tmp=tmp_path))
    assert not (tmp_path / "leak.parquet").exists() and not (tmp_path / "other.duckdb").exists()

    # the catalog handle itself is read-only: SQLite opened with mode=ro refuses every write
    with pytest.raises(Exception, match="readonly database"):
        client.catalog.create_namespace("intruder")
    with pytest.raises(Exception, match="readonly database"):
        client.catalog.drop_table("chainlist.chains")

    assert lake_files(oso_home) == files, "not a byte of the lake changed"
    assert {t: warehouse.catalog.load_table(t).current_snapshot().snapshot_id for t in loaded_lake} == snapshots


def test_no_lake_is_an_error_that_creates_nothing(oso_home: Path) -> None:
    with pytest.raises(OsoError, match="no lake at"):
        Client()
    assert not oso_home.exists()


@pytest.mark.postgres
def test_postgres_catalog_is_opened_read_only(postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = f"client_{os.getpid()}_{abs(hash(tmp_path)) % 10**6}"
    postgres.create_database(database)
    monkeypatch.setenv("DAGSTER__ICEBERG__CATALOG_URI", postgres.url(database))
    monkeypatch.setenv("DAGSTER__ICEBERG__WAREHOUSE", f"file://{tmp_path / 'warehouse'}")
    monkeypatch.setenv("OSO_HOME", str(tmp_path / "oso"))
    monkeypatch.setenv("OSO_ENV_FILE", str(tmp_path / "no.env"))
    writer = Warehouse()
    writer.write("shared.events", pl.DataFrame({"id": [1, 2, 3]}), mode="append", source="shared")

    client = Client()
    assert client.config == CatalogConfig.from_settings() and client.config.uri.startswith("postgresql")
    response = client.query("SELECT sum(id) AS total FROM shared.events")
    assert response.to_pandas()["total"].tolist() == [6]
    assert response.tables[0].snapshot_id == writer.catalog.load_table("shared.events").current_snapshot().snapshot_id
    with pytest.raises(Exception, match="read-only transaction"):
        client.catalog.create_namespace("intruder")
    assert ("intruder",) not in writer.catalog.list_namespaces()


@pytest.fixture
def small_table(warehouse: Warehouse) -> str:
    """One tiny table written directly (no flow needed); its name."""
    warehouse.write("demo.items", pl.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "c"]}), mode="replace")
    return "demo.items"


def test_explain_analyze_cannot_run_a_write(warehouse: Warehouse, small_table: str) -> None:
    """``EXPLAIN ANALYZE`` runs the statement it wraps: a COPY onto the metadata file would destroy the table."""
    metadata = Path(warehouse.catalog.load_table(small_table).metadata_location.removeprefix("file://"))
    before = metadata.read_bytes()
    client = Client()
    for statement in (
        f"EXPLAIN ANALYZE COPY (SELECT 'x') TO '{metadata}' (FORMAT csv, HEADER false)",
        f"/* note */ explain (analyze) copy (select 'x') to '{metadata}'",
    ):
        with pytest.raises(OsoError, match="EXPLAIN of COPY refused"):
            client.query(statement)
    assert metadata.read_bytes() == before
    assert client.to_polars(f"SELECT id FROM {small_table} ORDER BY id")["id"].to_list() == [1, 2, 3]


def test_duckdb_itself_reads_only_the_lake_tables_folders(
    warehouse: Warehouse, small_table: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plain SELECT passes the parser, so DuckDB's own settings must keep it to the tables read (item 22.2)."""
    import duckdb

    from oso_core.warehouse.query_client import lock_down

    outside = tmp_path / "outside.csv"
    outside.write_text("secret\n")
    client = Client()
    for query in (
        "SELECT * FROM read_text('/etc/passwd')",
        f"SELECT * FROM read_csv('{outside}')",
        f"SELECT * FROM {small_table}, read_text('{outside}')",  # a lake table read beside it opens only its folder
    ):
        with pytest.raises(OsoError, match="query failed: .*(Permission|disabled by configuration)"):
            client.query(query)
    assert client.to_polars(f"SELECT id FROM {small_table} ORDER BY id")["id"].to_list() == [1, 2, 3]

    from oso_core.warehouse.query import main  # the command line goes through the same client

    assert main(["--format", "csv", f"SELECT * FROM read_text('{outside}')"]) == 1
    out, err = capsys.readouterr()
    assert "secret" not in out + err and "disabled by configuration" in err
    assert main(["--format", "csv", f"SELECT id FROM {small_table} ORDER BY id"]) == 0
    assert capsys.readouterr().out.splitlines() == ["id", "1", "2", "3"]

    con = duckdb.connect()  # the wall itself, below the parse check: the configuration cannot be changed back
    lock_down(con, [])
    with pytest.raises(duckdb.Error, match="configuration has been locked"):
        con.execute("SET enable_external_access = true")
    with pytest.raises(duckdb.Error, match="disabled by configuration"):
        con.execute(f"SELECT * FROM read_text('{outside}')")


def test_select_and_explain_of_a_select_still_run(warehouse: Warehouse, small_table: str) -> None:
    client = Client()
    with_select = f"WITH t AS (SELECT * FROM {small_table}) SELECT count(*) AS n FROM t"
    assert client.to_polars(with_select)["n"].to_list() == [3]
    for explain in (f"EXPLAIN SELECT * FROM {small_table}", f"EXPLAIN ANALYZE SELECT * FROM {small_table}"):
        plan = client.to_polars(explain)
        assert plan.height >= 1 and "ICEBERG" in " ".join(str(v) for v in plan.row(0)).upper()


def test_the_command_line_runs_only_reads(
    warehouse: Warehouse, small_table: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from oso_core.warehouse.query import main

    target = tmp_path / "written.csv"
    for statement in (
        f"COPY (SELECT 1) TO '{target}'",
        f"EXPLAIN ANALYZE COPY (SELECT 1) TO '{target}'",
        "SET enable_external_access = true",
        "SELECT 1; SELECT 2",
    ):
        assert main([statement]) == 1, statement
        assert "query failed:" in capsys.readouterr().err
        assert not target.exists()

    assert main(["--format", "csv", f"SELECT id FROM {small_table} ORDER BY id"]) == 0
    assert capsys.readouterr().out.split() == ["id", "1", "2", "3"]
    assert main([f"EXPLAIN SELECT * FROM {small_table}"]) == 0
