"""The toolbox of ``SourceRun`` (``oso_core.engine.toolbox``): secrets and masks, clients reading their settings,
fan-out into the summary, windows written and finished by the engine, declared dedupe and migrations."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from oso_core.engine.flow import SourceRun, source_flow
from oso_core.engine.windows import FaultyWindowsError
from oso_core.errors import Skipped, SourceError
from oso_core.model.sources import Source, TableSpec, WindowGrid
from oso_core.transport.graphql import PageRetry

DEMO = Source(name="demo_run", tables=(TableSpec("t"),), flow="none", base_url="http://127.0.0.1:9/api")


def test_secret_resolves_and_every_client_of_the_run_masks_it(monkeypatch) -> None:
    monkeypatch.setenv("DAGSTER__DEMO_RUN__API_KEY", "s3cr3t-value")
    run = SourceRun(DEMO)
    assert run.secret("demo_run", "api_key") == "s3cr3t-value"
    assert run.masks == ["s3cr3t-value"]
    run.secret("demo_run", "api_key")
    assert run.masks == ["s3cr3t-value"], "a secret is masked once"
    with run.http() as http:
        assert http.masked("GET /s3cr3t-value/x failed") == "GET /***/x failed"
    with run.graphql(mask=("other",)) as gql:
        assert gql.masked("s3cr3t-value and other") == "*** and ***"
    with run.jsonrpc("http://127.0.0.1:9/rpc") as rpc:
        assert rpc.http.masked("s3cr3t-value") == "***"
    with pytest.raises(TypeError):
        run.secret("demo_run")


def test_clients_read_the_source_settings(monkeypatch) -> None:
    monkeypatch.setenv("DAGSTER__DEMO_RUN__MIN_INTERVAL", "0.25")
    monkeypatch.setenv("DAGSTER__DEMO_RUN__RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("DAGSTER__DEMO_RUN__PAGE_INTERVAL", "0.5")
    run = SourceRun(DEMO)
    with run.http() as http:
        assert (http.min_interval, http.base_url) == (0.25, "http://127.0.0.1:9/api")
    with run.http(url="http://127.0.0.1:9/other", min_interval=0) as other:
        assert (other.min_interval, other.base_url) == (0, "http://127.0.0.1:9/other"), "explicit values win"
    with run.jsonrpc("http://127.0.0.1:9/rpc", batch_size=7) as rpc:
        assert (rpc.http.min_interval, rpc.batch_size) == (0.25, 7)
    with run.graphql(retry=PageRetry(attempts=9, shrink=0.5), default_interval=2.0) as gql:
        assert (gql.retry.attempts, gql.retry.shrink, gql.min_interval) == (2, 0.5, 0.5)
    with run.graphql(page_interval=0.0) as gql:
        assert gql.min_interval == 0.0, "the flow's explicit page interval wins over the setting"


def test_graphql_defaults_without_settings() -> None:
    with SourceRun(DEMO).graphql(retry=PageRetry(attempts=9), default_interval=2.0) as gql:
        assert (gql.retry.attempts, gql.min_interval, gql.endpoint) == (9, 2.0, "http://127.0.0.1:9/api")


def test_fan_out_lists_skips_in_the_summary_and_fails_on_errors() -> None:
    run = SourceRun(DEMO)

    def fetch(item: int) -> int:
        if item == 2:
            raise Skipped(f"/x/{item}", 404)
        return item * 10

    found = run.fan_out([1, 2, 3], fetch, endpoint="/x/{item}", skipped_as="t")
    assert found.values() == [10, 30]
    assert run.summary.skipped == ["t: 2 (HTTP 404)"]

    def failing(item: int) -> int:
        raise ValueError(f"bad {item}")

    with pytest.raises(SourceError, match=r"/x/\{item\}.*2 item\(s\) failed: a: bad a; b: bad b"):
        run.fan_out(["a", "b"], failing, endpoint="/x/{item}")
    assert run.summary.skipped == ["t: 2 (HTTP 404)"], "nothing skipped is added by a failed fan-out"


WINDOWED = Source(
    name="demo_windows",
    tables=(
        TableSpec("a", mode="merge", key=("id",)),
        TableSpec("b", mode="merge", key=("id",)),
        TableSpec("c", mode="replace"),
    ),
    flow="none",
    windows=WindowGrid(start=date(2024, 1, 7)),
)


@source_flow(WINDOWED)
def windowed_flow(run: SourceRun, fail_day: str | None = None) -> dict[str, pl.DataFrame]:
    def extract(window) -> dict[str, pl.DataFrame]:
        if window.key == fail_day:
            raise RuntimeError("node kept failing")
        return {"a": pl.DataFrame({"id": [window.key]}), "b": pl.DataFrame({"id": [window.key, window.key + "x"]})}

    run.load_windows(("a", "b"), extract, start="2024-01-07", end="2024-01-21")
    run.load_windows("a", lambda window: pl.DataFrame({"id": [window.key]}), start="2024-01-21", end="2024-01-28")
    return {"c": pl.DataFrame({"n": [1]})}


def test_windows_of_several_tables_are_written_and_finished_by_the_engine(oso_home, warehouse) -> None:
    summary = windowed_flow()
    assert sorted(warehouse.read("demo_windows.a")["id"].to_list()) == ["2024-01-07", "2024-01-14", "2024-01-21"]
    assert warehouse.read("demo_windows.b").height == 4
    assert warehouse.read("demo_windows.c").height == 1, "the returned table is written too"
    assert [n for n in summary.notes if "window(s)" in n] == [
        "a: 3 window(s): 3 loaded, 0 partial (still open, reloaded next run), 0 faulty; 3 rows",
        "b: 2 window(s): 2 loaded, 0 partial (still open, reloaded next run), 0 faulty; 4 rows",
    ]


def test_a_failed_window_extract_is_faulty_in_each_of_its_tables(oso_home, warehouse) -> None:
    with pytest.raises(FaultyWindowsError, match="a 2024-01-14, b 2024-01-14") as failed:
        windowed_flow(fail_day="2024-01-14")
    assert sorted(warehouse.read("demo_windows.b")["id"].to_list()) == ["2024-01-07", "2024-01-07x"]
    assert "FAULTY b window 2024-01-14..2024-01-21: RuntimeError: node kept failing" in failed.value.summary.notes


def _migrate(catalog) -> list[str]:
    assert catalog is not None
    return ["renamed demo_dedupe.old to demo_dedupe.t"]


DEDUPED = Source(
    name="demo_dedupe",
    tables=(TableSpec("t", mode="merge", key=("id",), dedupe="last"),),
    flow="none",
    migrations=(_migrate,),
)


@source_flow(DEDUPED)
def deduped_flow(run: SourceRun, fail: bool = False) -> dict[str, pl.DataFrame]:
    assert run.summary.notes == ["renamed demo_dedupe.old to demo_dedupe.t"], "migrations run before the load"
    if fail:
        run.summary.notes.append("part failed")
        run.fail_after_load(RuntimeError("one part failed"))
    return {"t": pl.DataFrame({"id": [1, 1, 2], "v": ["first", "last", "x"]})}


def test_declared_dedupe_keeps_the_last_row_and_migrations_run_first(oso_home, warehouse) -> None:
    summary = deduped_flow()
    assert summary.notes == [
        "renamed demo_dedupe.old to demo_dedupe.t",
        "t: 1 row(s) repeat a key ('id',); the last is kept",
    ]
    assert warehouse.read("demo_dedupe.t").sort("id").to_dicts() == [{"id": 1, "v": "last"}, {"id": 2, "v": "x"}]


def test_a_deferred_error_fails_the_run_after_the_writes(oso_home, warehouse) -> None:
    with pytest.raises(RuntimeError, match="one part failed"):
        deduped_flow(fail=True)
    assert warehouse.read("demo_dedupe.t").height == 2, "the tables were written before the run failed"


def test_dedupe_must_be_known() -> None:
    with pytest.raises(ValueError, match="dedupe must be"):
        TableSpec("t", dedupe="first")  # type: ignore[arg-type]


def test_declared_migrations_are_values_read_alike_from_text_and_import() -> None:
    """``Source.migrations`` are data, so a declaration read from its text equals the imported one."""
    from oso_core.model.migrations import CallFunction, DropColumnsUnless, RenameColumns

    assert RenameColumns("t", {"b": "B", "a": "A"}) == RenameColumns("t", [("a", "A"), ("b", "B")])
    assert DropColumnsUnless("t", ["y", "x"], type_name="string").columns == ("x", "y")
    with pytest.raises(ValueError, match="expected 'package.module:function'"):
        CallFunction("flows.ossd.migration.migrate_table_names")


def test_a_declared_function_migration_is_imported_only_when_applied(oso_home, warehouse) -> None:
    from oso_core.model.migrations import CallFunction

    migration = CallFunction("flows.ossd.migration:migrate_table_names")
    assert migration.apply(warehouse.catalog, None) == []  # an empty lake: nothing to rename
