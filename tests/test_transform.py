"""The transformation stage: a sqlmesh project over the lake, its models published back as Iceberg tables.

Most tests build a tiny lake with the warehouse writer and a tiny sqlmesh project in a temporary folder (one or two
models, so a run takes seconds); the starter project runs end to end over replayed sources once (slow). DuckDB
(``oso_core.warehouse.reader.sql``) and Polars read the published tables back as independent readers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter

from flows.transform import INPUTS_KEY, SUMMARY_KEY, transform_flow
from oso_core.config.settings.models import DEFAULT_SQLMESH_PROJECT
from oso_core.transform.errors import TransformError
from oso_core.transform.runner import TransformOptions, run_transform
from oso_core.warehouse import Warehouse
from oso_core.warehouse.reader import read_table, sql

MACRO = DEFAULT_SQLMESH_PROJECT / "macros" / "oso_source.py"

STAGING = """
MODEL (
  name oso.stg_items,
  kind FULL,
  audits (not_null(columns := (item_id)))
);
SELECT CAST(items.id AS BIGINT) AS item_id, LOWER(items.name) AS item_name, items.price
FROM @oso_source('bigquery.shop.items') AS items
"""
DOWNSTREAM = """
MODEL (name oso.item_totals, kind FULL, audits (number_of_rows(threshold := 0)));
SELECT COUNT(*) AS items, CAST(SUM(stg.price) AS DOUBLE) AS total FROM oso.stg_items AS stg
"""
INDEPENDENT = """
MODEL (name oso.item_count, kind FULL);
SELECT COUNT(*) AS n FROM shop.items
"""


def make_project(folder: Path, models: dict[str, str], python: dict[str, str] | None = None) -> Path:
    """A sqlmesh project as OSO writes one (Trino dialect, @oso_source), with the starter project's macro."""
    (folder / "models").mkdir(parents=True)
    (folder / "macros").mkdir()
    shutil.copy(MACRO, folder / "macros" / "oso_source.py")
    (folder / "config.yaml").write_text("model_defaults:\n  dialect: trino\n  start: '2024-01-01'\n")
    for name, text in models.items():
        (folder / "models" / f"{name}.sql").write_text(textwrap.dedent(text).strip() + "\n")
    for name, text in (python or {}).items():
        (folder / "models" / f"{name}.py").write_text(textwrap.dedent(text).strip() + "\n")
    return folder


def items(ids: list[int | None], prices: list[float] | None = None) -> pl.DataFrame:
    prices = prices or [float(i or 0) for i in ids]
    return pl.DataFrame(
        {"id": ids, "name": [f"Item{i}" for i in ids], "price": prices},
        schema={"id": pl.Int64, "name": pl.String, "price": pl.Float64},
    )


@pytest.fixture
def lake(oso_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    warehouse = Warehouse()
    warehouse.write("shop.items", items([1, 2, 3]), mode="replace")
    monkeypatch.setenv(
        "DAGSTER__TRANSFORM__PROJECT",
        str(make_project(tmp_path / "project", {"stg_items": STAGING, "item_totals": DOWNSTREAM})),
    )
    return warehouse


def snapshots(warehouse: Warehouse) -> dict[str, int | None]:
    """Every lake table and its current snapshot (what must not change on a failed run)."""
    catalog = warehouse.catalog
    return {
        ".".join(ident): warehouse.snapshot_id(".".join(ident))
        for ns in catalog.list_namespaces()
        for ident in catalog.list_tables(ns)
    }


def properties(warehouse: Warehouse, table: str) -> dict[str, str]:
    return warehouse.catalog.load_table(table).current_snapshot().summary.additional_properties


def artifact(state, key: str) -> list[dict]:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            flow_run_filter=FlowRunFilter(id={"any_": [state.state_details.flow_run_id]}),
        )
    assert found, f"no {key} artifact"
    data = found[0].data
    return data if isinstance(data, list) else json.loads(data)


def test_models_are_published_with_their_provenance_and_a_rerun_publishes_nothing(lake: Warehouse) -> None:
    pinned = lake.snapshot_id("shop.items")
    state = transform_flow(return_state=True)
    assert state.is_completed(), state.message

    published = sql(lake.catalog, "SELECT item_id, item_name, price FROM oso.stg_items ORDER BY item_id")
    assert published.to_dicts() == [
        {"item_id": 1, "item_name": "item1", "price": 1.0},
        {"item_id": 2, "item_name": "item2", "price": 2.0},
        {"item_id": 3, "item_name": "item3", "price": 3.0},
    ]
    assert read_table(lake.catalog, "oso.item_totals").to_dicts() == [{"items": 3, "total": 6.0}]
    props = properties(lake, "oso.item_totals")
    assert props["oso.transform.model"] == "oso.item_totals"
    assert props["oso.transform.snapshot"].startswith("oso.item_totals:")
    assert props["oso.transform.plan_id"]
    assert json.loads(props["oso.transform.inputs"]) == {"shop.items": pinned}  # through stg_items
    assert props["oso.flow_run_id"] == str(state.state_details.flow_run_id)
    rows = {r["model"]: r for r in artifact(state, SUMMARY_KEY)}
    assert rows["oso.stg_items"]["published"] == "published" and rows["oso.stg_items"]["rows"] == 3
    assert rows["oso.stg_items"]["audits"] == "not_null ok"
    assert rows["oso.item_totals"]["snapshot_id"] == str(lake.snapshot_id("oso.item_totals"))
    assert {r["table"]: r["snapshot_id"] for r in artifact(state, INPUTS_KEY)} == {"shop.items": str(pinned)}

    before = snapshots(lake)
    again = transform_flow(return_state=True)
    assert again.is_completed(), again.message
    assert snapshots(lake) == before  # nothing changed: nothing new published
    assert {r["published"] for r in artifact(again, SUMMARY_KEY)} == {"unchanged"}


def test_the_fingerprint_computed_while_writing_is_stored_and_a_same_count_change_is_republished(
    lake: Warehouse,
) -> None:
    """A new table's fingerprint is computed beside its write (a second cursor) and committed with it; a change
    that keeps the row count is fingerprinted before anything is written, found changed, and published."""
    from oso_core.transform.gateway import GatewayFiles
    from oso_core.transform.publish import CONTENT_PROPERTY, _gateway, content_of, publish_models

    def publish() -> tuple[list, dict[str, str]]:
        run = run_transform(TransformOptions())
        database = GatewayFiles.in_home().database
        published = publish_models(lake, run.models, database, "oso", run.plan_id)
        con = _gateway(database)
        try:
            expected = {m.model: content_of(con, m.table)[1] for m in run.models}
        finally:
            con.close()
        return published, expected

    first, expected = publish()
    assert {p.model: p.state for p in first} == {"oso.stg_items": "published", "oso.item_totals": "published"}
    for p in first:
        assert properties(lake, p.table)[CONTENT_PROPERTY] == expected[p.model]

    lake.write("shop.items", items([1, 2, 3], [1.0, 2.0, 30.0]), mode="replace")  # same rows, one price moved
    second, expected = publish()
    assert {p.model: p.state for p in second} == {"oso.stg_items": "published", "oso.item_totals": "published"}
    assert [p.rows for p in second] == [3, 1]
    for p in second:
        assert properties(lake, p.table)[CONTENT_PROPERTY] == expected[p.model]
    assert read_table(lake.catalog, "oso.item_totals").to_dicts() == [{"items": 3, "total": 33.0}]

    third, _ = publish()
    assert {p.state for p in third} == {"unchanged"}


def test_a_failed_audit_publishes_neither_the_model_nor_its_downstream(lake: Warehouse, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "models" / "item_count.sql").write_text(INDEPENDENT)
    assert transform_flow(return_state=True).is_completed()
    before = snapshots(lake)

    lake.write("shop.items", items([1, 2, None, 4]), mode="replace")  # a null id fails stg_items' not_null audit
    state = transform_flow(return_state=True)
    assert state.is_failed()
    assert "oso.stg_items" in state.message and "not_null" in state.message
    after = snapshots(lake)
    assert after["oso.stg_items"] == before["oso.stg_items"]
    assert after["oso.item_totals"] == before["oso.item_totals"]  # its downstream stays too
    assert after["oso.item_count"] != before["oso.item_count"]  # an independent model is published
    assert read_table(lake.catalog, "oso.item_count")["n"].to_list() == [4]
    assert read_table(lake.catalog, "oso.stg_items").height == 3
    rows = {r["model"]: r for r in artifact(state, SUMMARY_KEY)}
    assert rows["oso.stg_items"]["state"] == "failed" and rows["oso.stg_items"]["audits"] == "not_null failed"
    assert rows["oso.item_totals"]["state"] == "skipped"

    lake.write("shop.items", items([1, 2, 4, 5]), mode="replace")  # fixed: the moved inputs restate both
    fixed = transform_flow(return_state=True)
    assert fixed.is_completed(), fixed.message
    assert read_table(lake.catalog, "oso.item_totals").to_dicts() == [{"items": 4, "total": 12.0}]


def test_a_model_with_a_sql_error_fails_naming_it_and_nothing_downstream(lake: Warehouse, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "models" / "stg_items.sql").write_text(STAGING.replace("items.price", "items.no_such_column"))
    state = transform_flow(return_state=True)
    assert state.is_failed()
    assert "oso.stg_items" in state.message and "no_such_column" in state.message
    assert not lake.exists("oso.stg_items") and not lake.exists("oso.item_totals")
    assert snapshots(lake) == {"shop.items": lake.snapshot_id("shop.items")}


def test_a_model_reading_a_table_the_lake_lacks_names_it_and_changes_nothing(lake: Warehouse, tmp_path: Path) -> None:
    lake.write("shop.orders", pl.DataFrame({"id": [1]}), mode="replace")
    (tmp_path / "project" / "models" / "stg_items.sql").write_text(STAGING.replace("shop.items", "shop.itemz"))
    before = snapshots(lake)
    with pytest.raises(TransformError) as raised:
        run_transform(TransformOptions())
    message = str(raised.value)
    assert "model oso.stg_items reads sources__bigquery__shop.itemz" in message
    assert "namespace shop has: shop.items, shop.orders" in message
    state = transform_flow(return_state=True)
    assert state.is_failed() and "sources__bigquery__shop.itemz" in state.message
    assert snapshots(lake) == before


def test_a_model_that_does_not_parse_names_its_file_and_the_fixed_project_then_runs(
    lake: Warehouse, tmp_path: Path
) -> None:
    """The views are written while the project loads; a project that fails to load leaves no gateway connection
    open behind it (the next run in the same process opens the file afresh and publishes)."""
    model = tmp_path / "project" / "models" / "stg_items.sql"
    model.write_text(STAGING.replace("kind FULL,", "kind FULL,,"))
    before = snapshots(lake)
    with pytest.raises(TransformError, match=r"cannot be loaded.*stg_items\.sql"):
        run_transform(TransformOptions())
    assert snapshots(lake) == before
    from sqlmesh.core.config.connection import BaseDuckDBConnectionConfig

    from oso_core.transform.gateway import GatewayFiles

    files = GatewayFiles.in_home()
    assert not {Path(k) for k in BaseDuckDBConnectionConfig._data_file_to_adapter} & {files.database, files.state}
    model.write_text(STAGING)
    run = run_transform(TransformOptions())
    assert not run.failed and {m.model for m in run.models} >= {"oso.stg_items", "oso.item_totals"}
    # and a run that ends keeps neither file's adapter behind (one per lake home in a long-lived process)
    assert not {Path(k) for k in BaseDuckDBConnectionConfig._data_file_to_adapter} & {files.database, files.state}


@pytest.mark.parametrize("kind", ["missing", "not a project"])
def test_a_bad_project_path_is_named_with_its_setting(lake: Warehouse, tmp_path: Path, monkeypatch, kind) -> None:
    folder = tmp_path / "elsewhere"
    if kind == "not a project":
        folder.mkdir()
        (folder / "notes.txt").write_text("no sqlmesh here")
    monkeypatch.setenv("DAGSTER__TRANSFORM__PROJECT", str(folder))
    before = snapshots(lake)
    with pytest.raises(TransformError, match="DAGSTER__TRANSFORM__PROJECT") as raised:
        run_transform(TransformOptions())
    assert str(folder) in str(raised.value)
    assert ("does not exist" if kind == "missing" else "is not a sqlmesh project") in str(raised.value)
    assert snapshots(lake) == before


@pytest.mark.parametrize("own", [None, True])
def test_python_requirements_are_not_inferred_unless_the_project_asks(tmp_path: Path, own: bool | None) -> None:
    """sqlmesh's inference scans every installed distribution on each plan (~1.5 s) for a lock file no run here
    uses; a project that sets ``infer_python_dependencies`` keeps its choice."""
    from oso_core.transform.project import project_config

    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    lines = ["model_defaults:", "  dialect: duckdb"] + ([] if own is None else [f"infer_python_dependencies: {own}"])
    (project / "config.yaml").write_text("\n".join(lines) + "\n")
    config = project_config(project, {"connection": {"type": "duckdb"}}, {}, tmp_path / "cache")
    assert config.infer_python_dependencies is (own if own is not None else False)
    assert config.model_defaults.dialect == "duckdb" and config.disable_anonymized_analytics


def test_the_context_calls_plan_and_run_without_inspecting_the_callers_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """sqlmesh's analytics wrapper calls ``inspect.stack()`` on each ``plan``/``plan_builder``/``run``/``test``
    even with analytics off; our context takes the wrapped functions, and is sqlmesh's ``Context`` otherwise."""
    import inspect

    from sqlmesh import Context

    from oso_core.transform.project import lake_context_class

    lake_context = lake_context_class()
    assert issubclass(lake_context, Context) and lake_context is lake_context_class()
    for name in ("plan", "plan_builder", "run", "test"):
        assert hasattr(getattr(Context, name), "__wrapped__"), f"sqlmesh's Context.{name} is no longer wrapped"
        assert getattr(lake_context, name) is getattr(Context, name).__wrapped__

    class StackInspected(BaseException):  # not an Exception: the wrapper swallows those from inspect.stack()
        pass

    def no_stack(*args, **kwargs):
        raise StackInspected

    monkeypatch.setattr(inspect, "stack", no_stack)
    with pytest.raises(StackInspected):
        Context.plan(object())  # the wrapper inspects the stack before it calls anything
    with pytest.raises(AttributeError):
        lake_context.plan(object())  # ours goes straight to the plan (and fails on the fake context)


@pytest.mark.parametrize("first", ["runner", "console", "publish"])
def test_sqlmesh_loads_models_in_the_process_and_phones_nobody_whatever_module_imports_it_first(first: str) -> None:
    """sqlmesh reads ``MAX_FORK_WORKERS`` and its analytics switch once, on its first import: the package sets both
    before any of its modules can import sqlmesh (a forked loader from a threaded flow-run process can deadlock)."""
    code = (
        f"import oso_core.transform.{first}, sqlmesh.core.constants as c, os; "
        "print(c.MAX_FORK_WORKERS, os.environ['SQLMESH__DISABLE_ANONYMIZED_ANALYTICS'])"
    )
    env = {
        k: v for k, v in os.environ.items() if k not in ("MAX_FORK_WORKERS", "SQLMESH__DISABLE_ANONYMIZED_ANALYTICS")
    }
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1", "1"]


def test_the_gateway_extensions_are_links_to_the_wheels_files_that_duckdb_loads_by_name(tmp_path: Path) -> None:
    """A fresh lake home links the avro and iceberg extensions (no ~60 MB copy); sqlmesh's connection loads them by
    name from there, and a link left pointing nowhere is made again."""
    import duckdb

    from oso_core.transform.gateway import install_extensions
    from oso_core.warehouse.duckdb_extensions import extension_file

    directory = tmp_path / "extensions"
    install_extensions(directory)
    links = {p.name: p for p in directory.rglob("*.duckdb_extension")}
    assert sorted(links) == ["avro.duckdb_extension", "iceberg.duckdb_extension"]
    assert all(p.is_symlink() and p.resolve() == Path(extension_file(p.name.split(".")[0])).resolve()
               for p in links.values())  # fmt: skip
    links["iceberg.duckdb_extension"].unlink()
    links["iceberg.duckdb_extension"].symlink_to(tmp_path / "gone.duckdb_extension")
    install_extensions(directory)
    assert links["iceberg.duckdb_extension"].exists()
    con = duckdb.connect(config={"extension_directory": str(directory), "autoinstall_known_extensions": False})
    con.execute("LOAD iceberg")
    assert con.execute("SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'iceberg'").fetchone() == (True,)


def test_the_content_fingerprint_is_the_one_earlier_runs_stored_and_sees_every_change() -> None:
    """``content_of`` hashes a row's columns as ``HASH``'s arguments; tables published when it hashed the row as a
    struct (``HASH(t)``) keep their fingerprint, so an unchanged model is still found unchanged."""
    import hashlib

    import duckdb

    from oso_core.transform.publish import content_of

    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    con.execute(
        """CREATE TABLE staging.t AS SELECT i AS id, 'n' || i AS "a ""quoted"" name", [i, NULL] AS xs,
        {'k': i % 3, 'v': NULL::VARCHAR} AS s, CASE WHEN i % 5 = 0 THEN NULL ELSE i * 0.5 END AS x,
        TIMESTAMPTZ '2025-01-01' + i * INTERVAL 1 HOUR AS at FROM range(5000) r(i)"""
    )
    table = relation = "staging.t"

    def struct_fingerprint() -> tuple[int, str]:
        columns = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        rows, digest = con.execute(
            f"SELECT COUNT(*), COALESCE(SUM(HASH(t)), 0)::VARCHAR FROM {relation} AS t"
        ).fetchone()
        shape = json.dumps([[c[0], c[1]] for c in columns])
        return int(rows), hashlib.sha256(f"{shape}|{rows}|{digest}".encode()).hexdigest()[:32]

    before = content_of(con, table)
    assert before == struct_fingerprint() and before[0] == 5000
    con.execute(f"UPDATE {relation} SET s = {{'k': 9, 'v': 'x'}} WHERE id = 4321")
    changed = content_of(con, table)
    assert changed == struct_fingerprint() and changed != before


def test_published_rows_stream_in_frames_bounded_by_bytes_and_an_early_stop_frees_the_connection(
    tmp_path: Path,
) -> None:
    """The writer gets frames of about ``frame_bytes`` (one chunk each), fetched ahead in a thread; an empty table
    is one empty frame with its columns; a writer that stops early leaves the connection usable."""
    import duckdb

    from oso_core.transform.publish import _frames

    con = duckdb.connect(str(tmp_path / "g.duckdb"))
    con.execute("CREATE TABLE t AS SELECT range AS id, repeat('x', 100) AS pad FROM range(50000)")
    con.execute("CREATE TABLE e (id BIGINT, pad VARCHAR)")
    frames = list(_frames(con, "t", frame_bytes=1_000_000))
    assert len(frames) > 3 and sum(f.height for f in frames) == 50000
    assert all(f.estimated_size() < 2_000_000 and f.n_chunks() == 1 for f in frames)
    assert sorted(pl.concat(frames)["id"].to_list()) == list(range(50000))
    (empty,) = list(_frames(con, "e"))
    assert empty.height == 0 and empty.columns == ["id", "pad"]
    stream = _frames(con, "t", frame_bytes=100_000)
    next(stream)
    stream.close()
    assert con.execute("SELECT count(*) FROM t").fetchone() == (50000,)


def test_the_publish_connection_loads_iceberg_only_for_a_view_over_the_lake(lake: Warehouse, oso_home: Path) -> None:
    """A model that is a table is read without the lake extensions (~0.2 s a publish); a VIEW-kind model reading
    the pinned lake views loads them by name from the transform's folder."""
    from oso_core.transform.gateway import GatewayFiles, build_gateway, install_extensions
    from oso_core.transform.lake_views import pin_tables, write_views
    from oso_core.transform.publish import _gateway

    files = GatewayFiles.in_home()
    install_extensions(files.extensions)
    adapter = build_gateway().gateway.connection.create_engine_adapter()
    write_views(
        adapter.cursor, adapter.default_catalog, pin_tables(lake.catalog, ["shop.items"]), "sources__{catalog}__{db}"
    )
    adapter.close()
    con = _gateway(files.database)
    loaded = "SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'iceberg'"
    assert con.execute(loaded).fetchone() == (False,)
    assert con.execute('SELECT count(*) FROM "transform".shop.items').fetchone() == (3,)
    assert con.execute(loaded).fetchone() == (True,)
    con.close()


def test_the_embedded_gateway_stores_the_models_tables_uncompressed(oso_home: Path) -> None:
    """The gateway's tables are scratch read once by the publish: no compression analysis at checkpoint (~40% of
    the CPU of a model's CREATE TABLE ... AS)."""
    from oso_core.transform.gateway import build_gateway

    adapter = build_gateway().gateway.connection.create_engine_adapter()
    adapter.execute("CREATE TABLE t AS SELECT range % 7 AS small, 'x' || (range % 3) AS label FROM range(300000)")
    adapter.execute("CHECKPOINT")
    adapter.cursor.execute("SELECT DISTINCT compression FROM pragma_storage_info('t') WHERE segment_type <> 'VALIDITY'")
    assert {row[0] for row in adapter.cursor.fetchall()} <= {"Uncompressed"}
    adapter.close()


def test_the_gateway_memory_limit_bounds_the_models_sql_which_spills_beside_its_database(
    oso_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``transform.memory_limit`` reaches DuckDB; a sort bigger than the limit spills to ``transform.duckdb.tmp``
    and finishes, and a size DuckDB cannot read is refused when the settings load, naming the setting."""
    from oso_core.config.settings.loading import SettingsError
    from oso_core.transform.gateway import GatewayFiles, build_gateway

    monkeypatch.setenv("DAGSTER__TRANSFORM__MEMORY_LIMIT", "64MB")
    adapter = build_gateway().gateway.connection.create_engine_adapter()
    adapter.cursor.execute("SELECT current_setting('memory_limit')")
    assert adapter.cursor.fetchone()[0] in ("64.0 MB", "61.0 MiB")
    adapter.execute("SET threads = 1")
    adapter.execute(
        "CREATE TABLE sorted AS SELECT range AS id, md5(range::VARCHAR) AS h FROM range(2000000) ORDER BY h"
    )
    adapter.cursor.execute("SELECT count(*), count(DISTINCT id) FROM sorted")
    assert adapter.cursor.fetchone() == (2_000_000, 2_000_000)
    spilled = GatewayFiles.in_home().folder / "transform.duckdb.tmp"
    assert spilled.is_dir()
    adapter.close()

    monkeypatch.setenv("DAGSTER__TRANSFORM__MEMORY_LIMIT", "lots")
    with pytest.raises(SettingsError, match="DAGSTER__TRANSFORM__MEMORY_LIMIT"):
        build_gateway()


def test_dry_run_prints_the_plan_and_applies_nothing(lake: Warehouse) -> None:
    before = snapshots(lake)
    state = transform_flow(dry_run=True, return_state=True)
    assert state.is_completed() and "nothing applied" in state.message
    assert snapshots(lake) == before
    run = run_transform(TransformOptions(dry_run=True))  # still all new: sqlmesh's state was not applied to either
    assert run.plan_text.startswith("plan for environment prod")
    assert "added: " in run.plan_text and "oso.stg_items" in run.plan_text and "to evaluate" in run.plan_text
    assert snapshots(lake) == before


CONCURRENT_LOAD = """
import pandas as pd
from sqlmesh import ExecutionContext, model


@model("oso.concurrent_load", kind="FULL", columns={"loaded": "int"})
def execute(context: ExecutionContext, **kwargs) -> pd.DataFrame:
    # a load committing to the lake while the transform runs
    import polars as pl
    from oso_core.warehouse import Warehouse

    Warehouse().write("shop.items", pl.DataFrame({"id": [9], "name": ["Item9"], "price": [9.0]}), mode="append")
    return pd.DataFrame({"loaded": [1]})
"""
PINNED_READER = """
MODEL (name oso.pinned_items, kind FULL);
SELECT items.id FROM @oso_source('bigquery.shop.items') AS items CROSS JOIN oso.concurrent_load AS load
"""


def test_a_load_committing_during_the_transform_changes_nothing_it_reads(
    lake: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "concurrent", {"pinned_items": PINNED_READER}, {"load": CONCURRENT_LOAD})
    monkeypatch.setenv("DAGSTER__TRANSFORM__PROJECT", str(project))
    pinned = lake.snapshot_id("shop.items")
    state = transform_flow(return_state=True)
    assert state.is_completed(), state.message
    assert lake.read("shop.items").height == 4  # the load landed during the run
    assert sorted(read_table(lake.catalog, "oso.pinned_items")["id"].to_list()) == [1, 2, 3]  # the pinned snapshot
    assert json.loads(properties(lake, "oso.pinned_items")["oso.transform.inputs"]) == {"shop.items": pinned}


def _hold_lock(path: Path) -> subprocess.Popen:
    """Another process holding DuckDB's write lock on ``path`` until its stdin closes."""
    code = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); sys.stdin.read()"
    holder = subprocess.Popen([sys.executable, "-c", code, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    return holder


def test_a_locked_state_database_is_named_and_nothing_changes(lake: Warehouse, oso_home: Path) -> None:
    state_file = oso_home / "transform" / "state.duckdb"
    state_file.parent.mkdir(parents=True, exist_ok=True)
    before = snapshots(lake)
    holder = _hold_lock(state_file)
    try:
        with pytest.raises(TransformError, match="locked by another process") as raised:
            run_transform(TransformOptions())
    finally:
        holder.communicate(timeout=30)
    assert str(state_file) in str(raised.value)
    assert snapshots(lake) == before


@pytest.mark.postgres
def test_sqlmesh_state_lives_in_the_postgres_catalog_database(
    postgres, oso_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = postgres.create_database("transform_state")
    monkeypatch.setenv("DAGSTER__ICEBERG__CATALOG_URI", postgres.url(database))
    monkeypatch.setenv("DAGSTER__TRANSFORM__PROJECT", str(make_project(tmp_path / "p", {"stg_items": STAGING})))
    warehouse = Warehouse()
    warehouse.write("shop.items", items([1, 2]), mode="replace")
    run = run_transform(TransformOptions())
    assert run.state.startswith("postgres ") and "schema sqlmesh" in run.state
    assert [m.state for m in run.models] == ["evaluated"]
    conn = postgres.connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'sqlmesh'")
            tables = {row[0] for row in cur.fetchall()}
    finally:
        conn.close()
    assert {"_snapshots", "_environments"} <= tables
    assert not (oso_home / "transform" / "state.duckdb").exists()


def test_an_unreachable_state_database_is_named_without_its_password(
    lake: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.ports import free_port

    monkeypatch.setenv("DAGSTER__TRANSFORM__STATE_URI", f"postgresql://oso:s3cr3t-pw@127.0.0.1:{free_port()}/state")
    before = snapshots(lake)
    with pytest.raises(TransformError, match="state database is unreachable") as raised:
        run_transform(TransformOptions())
    assert "s3cr3t-pw" not in str(raised.value) and "DAGSTER__TRANSFORM__STATE_URI" in str(raised.value)
    assert "127.0.0.1" in str(raised.value)
    assert snapshots(lake) == before


def test_the_trino_gateway_is_built_from_settings_with_its_secrets(
    oso_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No Trino server (nor client library) here: the connection options and the state come from the settings."""
    import importlib.util

    from oso_core.config import settings
    from oso_core.transform.gateway import build_gateway, trino_options

    monkeypatch.setenv("DAGSTER__TRANSFORM__GATEWAY", "trino")
    with pytest.raises(TransformError, match="DAGSTER__TRANSFORM__STATE_URI"):
        build_gateway()  # the machines Trino serves need one shared state
    monkeypatch.setenv("DAGSTER__TRANSFORM__STATE_URI", "postgresql://sqlmesh:st4te-pw@db.internal:5433/oso")
    with pytest.raises(TransformError, match="DAGSTER__TRANSFORM__TRINO_HOST"):
        build_gateway()
    monkeypatch.setenv("DAGSTER__TRANSFORM__TRINO_HOST", "trino.internal")
    monkeypatch.setenv("DAGSTER__TRANSFORM__TRINO_PORT", "8443")
    monkeypatch.setenv("DAGSTER__TRANSFORM__TRINO_HTTP_SCHEME", "https")
    monkeypatch.setenv("DAGSTER__TRANSFORM__TRINO_PASSWORD", "tr1no-pw")
    assert trino_options(settings.transform()) == {
        "host": "trino.internal", "port": 8443, "user": "sqlmesh", "catalog": "iceberg", "http_scheme": "https",
        "concurrent_tasks": 1, "method": "basic", "password": "tr1no-pw",
    }  # fmt: skip
    if importlib.util.find_spec("trino") is None:
        with pytest.raises(TransformError, match=r"oso-prefect\[trino\]") as raised:
            build_gateway()
        assert "tr1no-pw" not in str(raised.value) and "st4te-pw" not in str(raised.value)
    else:
        plan = build_gateway()
        assert plan.gateway.connection.host == "trino.internal" and plan.gateway.connection.method.is_basic
        state = plan.gateway.state_connection
        assert (state.type_, state.host, state.port, state.database) == ("postgres", "db.internal", 5433, "oso")
        assert "st4te-pw" not in plan.state and "db.internal:5433/oso" in plan.state

    monkeypatch.setenv("DAGSTER__TRANSFORM__STATE_URI", "mysql://sqlmesh:st4te-pw@db.internal/oso")
    with pytest.raises(TransformError) as raised:
        build_gateway()
    assert "needs a Postgres database" in str(raised.value) and "st4te-pw" not in str(raised.value)
    monkeypatch.setenv("DAGSTER__TRANSFORM__STATE_URI", "postgresql://sqlmesh:st4te-pw@/oso")
    with pytest.raises(TransformError, match="needs a host") as raised:
        build_gateway()
    assert "st4te-pw" not in str(raised.value)


STARTER_SOURCES = [
    "ossd", "ossd_github", "defillama", "open_collective", "op_atlas", "gitcoin", "l2beat", "growthepie",
    "chainlist", "openlabelsinitiative", "crypto_ecosystems", "eas_optimism", "ens",
]  # fmt: skip


@pytest.mark.slow
def test_the_starter_project_runs_over_replayed_sources(oso_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository's own project, unchanged, over every source it stages, loaded from their recorded fixtures."""
    from flows.weekly import weekly_flow
    from oso_core.warehouse.query_client import Client
    from tests.support.weekly import replayed

    monkeypatch.delenv("DAGSTER__DISCORD__WEBHOOK_URL", raising=False)
    monkeypatch.setenv("DAGSTER__TRANSFORM__IN_WEEKLY", "false")
    loaded = replayed(weekly_flow, only=STARTER_SOURCES, return_state=True)
    assert loaded.is_completed(), loaded.message
    warehouse = Warehouse()

    state = transform_flow(return_state=True)
    assert state.is_completed(), state.message
    rows = {r["model"]: r for r in artifact(state, SUMMARY_KEY)}
    assert len(rows) >= 20 and {r["published"] for r in rows.values()} == {"published"}, rows
    for model, row in rows.items():
        assert row["table"] == model  # oso.<model> lands as oso.<model>
        assert row["rows"] == sql(warehouse.catalog, f"SELECT count(*) AS n FROM {model}")["n"].item() > 0, model

    # the downstream model: per project, its repositories the lake knows and their stars
    by_project = Client().to_polars(
        "SELECT project_name, repository_count, star_count FROM oso.projects_by_repositories ORDER BY project_name"
    )
    expected = sql(
        warehouse.catalog,
        """
        SELECT p.project_name, COUNT(DISTINCT r.node_id) AS repository_count, COALESCE(SUM(r.star_count), 0) AS stars
        FROM oso.stg_ossd__current_projects p
        LEFT JOIN (SELECT DISTINCT project_name, u FROM (
            SELECT project_name, RTRIM(LOWER(UNNEST(LIST_TRANSFORM(github, g -> g.url))), '/') AS u
            FROM oso.stg_ossd__current_projects)) AS urls ON urls.project_name = p.project_name
        LEFT JOIN oso.stg_ossd__current_repositories r ON r.url = urls.u OR 'https://github.com/' || r.owner = urls.u
        GROUP BY p.project_name ORDER BY p.project_name
        """,
    )
    assert by_project["repository_count"].to_list() == expected["repository_count"].to_list()
    assert by_project["star_count"].to_list() == expected["stars"].cast(pl.Int64).to_list()
    assert by_project["repository_count"].sum() > 0
    assert (
        read_table(warehouse.catalog, "oso.stg_ossd__current_projects").height == warehouse.read("ossd.projects").height
    )

    # EAS: the replayed weeks' 4 attestations, unix seconds as timestamps, a 0 expiration or revocation as NULL
    attestations = sql(
        warehouse.catalog,
        "SELECT id, time, time_created, expiration_time, revocation_time, is_offchain"
        " FROM oso.stg_eas__optimism_attestations ORDER BY time",
    )
    assert attestations.height == 4 == attestations["id"].n_unique()
    first = attestations.row(0, named=True)
    assert first["id"] == "0x0d347301ef56e64dc3cd6089065c3146e80a9c222670bbe4f4c54977656cf2d1"
    assert (first["time"], first["time_created"]) == (
        datetime(2024, 3, 3, 0, 0, 7, tzinfo=UTC),
        datetime(2024, 3, 3, 0, 0, 10, tzinfo=UTC),
    )
    assert first["expiration_time"] is None and first["revocation_time"] is None and first["is_offchain"] is False
    revoked = attestations.filter(pl.col("revocation_time").is_not_null())
    assert revoked["id"].to_list() == ["0x23434556c1e237153dd2ad464cfad0ca708a6a9e3c6a935897b46606247fdaa2"]
    assert revoked["revocation_time"].item() == datetime(2024, 3, 10, 19, 46, 40, tzinfo=UTC)

    # ENS: the 3 domains under snake_case names, their text records joined to them through the resolver's id
    domains = read_table(warehouse.catalog, "oso.stg_ens__domains").sort("name")
    assert domains["name"].to_list() == ["observer.eth", "opensource.eth", "vitalik.eth"]
    vitalik = domains.filter(pl.col("name") == "vitalik.eth").row(0, named=True)
    assert (vitalik["expiry_date"], vitalik["subdomain_count"]) == ("2032743774", 2)
    assert vitalik["owner_address"] == "0x065e5751f75143a5f61debc267b0bc8d3b1939a9"
    assert [s["name"] for s in json.loads(vitalik["subdomains"])] == ["pay.vitalik.eth", "blog.vitalik.eth"]
    records = sql(
        warehouse.catalog,
        """
        SELECT d.name, t.key, t.value, t.block_number FROM oso.stg_ens__text_changeds t
        JOIN oso.stg_ens__domains d ON d.resolver_id = t.resolver_id ORDER BY t.block_number
        """,
    )
    assert sql(warehouse.catalog, "SELECT count(*) AS n FROM oso.stg_ens__text_changeds")["n"].item() == 3
    assert records.rows() == [
        ("opensource.eth", "com.twitter", "opensourceobserver", 19000000),
        ("opensource.eth", "url", "https://www.opensource.observer", 19000007),
        ("vitalik.eth", "avatar", None, 19000014),
    ]


ALPHA_STAGING = """
MODEL (name oso.stg_alpha_items, kind FULL, audits (not_null(columns := (id))));
SELECT CAST(items.id AS BIGINT) AS id, UPPER(items.name) AS name FROM @oso_source('bigquery.alpha.items') AS items
"""


def test_the_weekly_run_transforms_after_its_loads_naming_the_sources_that_failed(
    oso_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from flows.weekly import weekly_flow
    from tests.support.weekly import replayed

    monkeypatch.setenv("OSO_REPLAY_DIR", str(Path(__file__).parent / "support" / "weekly_sources" / "fixtures"))
    monkeypatch.setenv("OSO_SOURCE_PACKAGES", "tests.support.weekly_sources")
    monkeypatch.setenv("WEEKLY_TEST_SLEEP", "0")
    monkeypatch.delenv("DAGSTER__DISCORD__WEBHOOK_URL", raising=False)
    monkeypatch.setenv("DAGSTER__TRANSFORM__PROJECT", str(make_project(tmp_path / "p", {"stg": ALPHA_STAGING})))
    monkeypatch.setenv("DAGSTER__TRANSFORM__IN_WEEKLY", "true")
    warehouse = Warehouse()

    state = replayed(weekly_flow, only=["alpha", "broken"], return_state=True)
    assert state.is_failed() and "failed: broken;" in state.message  # the transform itself succeeded
    assert "transform" not in state.message.split("first error:")[0]
    assert "the tables of broken (failed this run) are read at their last good snapshot" in caplog.text
    assert "transform: Completed: 1 models: 1 published" in caplog.text
    published = read_table(warehouse.catalog, "oso.stg_alpha_items").sort("id")
    assert published["name"].to_list() == ["ONE", "TWO", "THREE"]
    assert json.loads(properties(warehouse, "oso.stg_alpha_items")["oso.transform.inputs"]) == {
        "alpha.items": warehouse.snapshot_id("alpha.items")
    }

    before = warehouse.snapshot_id("oso.stg_alpha_items")
    skipped = replayed(weekly_flow, only=["alpha"], transform=False, return_state=True)
    assert skipped.is_completed() and "transform" not in skipped.message
    monkeypatch.setenv("DAGSTER__TRANSFORM__IN_WEEKLY", "false")
    assert replayed(weekly_flow, only=["alpha"], return_state=True).is_completed()
    assert warehouse.snapshot_id("oso.stg_alpha_items") == before


def test_a_dev_environment_runs_but_publishes_nothing(lake: Warehouse) -> None:
    before = snapshots(lake)
    state = transform_flow(environment="dev", return_state=True)
    assert state.is_completed(), state.message
    assert snapshots(lake) == before and not lake.exists("oso.stg_items")
    rows = {r["model"]: r for r in artifact(state, SUMMARY_KEY)}
    assert rows["oso.stg_items"]["state"] == "evaluated" and rows["oso.stg_items"]["published"] == "not published"


def test_select_runs_only_the_chosen_models_and_restate_recomputes_a_tag_and_its_downstream(
    lake: Warehouse, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """The CLI's ``--select`` and ``--restate`` (OSO's restate jobs by tag), as sqlmesh model selections."""
    from flows.transform import main

    project = tmp_path / "project"
    (project / "models" / "item_count.sql").write_text(INDEPENDENT)
    staging = project / "models" / "stg_items.sql"
    staging.write_text(STAGING.replace("kind FULL,", 'kind FULL,\n  tags ("entity_category=item"),'))

    assert main(["--select", "oso.stg_items"]) == 0
    assert lake.exists("oso.stg_items")
    assert not lake.exists("oso.item_totals") and not lake.exists("oso.item_count")  # not selected: not run
    assert main([]) == 0  # the rest of the project
    before = snapshots(lake)
    assert {"oso.item_totals", "oso.item_count"} <= set(before)

    run = run_transform(TransformOptions(restate=("tag:entity_category=item",)))
    assert not run.failed, [m.error for m in run.failed]
    states = {m.model: m.state for m in run.models}
    assert states == {"oso.stg_items": "evaluated", "oso.item_totals": "evaluated", "oso.item_count": "current"}
    assert run_transform(TransformOptions()).models and all(  # nothing restated: nothing evaluated
        m.state == "current" for m in run_transform(TransformOptions()).models
    )

    caplog.clear()
    assert main(["--restate", "tag:entity_category=item"]) == 0  # recomputed, same content: nothing published
    assert "restated as asked (and their downstream): tag:entity_category=item" in caplog.text
    assert "lake inputs moved" not in caplog.text
    assert "3 models: 0 published, 3 unchanged, 0 failed" in caplog.text
    assert snapshots(lake) == before

    for flag in ("--select", "--restate"):  # a selection matching no model fails the run, naming it
        assert main([flag, "tag:entity_category=nothing"]) == 1
        expected = f"sqlmesh could not plan environment prod ({flag} tag:entity_category=nothing)"
        assert expected in capsys.readouterr().err
    assert snapshots(lake) == before


def test_a_published_model_is_as_fresh_as_its_inputs_and_the_freshness_flow_lists_it(
    lake: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up to date, a model is fresh however old its commit; behind a newer input commit for longer than the
    transform's cadence (daily: 36 hours) it is stale, until a run sees that commit (a new snapshot or, the content
    unchanged, the inputs recorded)."""
    from datetime import timedelta

    from flows.freshness import freshness_flow
    from oso_core.ops.freshness import FRESH, STALE, model_ages

    assert transform_flow(return_state=True).is_completed()
    much_later = datetime.now(UTC) + timedelta(days=30)
    ages = {a.table: a for a in model_ages(lake.catalog, "oso", "0 5 * * *", much_later)}
    assert set(ages) == {"oso.stg_items", "oso.item_totals"}
    assert {a.status for a in ages.values()} == {FRESH}
    assert ages["oso.stg_items"].as_row()["age"] == "up to date with its inputs"

    lake.write("shop.items", items([1, 2, 3]), mode="replace")  # a load the transform has not seen (same rows)
    moved_at = datetime.fromtimestamp(
        lake.catalog.load_table("shop.items").current_snapshot().timestamp_ms / 1000, tz=UTC
    )
    soon = {a.table: a for a in model_ages(lake.catalog, "oso", "0 5 * * *", moved_at + timedelta(hours=35))}
    assert {a.status for a in soon.values()} == {FRESH} and soon["oso.item_totals"].behind_since == moved_at
    late = {a.table: a for a in model_ages(lake.catalog, "oso", "0 5 * * *", moved_at + timedelta(hours=37))}
    assert {a.status for a in late.values()} == {STALE}
    row = late["oso.stg_items"].as_row()
    assert (row["age"], row["expected"], row["source"]) == ("37h behind its inputs", "36h", "transform (0 5 * * *)")

    monkeypatch.setenv("OSO_SOURCE_PACKAGES", "tests.support.weekly_sources")
    monkeypatch.delenv("DAGSTER__DISCORD__WEBHOOK_URL", raising=False)
    state = freshness_flow(now=moved_at + timedelta(hours=37), return_state=True)
    assert state.is_completed(), state.message
    listed = {r["table"]: r["status"] for r in state.result()}
    assert listed["oso.stg_items"] == listed["oso.item_totals"] == STALE
    assert "oso.stg_items" not in {  # narrowed to sources, the models are not checked
        r["table"] for r in freshness_flow(sources=["alpha"], now=moved_at, return_state=True).result()
    }

    before = snapshots(lake)
    assert transform_flow(return_state=True).is_completed()  # same content: the new inputs recorded, no commit
    assert snapshots(lake) == before
    assert {a.status for a in model_ages(lake.catalog, "oso", "0 5 * * *", much_later)} == {FRESH}

    # maintenance covers the published tables as any other (every table of the lake): expiring the input's old
    # snapshots keeps the models fresh and readable, and the next transform still finds nothing to publish
    from flows.maintenance import maintenance_flow

    assert maintenance_flow(retention_days=0, keep_last=1, return_state=True).is_completed()
    assert len(lake.catalog.load_table("shop.items").metadata.snapshots) == 1
    assert {a.status for a in model_ages(lake.catalog, "oso", "0 5 * * *", much_later)} == {FRESH}
    assert read_table(lake.catalog, "oso.item_totals").to_dicts() == [{"items": 3, "total": 6.0}]
    assert transform_flow(return_state=True).is_completed() and snapshots(lake) == before
