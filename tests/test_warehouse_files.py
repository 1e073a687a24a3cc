"""Data files as written by the warehouse: Parquet encodings chosen per column, statistics, odd column names."""

from __future__ import annotations

import functools

import polars as pl
import pyarrow.parquet as pq
import pytest
from pyiceberg.conversions import from_bytes

from oso_core.warehouse import Warehouse, WarehouseError


def column_encodings(warehouse: Warehouse, table: str) -> dict[str, set[str]]:
    """Parquet encodings of every leaf column, over all of the table's data files."""
    found: dict[str, set[str]] = {}
    for task in warehouse.catalog.load_table(table).scan().plan_files():
        metadata = pq.ParquetFile(task.file.file_path.removeprefix("file://")).metadata
        for group in range(metadata.num_row_groups):
            for i in range(metadata.num_columns):
                column = metadata.row_group(group).column(i)
                found.setdefault(column.path_in_schema, set()).update(column.encodings)
    return found


def test_dictionaries_only_for_columns_that_repeat_values(warehouse: Warehouse):
    n = 20_000
    frame = pl.DataFrame(
        {
            "id": range(n),
            "kind": [("push", "fork", "star")[i % 3] for i in range(n)],
            "repo name": [f"repo-{i % 40}" for i in range(n)],
            "tags": [["a", "b"] if i % 2 else ["c"] for i in range(n)],
            "owner": [{"login": f"user{i % 7}", "id": i} for i in range(n)],
        }
    )
    warehouse.write("s.files", frame, mode="append")

    encodings = column_encodings(warehouse, "s.files")
    repeated = [c for c in encodings if c in ("kind", "tags.list.element", "owner.login") or c.startswith("repo")]
    assert len(repeated) == 4, encodings  # "repo name" is stored under a sanitized Parquet name
    for column in repeated:
        assert "RLE_DICTIONARY" in encodings[column], column
    assert "RLE_DICTIONARY" not in encodings["id"]  # unique values: a dictionary would only cost time

    got = warehouse.sql(
        'SELECT count(*) AS n, count(DISTINCT id) AS ids, count(DISTINCT "repo name") AS repos, '
        "sum(len(tags)) AS tags, count(DISTINCT owner.login) AS logins FROM s.files"
    ).row(0)
    assert got == (n, n, 40, n // 2 * 3, 7)


def test_data_files_carry_the_key_statistics_merges_prune_by(warehouse: Warehouse):
    warehouse.write("s.stats", pl.DataFrame({"id": [5, 3, 9], "v": ["x", None, "y"]}), mode="append")
    table = warehouse.catalog.load_table("s.stats")
    field = table.schema().find_field("id")
    (task,) = table.scan().plan_files()
    data_file = task.file
    assert data_file.record_count == 3
    assert from_bytes(field.field_type, data_file.lower_bounds[field.field_id]) == 3
    assert from_bytes(field.field_type, data_file.upper_bounds[field.field_id]) == 9
    assert data_file.null_value_counts[table.schema().find_field("v").field_id] == 1
    assert data_file.spec_id == table.spec().spec_id


def test_scattered_partition_rows_are_grouped_one_file_per_partition(warehouse: Warehouse):
    from datetime import UTC, datetime, timedelta

    start = datetime(2024, 3, 4, tzinfo=UTC)
    days = [3, 0, 2, 0, None, 3, 1, None, 2, 0]  # rows of a day (and the null day) are not adjacent
    frame = pl.DataFrame(
        {"id": range(len(days)), "created_at": [None if d is None else start + timedelta(days=d) for d in days]}
    )
    warehouse.write("s.scattered", frame, mode="append", partition_by="day(created_at)")

    files = list(warehouse.catalog.load_table("s.scattered").scan().plan_files())
    assert sorted(f.file.record_count for f in files) == [1, 2, 2, 2, 3]  # days 1, 2, 3, null, 0
    got = warehouse.sql("SELECT id, created_at FROM s.scattered ORDER BY id").rows()
    assert [(i, None if t is None else (t - start).days) for i, t in got] == list(enumerate(days))


def test_a_commit_that_gives_up_leaves_no_staged_or_rewritten_files(
    warehouse: Warehouse, oso_home, monkeypatch: pytest.MonkeyPatch
):
    from pyiceberg.exceptions import CommitFailedException
    from pyiceberg.table import Transaction

    from oso_core.warehouse import writer
    from oso_core.warehouse.commit import commit_with_retry

    warehouse.write("s.gone", pl.DataFrame({"id": range(10), "v": ["a"] * 10}), mode="merge", key=["id"])
    before = {p for p in oso_home.rglob("*.parquet")}
    snapshot = warehouse.snapshot_id("s.gone")

    def conflict(self):
        raise CommitFailedException("Table has been updated by another process")

    monkeypatch.setattr(Transaction, "commit_transaction", conflict)
    monkeypatch.setattr(
        writer, "commit_with_retry", functools.partial(commit_with_retry, max_attempts=2, base_delay_s=0)
    )
    batch = pl.DataFrame({"id": [3, 42], "v": ["b", "b"]})  # rewrites the file holding id 3 on every attempt
    with pytest.raises(WarehouseError, match="gave up after 2 conflicting commits"):
        warehouse.write("s.gone", batch, mode="merge", key=["id"])

    assert {p for p in oso_home.rglob("*.parquet")} == before
    assert warehouse.snapshot_id("s.gone") == snapshot


def test_a_file_that_fails_to_write_leaves_no_files_of_the_write(
    warehouse: Warehouse, oso_home, monkeypatch: pytest.MonkeyPatch
):
    import threading
    from datetime import UTC, datetime, timedelta

    start = datetime(2024, 3, 4, tzinfo=UTC)
    frame = pl.DataFrame({"id": range(50), "created_at": [start + timedelta(hours=6 * i) for i in range(50)]})
    warehouse.write("s.full", frame.head(4), mode="append", partition_by="day(created_at)")
    before = {p for p in oso_home.rglob("*.parquet")}

    real_write, calls, lock = pq.ParquetWriter.write, [], threading.Lock()

    def disk_fills_up(self, table, *args, **kwargs):
        with lock:
            calls.append(1)
            third = len(calls) == 3
        if third:
            raise OSError(28, "No space left on device")
        return real_write(self, table, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write", disk_fills_up)
    with pytest.raises(WarehouseError, match=r"^s\.full: no space left on the disk .* the table is unchanged"):
        warehouse.write("s.full", frame, mode="append", partition_by="day(created_at)")  # 13 day files

    assert len(calls) == 13
    assert {p for p in oso_home.rglob("*.parquet")} == before
    assert warehouse.sql("SELECT count(*) AS n FROM s.full")["n"][0] == 4
