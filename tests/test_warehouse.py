"""Every write mode on the embedded SQLite lake, read back through DuckDB (an independent Iceberg reader)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from oso_core.warehouse import Warehouse, WarehouseError
from oso_core.warehouse.quality import accepting

T0 = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday


def events(ids: range | list[int], value: str = "a", start: datetime = T0, step: timedelta = timedelta(hours=6)):
    ids = list(ids)
    return pl.DataFrame(
        {
            "id": ids,
            "value": [value] * len(ids),
            "created_at": [start + step * i for i in range(len(ids))],
        }
    )


def rows(warehouse: Warehouse, table: str) -> pl.DataFrame:
    return warehouse.sql(f"SELECT * FROM {table} ORDER BY id")


def test_append_adds_rows_and_records_the_source_in_the_snapshot(warehouse: Warehouse):
    first = warehouse.write("gh.events", events(range(5)), mode="append", source="github")
    second = warehouse.write("gh.events", events(range(5, 8)), mode="append", source="github")

    assert rows(warehouse, "gh.events")["id"].to_list() == list(range(8))
    assert second.snapshot_id != first.snapshot_id
    snapshot = warehouse.catalog.load_table("gh.events").current_snapshot()
    assert snapshot.summary["oso.source"] == "github"
    assert snapshot.summary["oso.rows"] == "3"
    assert snapshot.summary["oso.mode"] == "append"
    assert "oso.flow_run_id" in snapshot.summary.additional_properties


def test_replace_makes_the_table_exactly_the_data(warehouse: Warehouse):
    warehouse.write("s.t", events(range(10)), mode="replace")
    with accepting(["s.t:row_drop"]):  # 10 → 2 rows: the default gate refuses such a drop unless accepted
        result = warehouse.write("s.t", events([42, 43], value="b"), mode="replace")

    got = rows(warehouse, "s.t")
    assert got["id"].to_list() == [42, 43]
    assert set(got["value"]) == {"b"}
    assert result.rows_replaced == 10


def test_merge_updates_existing_keys_and_inserts_new_ones(warehouse: Warehouse):
    warehouse.write("oc.expenses", events(range(100)), mode="merge", key=["id"])
    batch = events([5, 50, 99, 100, 101], value="changed")
    result = warehouse.write("oc.expenses", batch, mode="merge", key=["id"])

    got = rows(warehouse, "oc.expenses")
    assert got.height == 102
    assert got["id"].n_unique() == 102
    changed = got.filter(pl.col("value") == "changed")["id"].to_list()
    assert changed == [5, 50, 99, 100, 101]
    assert result.rows_replaced == 3
    summary = warehouse.catalog.load_table("oc.expenses").current_snapshot().summary
    assert (summary["oso.rows_updated"], summary["oso.rows_inserted"]) == ("3", "2")


def test_merge_rerun_gives_the_same_table(warehouse: Warehouse):
    warehouse.write("oc.t", events(range(20)), mode="merge", key=["id"])
    batch = events([3, 30], value="x")
    warehouse.write("oc.t", batch, mode="merge", key=["id"])
    once = rows(warehouse, "oc.t")
    warehouse.write("oc.t", batch, mode="merge", key=["id"])
    assert rows(warehouse, "oc.t").equals(once)


def test_merge_on_a_composite_key(warehouse: Warehouse):
    base = pl.DataFrame({"repo": ["a", "a", "b"], "day": [1, 2, 1], "n": [1, 1, 1]})
    warehouse.write("npm.downloads", base, mode="merge", key=["repo", "day"])
    batch = pl.DataFrame({"repo": ["a", "b"], "day": [2, 2], "n": [9, 9]})
    warehouse.write("npm.downloads", batch, mode="merge", key=["repo", "day"])
    got = warehouse.sql("SELECT repo, day, n FROM npm.downloads ORDER BY repo, day")
    assert got.rows() == [("a", 1, 1), ("a", 2, 9), ("b", 1, 1), ("b", 2, 9)]


def test_merge_refuses_duplicate_keys_naming_the_key(warehouse: Warehouse):
    warehouse.write("oc.t", events(range(3)), mode="merge", key=["id"])
    before = warehouse.snapshot_id("oc.t")
    with pytest.raises(WarehouseError, match=r"duplicate key \(id=7\)"):
        warehouse.write("oc.t", events([7, 8, 7]), mode="merge", key=["id"])
    assert warehouse.snapshot_id("oc.t") == before


def test_merge_dedupe_last_keeps_the_last_row_also_across_frames(warehouse: Warehouse):
    frames = [events([1, 2, 1], value="first"), events([2, 3], value="second")]
    frames[0] = frames[0].with_columns(value=pl.Series(["1a", "2a", "1b"]))
    warehouse.write("oc.t", iter(frames), mode="merge", key=["id"], dedupe="last")
    got = warehouse.sql("SELECT id, value FROM oc.t ORDER BY id").rows()
    assert got == [(1, "1b"), (2, "second"), (3, "second")]


def test_merge_refuses_duplicates_across_frames(warehouse: Warehouse):
    with pytest.raises(WarehouseError, match=r"duplicate key \(id=2\)"):
        warehouse.write("oc.t", iter([events([1, 2]), events([2, 3])]), mode="merge", key=["id"])
    assert not warehouse.exists("oc.t")


def test_merge_refuses_null_and_missing_keys(warehouse: Warehouse):
    with pytest.raises(WarehouseError, match="key column 'id' has null values"):
        warehouse.write("oc.t", pl.DataFrame({"id": [1, None]}), mode="merge", key=["id"])
    with pytest.raises(WarehouseError, match="key column 'uid' is missing"):
        warehouse.write("oc.t", pl.DataFrame({"id": [1]}), mode="merge", key=["uid"])


def test_merge_rewrites_only_files_holding_the_keys(warehouse: Warehouse):
    for day in range(4):  # four commits, four files with disjoint id ranges
        warehouse.write("oc.t", events(range(day * 100, day * 100 + 100)), mode="merge", key=["id"])
    result = warehouse.write("oc.t", events([350, 360], value="new"), mode="merge", key=["id"])
    assert result.files_removed == 1
    got = rows(warehouse, "oc.t")
    assert got.height == 400
    assert got.filter(pl.col("value") == "new")["id"].to_list() == [350, 360]


def test_merge_into_a_day_partitioned_table(warehouse: Warehouse):
    base = events(range(200), step=timedelta(hours=3))  # 25 days
    warehouse.write("gh.p", base, mode="merge", key=["id"], partition_by="day(created_at)")
    batch = events([190, 199, 500], value="z", start=T0 + timedelta(days=24))
    result = warehouse.write("gh.p", batch, mode="merge", key=["id"], partition_by="day(created_at)")
    assert result.files_removed <= 2
    got = rows(warehouse, "gh.p")
    assert got.height == 201
    assert got.filter(pl.col("value") == "z")["id"].to_list() == [190, 199, 500]
    spec = warehouse.catalog.load_table("gh.p").spec()
    assert [str(f.transform) for f in spec.fields] == ["day"]


@pytest.mark.parametrize(
    ("partition_by", "kept"),
    [
        ("day(created_at)", 28 * 4 - 4),  # replaces only 2024-03-10
        ("week(created_at)", 28 * 4 - 7 * 4),  # replaces the whole week of 2024-03-04
        ("month(created_at)", 0),  # replaces March
    ],
)
def test_overwrite_partitions_replaces_only_the_windows_in_the_data(warehouse: Warehouse, partition_by, kept):
    base = events(range(28 * 4))  # 28 days from Monday 2024-03-04, 4 rows per day
    warehouse.write("npm.d", base, mode="overwrite_partitions", partition_by=partition_by)
    window = events([1000, 1001], value="new", start=T0 + timedelta(days=6, hours=1))  # Sunday 2024-03-10
    warehouse.write("npm.d", window, mode="overwrite_partitions", partition_by=partition_by)

    got = rows(warehouse, "npm.d")
    assert got.filter(pl.col("value") == "a").height == kept
    assert got.filter(pl.col("value") == "new")["id"].to_list() == [1000, 1001]
    # Rerunning the same window gives the same table.
    warehouse.write("npm.d", window, mode="overwrite_partitions", partition_by=partition_by)
    assert rows(warehouse, "npm.d").equals(got)


def test_overwrite_partitions_on_an_identity_column(warehouse: Warehouse):
    base = pl.DataFrame({"chain": ["op", "op", "base", "eth"], "tvl": [1, 2, 3, 4]})
    warehouse.write("defillama.tvl", base, mode="overwrite_partitions", partition_by="chain")
    warehouse.write(
        "defillama.tvl", pl.DataFrame({"chain": ["op"], "tvl": [10]}), mode="overwrite_partitions", partition_by="chain"
    )
    got = warehouse.sql("SELECT chain, tvl FROM defillama.tvl ORDER BY chain, tvl").rows()
    assert got == [("base", 3), ("eth", 4), ("op", 10)]


def test_overwrite_partitions_rewrites_files_that_straddle_a_window(warehouse: Warehouse):
    # An unpartitioned table whose one file spans many days: only the rows of the replaced day go.
    warehouse.write("s.t", events(range(40)), mode="append")
    window = events([900], value="new", start=T0 + timedelta(days=2))
    result = warehouse.write("s.t", window, mode="overwrite_partitions", partition_by="day(created_at)")
    assert result.rows_replaced == 4
    got = rows(warehouse, "s.t")
    assert got.height == 37
    assert got.filter(pl.col("created_at").dt.date() == (T0 + timedelta(days=2)).date())["id"].to_list() == [900]


def test_partition_by_must_be_understood(warehouse: Warehouse):
    with pytest.raises(WarehouseError, match="hour"):
        warehouse.write("s.t", events(range(2)), mode="overwrite_partitions", partition_by="hour(created_at)")


def test_one_duckdb_connection_per_lake_sees_each_new_snapshot_and_forgets_dropped_tables(warehouse: Warehouse):
    """The lake's SQL reuses one DuckDB connection, yet every query reads the snapshot current when it runs."""
    import duckdb

    warehouse.write("s.t", events(range(3)), mode="replace")
    assert rows(warehouse, "s.t")["id"].to_list() == [0, 1, 2]
    connection = warehouse._duckdb
    warehouse.write("s.t", events(range(5, 7)), mode="replace")
    assert rows(warehouse, "s.t")["id"].to_list() == [5, 6]  # not the first snapshot's view
    assert warehouse._duckdb is connection

    warehouse.catalog.drop_table("s.t")
    with pytest.raises(duckdb.CatalogException, match="t"):  # as on a fresh connection: no stale view answers
        rows(warehouse, "s.t")
