"""Data-quality gates: checks run on the staged data before the commit; a failure commits nothing.

Real Iceberg tables in a temporary lake, a real source flow on the session's Prefect server, read back with
DuckDB (``warehouse.sql``) and the catalog's snapshot properties.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, FlowRunFilter

from oso_core.engine.cli import run_source_cli
from oso_core.engine.flow import SourceRun, source_flow
from oso_core.model.sources import Source, TableSpec
from oso_core.warehouse import QualityGateError, Warehouse, WarehouseError
from oso_core.warehouse.quality import (
    AcceptedValues,
    Expression,
    NotEmpty,
    NotNull,
    RowCountChange,
    Unique,
    accepting,
)

SOURCE = Source(
    name="gated",
    tables=(
        TableSpec("items", mode="replace", key=("id",), checks=(Unique("id"), NotNull("name"))),
        TableSpec("events", mode="merge", key=("id",), checks=(AcceptedValues("kind", {"a", "b"}),)),
    ),
    flow="gated_flow",
)


def items(rows: int, duplicate: bool = False) -> pl.DataFrame:
    ids = list(range(rows))
    if duplicate and rows > 1:
        ids[-1] = ids[0]
    return pl.DataFrame({"id": ids, "name": [f"n{i}" for i in range(rows)]}, schema={"id": pl.Int64, "name": pl.String})


@source_flow(SOURCE)
def gated_flow(run: SourceRun, rows: int = 10, duplicate: bool = False) -> dict[str, pl.DataFrame]:
    """A source whose one table is as many rows as asked for."""
    return {"items": items(rows, duplicate)}


def properties(warehouse: Warehouse, table: str) -> dict[str, str]:
    snapshot = warehouse.catalog.load_table(table).current_snapshot()
    assert snapshot is not None and snapshot.summary is not None
    return dict(snapshot.summary.additional_properties)


def lake_files(oso_home: Path, table: str) -> set[Path]:
    namespace, name = table.split(".")
    return {p for p in (oso_home / "warehouse" / namespace / name).rglob("*") if p.is_file()}


# -- each check kind ----------------------------------------------------------------------------------------------
CASES = [
    (
        Unique("id"),
        pl.DataFrame({"id": [1, 2, 2, 3, 3, 3]}),
        "s.t: 2 duplicated key(s) of (id) in 6 rows, e.g. (id=2) "
        "(check unique_id; to let this run through once: --accept s.t:unique_id)",
        {"duplicate_keys": 2},
    ),
    (
        Unique("a", "b"),
        pl.DataFrame({"a": [1, 1, 2], "b": ["x", "x", "x"]}),
        "s.t: 1 duplicated key(s) of (a, b) in 3 rows, e.g. (a=1, b='x') "
        "(check unique_a_b; to let this run through once: --accept s.t:unique_a_b)",
        {"duplicate_keys": 1},
    ),
    (
        NotNull("name", "kind"),
        pl.DataFrame({"name": ["a", None, None], "kind": ["x", "y", None]}),
        "s.t: name has 2 null(s), kind has 1 null(s) in 3 rows "
        "(check not_null_name_kind; to let this run through once: --accept s.t:not_null_name_kind)",
        {"nulls_name": 2, "nulls_kind": 1},
    ),
    (
        AcceptedValues("kind", {"a", "b"}),
        pl.DataFrame({"kind": ["a", "c", None, "d", "c"]}),
        "s.t: 3 of 5 rows have a kind outside the accepted values, e.g. 'c', 'd' "
        "(check accepted_values_kind; to let this run through once: --accept s.t:accepted_values_kind)",
        {"rejected_rows": 3},
    ),
    (
        Expression("amount >= 0", name="amount_not_negative"),
        pl.DataFrame({"amount": [1.0, -2.0, None, -0.5]}),
        "s.t: 2 of 4 rows fail amount >= 0 "
        "(check amount_not_negative; to let this run through once: --accept s.t:amount_not_negative)",
        {"failed_rows": 2},
    ),
    (
        Expression(pl.col("start") <= pl.col("end"), name="ordered", description="start <= end"),
        pl.DataFrame({"start": [1, 5], "end": [2, 3]}),
        "s.t: 1 of 2 rows fail start <= end (check ordered; to let this run through once: --accept s.t:ordered)",
        {"failed_rows": 1},
    ),
    (
        Expression(lambda frame: frame["url"].str.starts_with("https://"), name="https"),
        pl.DataFrame({"url": ["https://a", "http://b", "ftp://c"]}),
        "s.t: 2 of 3 rows fail <lambda> (check https; to let this run through once: --accept s.t:https)",
        {"failed_rows": 2},
    ),
]


@pytest.mark.parametrize(("check", "bad", "message", "counts"), CASES, ids=[c[0].name for c in CASES])
def test_each_check_kind_fails_with_the_table_check_and_counts(
    warehouse: Warehouse, check, bad: pl.DataFrame, message: str, counts: dict[str, int]
) -> None:
    with pytest.raises(QualityGateError) as raised:
        warehouse.write("s.t", bad, mode="append", checks=[check])
    error = raised.value
    assert str(error) == message
    assert isinstance(error, WarehouseError)
    assert (error.table, error.check, error.counts) == ("s.t", check.name, counts)
    assert error.mode == "append" and error.rows == bad.height
    assert not warehouse.exists("s.t")  # a refused first write creates nothing

    good = bad.drop_nulls() if not isinstance(check, NotNull) else bad.fill_null("z")
    good = good.unique(maintain_order=True)
    if isinstance(check, (AcceptedValues, Expression)):
        good = good.filter(pl.lit(False))  # no row left to break the rule
    result = warehouse.write("s.t", good, mode="append", checks=[check])
    (passed,) = result.checks
    assert (passed.check, passed.passed) == (check.name, True)
    assert json.loads(properties(warehouse, "s.t")["oso.checks"])[0]["status"] == "ok"


def test_unique_and_not_null_pass_and_record_what_they_saw(warehouse: Warehouse) -> None:
    result = warehouse.write("s.t", items(5), mode="replace", checks=[Unique("id"), NotNull("name")])
    assert [(c.check, c.status, c.detail) for c in result.checks] == [
        ("zero_rows", "ok", "5 rows"),
        ("row_drop", "ok", "5 rows (the table had none)"),
        ("unique_id", "ok", "5 unique key(s)"),
        ("not_null_name", "ok", "no nulls in name"),
    ]
    recorded = json.loads(properties(warehouse, "s.t")["oso.checks"])
    assert recorded[2] == {"check": "unique_id", "status": "ok", "detail": "5 unique key(s)", "duplicate_keys": 0}
    assert "oso.accepted" not in properties(warehouse, "s.t")


def test_a_missing_column_fails_its_check(warehouse: Warehouse) -> None:
    with pytest.raises(QualityGateError, match=r"s.t: column 'name' is missing from the data \(check not_null_name"):
        warehouse.write("s.t", pl.DataFrame({"id": [1]}), checks=[NotNull("name")])
    with pytest.raises(QualityGateError, match=r"s.t: amount >= 0 could not be evaluated: ColumnNotFoundError"):
        warehouse.write("s.t", pl.DataFrame({"id": [1]}), checks=[Expression("amount >= 0")])


def test_declared_checks_are_checked_when_declared() -> None:
    with pytest.raises(ValueError, match="two checks share a name"):
        TableSpec("t", checks=(Unique("id"), Unique("id")))
    with pytest.raises(Exception, match="amount >>"):
        Expression("amount >> = 0")


# -- a failed gate commits nothing --------------------------------------------------------------------------------
def test_a_failed_gate_leaves_the_previous_snapshot_and_no_stray_files(warehouse: Warehouse, oso_home: Path) -> None:
    first = warehouse.write("s.t", items(4), mode="replace", checks=[Unique("id")])
    files = lake_files(oso_home, "s.t")

    def batches() -> Iterator[pl.DataFrame]:
        yield items(3)
        yield pl.DataFrame({"id": [0, 7], "name": ["again", "new"]})  # id 0 is in the first batch too

    for mode in ("replace", "append"):
        with pytest.raises(QualityGateError, match=r"^s.t: 1 duplicated key\(s\) of \(id\) in 5 rows, e.g. \(id=0\)"):
            warehouse.write("s.t", batches(), mode=mode, checks=[Unique("id")])
        assert warehouse.snapshot_id("s.t") == first.snapshot_id
        assert lake_files(oso_home, "s.t") == files  # staged data files deleted; no manifest or metadata written
    assert warehouse.sql("SELECT id FROM s.t ORDER BY id")["id"].to_list() == [0, 1, 2, 3]


# -- the defaults of every replace --------------------------------------------------------------------------------
def test_a_replace_may_not_empty_a_table_or_drop_over_half_of_it(warehouse: Warehouse, oso_home: Path) -> None:
    warehouse.write("npm.manifests", pl.DataFrame({"name": pl.Series([], dtype=pl.String)}), mode="replace")
    assert warehouse.sql("SELECT count(*) AS n FROM npm.manifests")["n"][0] == 0  # an empty first load is fine
    first = warehouse.write("npm.manifests", items(1204), mode="replace")
    files = lake_files(oso_home, "npm.manifests")

    with pytest.raises(QualityGateError) as emptied:
        warehouse.write("npm.manifests", items(0), mode="replace")
    assert str(emptied.value) == (
        "npm.manifests: replace would drop 100% of 1,204 rows, leaving the table empty "
        "(check zero_rows; to let this run through once: --accept npm.manifests:zero_rows)"
    )
    assert emptied.value.counts == {"rows_before": 1204, "rows_after": 0}

    with pytest.raises(QualityGateError) as dropped:
        warehouse.write("npm.manifests", items(500), mode="replace")
    assert str(dropped.value) == (
        "npm.manifests: replace would drop 58.5% of 1,204 rows (to 500; at most 50% allowed) "
        "(check row_drop; to let this run through once: --accept npm.manifests:row_drop)"
    )
    assert (dropped.value.check, dropped.value.counts) == ("row_drop", {"rows_before": 1204, "rows_after": 500})
    assert warehouse.snapshot_id("npm.manifests") == first.snapshot_id
    assert lake_files(oso_home, "npm.manifests") == files

    half = warehouse.write("npm.manifests", items(602), mode="replace")  # exactly half: allowed
    assert [c.detail for c in half.checks if c.check == "row_drop"] == ["1,204 → 602 rows"]
    # the defaults are for replaces: appends and merges never drop rows
    assert warehouse.write("npm.manifests", items(0), mode="append").checks == ()


def test_a_declared_row_count_check_replaces_the_default(warehouse: Warehouse) -> None:
    warehouse.write("s.t", items(100), mode="replace")
    loose = [RowCountChange(max_drop=0.95, max_growth=1.0)]
    result = warehouse.write("s.t", items(10), mode="replace", checks=loose)
    assert [c.check for c in result.checks] == ["zero_rows", "row_drop"]
    with pytest.raises(QualityGateError, match=r"s.t: replace would grow 10 rows by 110% \(to 21; at most 100%"):
        warehouse.write("s.t", items(21), mode="replace", checks=loose)
    with pytest.raises(QualityGateError, match="check zero_rows"):  # loosening row_drop keeps zero_rows
        warehouse.write("s.t", items(0), mode="replace", checks=loose)
    result = warehouse.write("s.t", items(0), mode="replace", checks=[NotEmpty(modes=())])  # a table may opt out
    assert [c.check for c in result.checks] == ["row_drop"]  # from 10 to 0: row_drop leaves emptying to zero_rows


# -- streamed batches ---------------------------------------------------------------------------------------------
def test_checks_tally_streamed_batches(warehouse: Warehouse) -> None:
    def batches() -> Iterator[pl.DataFrame]:
        for start in range(0, 50_000, 10_000):
            frame = pl.DataFrame({"id": pl.int_range(start, start + 10_000, eager=True)})
            yield frame.with_columns(
                name=pl.when(pl.col("id") % 1000 == 0).then(None).otherwise(pl.col("id").cast(str))
            )

    result = warehouse.write("s.t", batches(), mode="replace", checks=[Unique("id")])
    assert result.rows_written == 50_000 and [c.passed for c in result.checks] == [True, True, True]

    with pytest.raises(QualityGateError, match=r"s.t: name has 50 null\(s\) in 50,000 rows"):
        warehouse.write("s.t", batches(), mode="replace", checks=[NotNull("name")])

    def repeating() -> Iterator[pl.DataFrame]:
        yield from batches()
        yield pl.DataFrame({"id": [42, 43, 44], "name": ["a", "b", "c"]})  # three ids the first batch had

    with pytest.raises(QualityGateError) as raised:
        warehouse.write("s.t", repeating(), mode="replace", checks=[Unique("id")])
    assert str(raised.value).startswith("s.t: 3 duplicated key(s) of (id) in 50,003 rows, e.g. (id=42)")
    assert raised.value.counts == {"duplicate_keys": 3}
    assert warehouse.sql("SELECT count(*) AS n FROM s.t")["n"][0] == 50_000


# -- accepting a failed check once --------------------------------------------------------------------------------
def test_accept_lets_one_write_through_and_records_it(warehouse: Warehouse) -> None:
    warehouse.write("s.t", items(10), mode="replace")
    with accepting(["s.t:row_drop", "s.other:row_drop"]) as acceptance:
        result = warehouse.write("s.t", items(2), mode="replace")
    assert [(c.check, c.status) for c in result.checks] == [("zero_rows", "ok"), ("row_drop", "accepted")]
    props = properties(warehouse, "s.t")
    assert props["oso.accepted"] == "row_drop"
    assert json.loads(props["oso.checks"])[1] == {
        "check": "row_drop",
        "status": "accepted",
        "detail": "replace would drop 80% of 10 rows (to 2; at most 50% allowed)",
        "rows_before": 10,
        "rows_after": 2,
    }
    assert acceptance.unused == ["s.other:row_drop"]
    # accepting one check accepts no other
    with pytest.raises(QualityGateError, match="check zero_rows"), accepting(["s.t:row_drop"]):
        warehouse.write("s.t", items(0), mode="replace")
    with pytest.raises(ValueError, match=r"accept takes <namespace>.<table>:<check>"), accepting(["row_drop"]):
        pass


def test_the_accept_run_parameter_lets_one_run_through(warehouse: Warehouse) -> None:
    gated_flow(rows=10)
    state = gated_flow(rows=3, return_state=True)
    assert state.is_failed() and "gated.items: replace would drop 70% of 10 rows" in (state.message or "")
    assert warehouse.sql("SELECT count(*) AS n FROM gated.items")["n"][0] == 10

    summary = gated_flow(rows=3, accept=["gated.items:row_drop"])  # this run only
    assert warehouse.sql("SELECT count(*) AS n FROM gated.items")["n"][0] == 3
    assert properties(warehouse, "gated.items")["oso.accepted"] == "row_drop"
    assert summary.notes == []

    state = gated_flow(rows=1, return_state=True)  # the next run is gated again
    assert state.is_failed() and "would drop 66.7% of 3 rows" in (state.message or "")

    # the command line derived from the flow's signature has --accept too
    assert run_source_cli(SOURCE, gated_flow, ["--rows", "1", "--accept", "gated.items:row_drop"]) == 0
    assert warehouse.sql("SELECT count(*) AS n FROM gated.items")["n"][0] == 1
    assert run_source_cli(SOURCE, gated_flow, ["--rows", "2", "--duplicate"]) == 1
    summary = gated_flow(rows=1, accept=["gated.items:unique_id"])
    assert summary.notes == ["accepted but no write needed it: gated.items:unique_id"]


# -- results in the run summary artifact ----------------------------------------------------------------------------
def summary_artifact(flow_run_id) -> tuple[list[dict], str]:
    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(key={"any_": ["gated-load-summary"]}),
            flow_run_filter=FlowRunFilter(id={"any_": [flow_run_id]}),
        )
    rows = artifact.data if isinstance(artifact.data, list) else json.loads(artifact.data)
    return rows, artifact.description or ""


def test_every_run_publishes_its_check_results(warehouse: Warehouse) -> None:
    state = gated_flow(rows=4, return_state=True)
    assert state.is_completed()
    rows, _ = summary_artifact(state.state_details.flow_run_id)
    assert rows == [
        {
            "table": "gated.items",
            "mode": "replace",
            "rows": 4,
            "snapshot_id": str(warehouse.snapshot_id("gated.items")),
            "seconds": rows[0]["seconds"],
            "checks": "zero_rows ok, row_drop ok, unique_id ok, not_null_name ok",
        }
    ]

    state = gated_flow(rows=4, duplicate=True, return_state=True)
    assert state.is_failed()
    rows, _ = summary_artifact(state.state_details.flow_run_id)
    assert rows == [
        {
            "table": "gated.items",
            "mode": "replace (refused)",
            "rows": 4,
            "snapshot_id": "",
            "seconds": 0.0,
            "checks": "zero_rows ok, row_drop ok, unique_id failed (1 duplicated key(s) of (id) in 4 rows, e.g. "
            "(id=0)), not_null_name ok",
        }
    ]
    assert warehouse.sql("SELECT id FROM gated.items ORDER BY id")["id"].to_list() == [0, 1, 2, 3]


def test_table_checks_reach_merges_through_write_table(warehouse: Warehouse) -> None:
    frame = pl.DataFrame({"id": [1, 2], "kind": ["a", "z"]})
    with pytest.raises(QualityGateError, match=r"^gated.events: 1 of 2 rows have a kind outside the accepted values"):
        warehouse.write_table(SOURCE, "events", frame)
    result = warehouse.write_table(SOURCE, "events", frame.with_columns(kind=pl.lit("b")))
    assert [(c.check, c.status) for c in result.checks] == [("accepted_values_kind", "ok")]


# -- checks in a described (YAML) source ----------------------------------------------------------------------------
DESCRIBED = """
name: described
client: {base_url: https://example.invalid}
resources:
  - name: chains
    endpoint: /chains
    fields: {id: bigint, name: text, kind: text}
    checks:
      unique: [id, [name, kind]]
      not_null: [name]
      accepted_values: {kind: [l1, l2]}
      expressions: {positive_id: "id > 0"}
      max_row_drop: 0.9
"""


def test_a_described_source_declares_checks_in_its_yaml(tmp_path: Path, warehouse: Warehouse) -> None:
    from oso_core.kinds.rest_model import DescriptionError
    from oso_core.kinds.rest_source import build_source, read_description

    file = tmp_path / "source.yaml"
    file.write_text(DESCRIBED)
    source = build_source(read_description(file)[0])
    checks = source.table("chains").checks
    assert [c.name for c in checks] == [
        "unique_id",
        "unique_name_kind",
        "not_null_name",
        "accepted_values_kind",
        "positive_id",
        "row_drop",
    ]
    frame = pl.DataFrame({"id": [1, -2], "name": ["a", "b"], "kind": ["l1", "l2"]})
    with pytest.raises(QualityGateError, match=r"^described.chains: 1 of 2 rows fail id > 0 \(check positive_id"):
        warehouse.write_table(source, "chains", frame)

    file.write_text(DESCRIBED.replace('"id > 0"', '"id >>> 0"'))
    with pytest.raises(DescriptionError, match=r"resources\[0\].checks.expressions: .*'positive_id' is not valid SQL"):
        read_description(file)
