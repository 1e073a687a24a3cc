"""Schema evolution, type mapping, atomicity, commit-conflict retry and bounded-memory streaming (SQLite lake)."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import weakref
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from oso_core.warehouse import Warehouse, WarehouseError


def iceberg_type(warehouse: Warehouse, table: str, column: str) -> str:
    return str(warehouse.catalog.load_table(table).schema().find_field(column).field_type)


# -- schema evolution -------------------------------------------------------------------------------------------
def test_new_column_is_added_and_old_rows_read_null(warehouse: Warehouse):
    warehouse.write("s.t", pl.DataFrame({"id": [1]}), mode="append")
    warehouse.write("s.t", pl.DataFrame({"id": [2], "note": ["hi"]}), mode="append")
    assert warehouse.sql("SELECT id, note FROM s.t ORDER BY id").rows() == [(1, None), (2, "hi")]


@pytest.mark.parametrize(
    ("old", "new", "value", "wider"),
    [(pl.Int32, pl.Int64, 2**40, "long"), (pl.Float32, pl.Float64, 1e300, "double")],
)
def test_safe_widening_is_applied(warehouse: Warehouse, old, new, value, wider):
    warehouse.write("s.t", pl.DataFrame({"x": [1]}, schema={"x": old}), mode="append")
    warehouse.write("s.t", pl.DataFrame({"x": [value]}, schema={"x": new}), mode="append")
    assert iceberg_type(warehouse, "s.t", "x") == wider
    assert sorted(warehouse.sql("SELECT x FROM s.t")["x"].to_list()) == [1, value]


def test_narrower_data_is_written_as_the_table_type(warehouse: Warehouse):
    warehouse.write("s.t", pl.DataFrame({"x": [2**40]}), mode="append")
    warehouse.write("s.t", pl.DataFrame({"x": [7]}, schema={"x": pl.Int32}), mode="append")
    assert iceberg_type(warehouse, "s.t", "x") == "long"
    assert sorted(warehouse.sql("SELECT x FROM s.t")["x"].to_list()) == [7, 2**40]


def test_incompatible_change_is_refused_naming_table_column_and_types(warehouse: Warehouse):
    warehouse.write("s.t", pl.DataFrame({"id": [1], "stars": [5]}), mode="append")
    before = warehouse.snapshot_id("s.t")
    with pytest.raises(WarehouseError, match=r"s\.t: column 'stars' is long in the table but string in the data"):
        warehouse.write("s.t", pl.DataFrame({"id": [2], "stars": ["many"]}), mode="append")
    assert warehouse.snapshot_id("s.t") == before
    assert iceberg_type(warehouse, "s.t", "stars") == "long"


def test_merge_without_its_key_column_is_refused(warehouse: Warehouse):
    warehouse.write("s.t", pl.DataFrame({"id": [1], "v": [1]}), mode="merge", key=["id"])
    with pytest.raises(WarehouseError, match="key column 'id' is missing"):
        warehouse.write("s.t", pl.DataFrame({"v": [2]}), mode="merge", key=["id"])


def test_all_null_column_takes_the_table_type(warehouse: Warehouse):
    warehouse.write("s.t", pl.DataFrame({"id": [1], "stars": [5]}), mode="append")
    warehouse.write("s.t", pl.DataFrame({"id": [2], "stars": [None]}), mode="append")
    assert iceberg_type(warehouse, "s.t", "stars") == "long"
    assert warehouse.sql("SELECT id, stars FROM s.t ORDER BY id").rows() == [(1, 5), (2, None)]


def test_types_are_mapped_for_iceberg(warehouse: Warehouse):
    frame = pl.DataFrame(
        {
            "ts_ns": [datetime(2024, 1, 2, 3, 4, 5)],
            "big": pl.Series([2**32 + 1], dtype=pl.UInt64),
            "u32": pl.Series([2**31 + 5], dtype=pl.UInt32),
            "cat": pl.Series(["x"], dtype=pl.Categorical),
            "tags": [["a", "b"]],
            "owner": [{"login": "octo", "id": 1}],
            "text": ["é" * 1000],
        },
        schema_overrides={"ts_ns": pl.Datetime("ns")},
    )
    warehouse.write("s.types", frame, mode="replace")
    schema = warehouse.catalog.load_table("s.types").schema()
    types = {f.name: str(f.field_type) for f in schema.fields}
    assert types["ts_ns"] == "timestamptz"
    assert types["big"] == types["u32"] == "long"
    assert types["cat"] == types["text"] == "string"
    assert types["tags"].startswith("list<") and types["owner"].startswith("struct<")
    got = warehouse.sql("SELECT ts_ns, u32, tags, owner.login AS login, length(text) AS n FROM s.types").row(0)
    assert got == (datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), 2**31 + 5, ["a", "b"], "octo", 1000)


def test_nested_struct_field_is_added(warehouse: Warehouse):
    warehouse.write("s.t", pl.DataFrame({"id": [1], "owner": [{"login": "a"}]}), mode="append")
    warehouse.write("s.t", pl.DataFrame({"id": [2], "owner": [{"login": "b", "site": "x"}]}), mode="append")
    got = warehouse.sql("SELECT id, owner.site AS site FROM s.t ORDER BY id").rows()
    assert got == [(1, None), (2, "x")]


# -- atomicity ----------------------------------------------------------------------------------------------------
def test_failing_batch_mid_iterator_leaves_the_previous_snapshot(warehouse: Warehouse, oso_home: Path):
    warehouse.write("s.t", pl.DataFrame({"id": [1, 2]}), mode="append")
    before = warehouse.snapshot_id("s.t")
    data_dir = oso_home / "warehouse" / "s" / "t" / "data"
    files_before = set(data_dir.rglob("*.parquet"))

    def pages():
        yield pl.DataFrame({"id": [3, 4]})
        yield pl.DataFrame({"id": [5]})
        raise RuntimeError("page 3: bad row")

    for mode in ("append", "replace", "merge"):
        with pytest.raises(RuntimeError, match="bad row"):
            warehouse.write("s.t", pages(), mode=mode, key=["id"] if mode == "merge" else None)
        assert warehouse.snapshot_id("s.t") == before
        assert warehouse.sql("SELECT id FROM s.t ORDER BY id")["id"].to_list() == [1, 2]
    assert set(data_dir.rglob("*.parquet")) == files_before  # staged files were removed


def test_late_properties_are_asked_for_once_the_rows_are_staged_and_one_that_fails_commits_nothing(
    warehouse: Warehouse, oso_home: Path
):
    warehouse.write("s.t", pl.DataFrame({"id": [1, 2]}), mode="append")
    before = warehouse.snapshot_id("s.t")
    data_dir = oso_home / "warehouse" / "s" / "t" / "data"
    files_before = set(data_dir.rglob("*.parquet"))
    staged: list[int] = []

    def pages():
        for page in ([3, 4], [5]):
            staged.append(len(page))
            yield pl.DataFrame({"id": page})

    def computed_alongside() -> dict[str, str]:
        assert staged == [2, 1]  # every page was handed to the writer before the properties were asked for
        return {"oso.fingerprint": "f-1", "oso.source": "given"}

    warehouse.write("s.t", pages(), mode="append", properties=computed_alongside)
    summary = warehouse.catalog.load_table("s.t").current_snapshot().summary
    assert summary["oso.fingerprint"] == "f-1" and summary["oso.source"] == "given"  # given wins over the default
    assert "oso.flow_run_id" in summary.additional_properties
    assert warehouse.sql("SELECT id FROM s.t ORDER BY id")["id"].to_list() == [1, 2, 3, 4, 5]

    def failing() -> dict[str, str]:
        raise RuntimeError("fingerprint query failed")

    after = warehouse.snapshot_id("s.t")
    files_after = set(data_dir.rglob("*.parquet"))
    with pytest.raises(RuntimeError, match="fingerprint query failed"):
        warehouse.write("s.t", pl.DataFrame({"id": [6]}), mode="append", properties=failing)
    assert warehouse.snapshot_id("s.t") == after != before
    assert set(data_dir.rglob("*.parquet")) == files_after  # the staged file was removed
    assert files_before < files_after


def test_refused_frame_mid_iterator_leaves_no_new_table(warehouse: Warehouse):
    frames = iter([pl.DataFrame({"id": [1]}), pl.DataFrame({"id": ["x"]})])
    with pytest.raises(WarehouseError, match="column 'id' is long in the table but string"):
        warehouse.write("s.new", frames, mode="append")
    assert not warehouse.exists("s.new")


def test_killed_process_leaves_the_previous_snapshot(warehouse: Warehouse, oso_home: Path):
    warehouse.write("s.t", pl.DataFrame({"id": [1]}), mode="append")
    before = warehouse.snapshot_id("s.t")
    script = textwrap.dedent(
        """
        import os, polars as pl
        from oso_core.warehouse import Warehouse
        def pages():
            yield pl.DataFrame({"id": [2]})
            os._exit(9)  # killed between staging and commit
        Warehouse().write("s.t", pages(), mode="replace")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parent.parent, timeout=120)
    assert done.returncode == 9
    assert warehouse.snapshot_id("s.t") == before
    assert warehouse.sql("SELECT id FROM s.t")["id"].to_list() == [1]


def test_each_call_is_one_commit(warehouse: Warehouse):
    warehouse.write("s.t", iter([pl.DataFrame({"id": [i]}) for i in range(5)]), mode="append")
    warehouse.write("s.t", iter([pl.DataFrame({"id": [1], "v": [1]}) for _ in range(1)]), mode="merge", key=["id"])
    snapshots = warehouse.catalog.load_table("s.t").snapshots()
    assert len(snapshots) == 2


# -- concurrency --------------------------------------------------------------------------------------------------
def test_conflicting_commit_is_replanned_and_no_rows_are_lost(warehouse: Warehouse):
    """A merge whose table changes while it stages re-plans against the new state and keeps the other's rows."""
    warehouse.write("s.t", pl.DataFrame({"id": [1, 2], "v": ["old", "old"]}), mode="merge", key=["id"])
    other = Warehouse(catalog=warehouse.catalog)

    def pages():
        yield pl.DataFrame({"id": [1], "v": ["mine"]})
        # Another writer commits while this one is still staging: it rewrites key 2 and adds key 3.
        other.write("s.t", pl.DataFrame({"id": [2, 3], "v": ["theirs", "theirs"]}), mode="merge", key=["id"])
        yield pl.DataFrame({"id": [4], "v": ["mine"]})

    warehouse.write("s.t", pages(), mode="merge", key=["id"])
    got = warehouse.sql("SELECT id, v FROM s.t ORDER BY id").rows()
    assert got == [(1, "mine"), (2, "theirs"), (3, "theirs"), (4, "mine")]


def test_commit_retry_is_bounded(monkeypatch: pytest.MonkeyPatch):
    from pyiceberg.exceptions import CommitFailedException

    from oso_core.warehouse.commit import commit_with_retry

    calls = []

    def always_conflicts(table):
        calls.append(table)
        raise CommitFailedException("branch main has changed")

    with pytest.raises(WarehouseError, match="gave up after 3 conflicting commits"):
        commit_with_retry("s.t", lambda: None, always_conflicts, max_attempts=3, base_delay_s=0.001)
    assert len(calls) == 3


# -- memory -------------------------------------------------------------------------------------------------------
def test_iterator_input_is_written_batch_by_batch(warehouse: Warehouse, oso_home: Path):
    """Frames are not accumulated: each is written to files and released before the next is requested."""
    alive: list[weakref.ref] = []
    staged_counts = []
    data_dir = oso_home / "warehouse" / "s" / "stream" / "data"

    def batches():
        for i in range(6):
            frame = pl.DataFrame({"id": range(i * 1000, (i + 1) * 1000), "ts": [datetime(2024, 1, 1 + i)] * 1000})
            alive.append(weakref.ref(frame))
            yield frame
            del frame
            gc.collect()
            staged_counts.append(len(list(data_dir.rglob("*.parquet"))))
            # Only the frame just written may still be referenced (by the consuming loop); none before it.
            assert sum(ref() is not None for ref in alive[:-1]) == 0, "an earlier frame is still referenced"

    result = warehouse.write("s.stream", batches(), mode="append", partition_by="day(ts)")
    assert staged_counts == [1, 2, 3, 4, 5, 6]
    assert result.rows_written == 6000
    assert warehouse.sql("SELECT count(*) AS n FROM s.stream")["n"][0] == 6000


def test_first_use_of_the_catalog_from_many_threads_at_once(oso_home: Path):
    """Sources of one flow run in threads: each opens the (not yet created) embedded catalog at the same moment."""
    import threading

    from oso_core.warehouse.catalog import CatalogConfig, open_catalog

    barrier, errors = threading.Barrier(8, timeout=60), []

    def open_and_list():
        barrier.wait()
        try:
            open_catalog(CatalogConfig.embedded()).list_namespaces()
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=open_and_list) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread opening the catalog still runs after 120 s"
    assert errors == []
