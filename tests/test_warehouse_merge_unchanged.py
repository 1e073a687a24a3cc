"""A merge that repeats rows the table already holds rewrites no file; rows that did change still replace theirs.

The table's data files are compared through pyiceberg's public ``inspect.files()``, and the rows are read back by
DuckDB and Polars, which share no code with the writer.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from oso_core.warehouse import Warehouse


def data_files(warehouse: Warehouse, table: str) -> set[str]:
    return set(warehouse.catalog.load_table(table).inspect.files().column("file_path").to_pylist())


def parquet_on_disk(oso_home: Path) -> set[Path]:
    return set(oso_home.rglob("*.parquet"))


def frame(ids: range | list[int], value: str = "v") -> pl.DataFrame:
    return pl.DataFrame({"id": list(ids), "value": [f"{value}{i}" for i in ids], "score": [i * 0.5 for i in ids]})


def test_merging_the_same_frame_twice_rewrites_no_data_file(warehouse: Warehouse, oso_home: Path):
    batch = frame(range(2000))
    warehouse.write("s.t", batch, mode="merge", key=["id"])
    files, on_disk, snapshot = data_files(warehouse, "s.t"), parquet_on_disk(oso_home), warehouse.snapshot_id("s.t")
    first = warehouse.sql("SELECT * FROM s.t ORDER BY id")

    result = warehouse.write("s.t", batch, mode="merge", key=["id"])

    assert data_files(warehouse, "s.t") == files
    assert parquet_on_disk(oso_home) == on_disk  # the staged copy of the rows was removed, nothing rewritten
    assert (result.files_added, result.files_removed, result.rows_replaced) == (0, 0, 0)
    # The load is recorded (freshness reads the current snapshot's time) in a snapshot that adds and removes nothing.
    current = warehouse.catalog.load_table("s.t").current_snapshot()
    assert current.snapshot_id == result.snapshot_id != snapshot and current.parent_snapshot_id == snapshot
    summary = current.summary
    assert not {"added-data-files", "deleted-data-files", "added-records", "deleted-records"} & set(
        summary.additional_properties
    )
    assert (summary["total-data-files"], summary["total-records"]) == (str(len(files)), "2000")
    counts = (summary["oso.rows_unchanged"], summary["oso.rows_updated"], summary["oso.rows_inserted"])
    assert counts == ("2000", "0", "0")
    assert warehouse.sql("SELECT * FROM s.t ORDER BY id").equals(first)
    assert warehouse.read("s.t").sort("id").equals(batch)


def test_a_merge_rewrites_only_the_files_whose_rows_change(warehouse: Warehouse):
    warehouse.write("s.t", frame(range(0, 10)), mode="merge", key=["id"])
    (low,) = data_files(warehouse, "s.t")  # ids 0-9
    warehouse.write("s.t", frame(range(10, 20)), mode="merge", key=["id"])
    (high,) = data_files(warehouse, "s.t") - {low}  # ids 10-19

    batch = pl.concat([frame(range(0, 10)), frame([15], value="changed"), frame([30])])
    result = warehouse.write("s.t", batch, mode="merge", key=["id"])

    after = data_files(warehouse, "s.t")
    assert low in after and high not in after  # ids 0-9 came again unchanged: their file is not rewritten
    assert (result.files_removed, result.rows_replaced) == (1, 1)
    expected = [(i, "changed15" if i == 15 else f"v{i}") for i in [*range(20), 30]]
    assert warehouse.sql("SELECT id, value FROM s.t ORDER BY id").rows() == expected
    assert warehouse.read("s.t").sort("id").select("id", "value").rows() == expected
    summary = warehouse.catalog.load_table("s.t").current_snapshot().summary
    counts = (summary["oso.rows_unchanged"], summary["oso.rows_updated"], summary["oso.rows_inserted"])
    assert counts == ("10", "1", "1")


def test_a_key_the_table_holds_twice_still_merges_to_one_row(warehouse: Warehouse):
    warehouse.write("s.t", frame(range(5)), mode="append")
    warehouse.write("s.t", frame(range(5)), mode="append")  # every key twice, in two files, same values

    warehouse.write("s.t", frame(range(5)), mode="merge", key=["id"])

    assert warehouse.sql("SELECT id, value FROM s.t ORDER BY id").rows() == [(i, f"v{i}") for i in range(5)]
