"""Table maintenance on real Iceberg tables: compaction, snapshot expiry, orphan files, concurrency, the flow.

Every table is read back by DuckDB (an independent reader) and Polars; "content unchanged" is a row count plus an
order-independent checksum over every column, and a sorted frame comparison.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from flows.maintenance import ARTIFACT_KEY, main, maintenance_flow
from oso_core.warehouse import Warehouse
from oso_core.warehouse.errors import WarehouseError
from oso_core.warehouse.files import DataFileWriter
from oso_core.warehouse.load_state import LoadState
from oso_core.warehouse.maintenance import (
    MaintenancePolicy,
    TableReport,
    _Reachability,
    compact,
    list_files,
    maintain_table,
)
from oso_core.warehouse.types import to_arrow

TABLE = "shop.events"
DAYS = 4
OLD = time.time() - 3 * 86_400  # older than the default 1-day safety age


def rows(first: int, count: int, value: int) -> pl.DataFrame:
    ids = list(range(first, first + count))
    return pl.DataFrame(
        {
            "id": ids,
            "value": [value * 1000 + i % 97 for i in ids],
            "label": [f"label-{i % 13}" for i in ids],
            "day": [datetime(2024, 3, 1 + i % DAYS, 12, tzinfo=UTC) for i in ids],
        },
        schema={"id": pl.Int64, "value": pl.Int64, "label": pl.String, "day": pl.Datetime("us", "UTC")},
    )


def expected_after(base: pl.DataFrame, batch: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([base.join(batch.select("id"), on="id", how="anti"), batch])


def build(warehouse: Warehouse, merges: int = 6) -> pl.DataFrame:
    """A replace, then ``merges`` merges (new keys plus updates), one more replace of the same rows, then merges."""
    data = rows(0, 400, 0)
    warehouse.write(TABLE, data, mode="replace", key=["id"], partition_by="day(day)")
    for i in range(1, merges + 1):
        batch = pl.concat([rows(i * 100, 100, i), rows(400 + i * 50, 50, i)])  # 100 updated + 50 new keys
        warehouse.write(TABLE, batch, mode="merge", key=["id"], partition_by="day(day)")
        data = expected_after(data, batch)
        if i == merges // 2:
            warehouse.write(TABLE, data, mode="replace", key=["id"], partition_by="day(day)")
    return data


def killed_loads(warehouse: Warehouse, count: int, *, age_s: float | None) -> list[Path]:
    """Data files staged by a load that was killed before its commit (what ``_Staging`` leaves behind)."""
    table = warehouse.catalog.load_table(TABLE)
    written = DataFileWriter(table.metadata, table.io).write(to_arrow(rows(10_000, 50 * count, 99)))
    paths = [Path(f.file_path.removeprefix("file://")) for f in written]
    if age_s is not None:
        for path in paths:
            os.utime(path, (age_s, age_s))
    return paths


def checksum(warehouse: Warehouse) -> tuple[int, int, int]:
    got = warehouse.sql(
        f"SELECT count(*) AS n, sum(hash(id, value, label, day) % 1000003) AS h, sum(value) AS v FROM {TABLE}"
    )
    return int(got["n"][0]), int(got["h"][0]), int(got["v"][0])


def sorted_frame(warehouse: Warehouse) -> pl.DataFrame:
    return warehouse.read(TABLE).sort("id")


def listing(warehouse: Warehouse) -> dict[str, tuple[int, float]]:
    location = warehouse.catalog.load_table(TABLE).metadata.location.removeprefix("file://")
    return {str(p): (p.stat().st_size, p.stat().st_mtime) for p in Path(location).rglob("*") if p.is_file()}


def data_files(warehouse: Warehouse) -> int:
    return len(list(warehouse.catalog.load_table(TABLE).scan().plan_files()))


def test_maintenance_expires_snapshots_deletes_orphans_and_compacts(warehouse: Warehouse) -> None:
    data = build(warehouse)
    old_strays = killed_loads(warehouse, 3, age_s=OLD)
    fresh_stray = killed_loads(warehouse, 1, age_s=None)
    assert old_strays and fresh_stray and all(p.exists() for p in old_strays + fresh_stray)
    before_sum, before_frame = checksum(warehouse), sorted_frame(warehouse)
    assert before_sum[0] == data.height and before_frame.equals(data.sort("id"))
    snapshots_before = len(warehouse.catalog.load_table(TABLE).metadata.snapshots)
    files_before = data_files(warehouse)
    assert snapshots_before == 8 and files_before > 2 * DAYS

    policy = MaintenancePolicy(retention=timedelta(0), keep_last=3)
    # dry run: reports what it would do and changes nothing, not even a file's mtime
    files_on_disk = listing(warehouse)
    location_before = warehouse.catalog.load_table(TABLE).metadata_location
    dry = MaintenancePolicy(retention=timedelta(0), keep_last=3, dry_run=True)
    planned = maintain_table(warehouse.catalog, TABLE, dry)
    assert listing(warehouse) == files_on_disk
    assert warehouse.catalog.load_table(TABLE).metadata_location == location_before
    assert planned.dry_run and planned.snapshots_expired == snapshots_before - 3
    assert planned.orphans_deleted == len(old_strays) and planned.orphans_too_young == len(fresh_stray)
    assert planned.files_compacted == files_before and planned.files_written == DAYS
    assert planned.expired_files_deleted > 0 and planned.reclaimed_bytes > 0

    report = maintain_table(warehouse.catalog, TABLE, policy)

    # content unchanged, read by DuckDB and by Polars
    assert checksum(warehouse) == before_sum
    assert sorted_frame(warehouse).equals(before_frame)
    # compacted: one file per day partition, in one commit
    table = warehouse.catalog.load_table(TABLE)
    assert data_files(warehouse) == DAYS == report.data_files_after == report.partitions
    assert report.files_compacted == files_before and report.files_written == DAYS
    compaction = table.metadata.snapshot_by_id(report.compaction_snapshot_id)
    assert compaction.summary["oso.maintenance"] == "compaction" and compaction.summary.operation.value == "overwrite"
    # expired: only the last 3 snapshots remain (the compaction's among them), each still readable
    assert len(table.metadata.snapshots) == 3 == report.snapshots_after
    assert report.snapshots_expired == snapshots_before + 1 - 3
    assert table.current_snapshot().snapshot_id == report.compaction_snapshot_id
    # no manifest of only earlier snapshots' tombstones is carried into the compacted snapshot (pyiceberg 0.12 would)
    for manifest in table.current_snapshot().manifests(table.io):
        assert (
            manifest.has_added_files()
            or manifest.has_existing_files()
            or (manifest.added_snapshot_id == report.compaction_snapshot_id)
        )
    for snapshot in table.metadata.snapshots:
        assert table.scan(snapshot_id=snapshot.snapshot_id).to_arrow().num_rows > 0
    # orphans: the killed loads' old files are gone, the fresh one (a load that may be in flight) is kept
    assert not any(p.exists() for p in old_strays)
    assert all(p.exists() for p in fresh_stray)
    assert report.orphans_deleted == len(old_strays) and report.orphans_too_young == len(fresh_stray)
    # nothing unreferenced is left but the fresh stray; everything referenced exists
    referenced = _Reachability(table.io).referenced(table)
    stored = {f.key for f in list_files(table.io, table.metadata.location)}
    assert stored - referenced == {str(p) for p in fresh_stray}
    assert referenced <= stored
    assert report.reclaimed_bytes > 0 and report.stored_files_after < report.stored_files_before

    # a second run finds nothing more to do
    again = maintain_table(warehouse.catalog, TABLE, policy)
    assert (again.files_compacted, again.orphans_deleted, again.expired_files_deleted) == (0, 0, 0)
    assert checksum(warehouse) == before_sum


def test_retention_and_keep_last(warehouse: Warehouse) -> None:
    build(warehouse, merges=4)
    count = len(warehouse.catalog.load_table(TABLE).metadata.snapshots)
    keep_everything = MaintenancePolicy(compact=False)  # 30 days: every snapshot here is younger
    assert maintain_table(warehouse.catalog, TABLE, keep_everything).snapshots_expired == 0
    later = datetime.now(UTC) + timedelta(days=31)
    report = maintain_table(warehouse.catalog, TABLE, MaintenancePolicy(compact=False, keep_last=2), now=later)
    assert report.snapshots_expired == count - 2
    assert len(warehouse.catalog.load_table(TABLE).metadata.snapshots) == 2


def test_a_snapshot_load_state_points_at_is_kept(warehouse: Warehouse) -> None:
    build(warehouse, merges=2)
    table = warehouse.catalog.load_table(TABLE)
    first = table.metadata.snapshots[0].snapshot_id
    LoadState(warehouse).record("shop", "events", "2024-03-01", "loaded", cursor=str(first))
    report = maintain_table(warehouse.catalog, TABLE, MaintenancePolicy(retention=timedelta(0), keep_last=1))
    kept = {s.snapshot_id for s in warehouse.catalog.load_table(TABLE).metadata.snapshots}
    assert first in kept and len(kept) == 2
    assert any("load state" in note for note in report.notes)
    assert warehouse.catalog.load_table(TABLE).scan(snapshot_id=first).to_arrow().num_rows == 400


def _update_one_day(data: pl.DataFrame) -> pl.DataFrame:
    """Updates of rows of one day partition only (so only that partition's files change)."""
    day = data.filter(pl.col("day").dt.day() == 1).head(30)
    return day.with_columns(pl.col("value") + 1_000_000)


def test_a_merge_committed_during_compaction_wins(oso_home: Path) -> None:
    """The merge commits between the compaction's rewrite and its commit: the compaction retries, skips the
    partition the merge changed, compacts the others, and the merge's rows are all there."""
    warehouse = Warehouse()
    data = build(warehouse)
    batch = _update_one_day(data)
    expected = expected_after(data, batch).sort("id")
    merged: list[object] = []

    def merge_in_another_thread() -> None:
        def run() -> None:
            other = Warehouse()  # its own catalog connection, as another process would have
            merged.append(other.write(TABLE, batch, mode="merge", key=["id"], partition_by="day(day)"))

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(60)

    report = TableReport(TABLE)
    compact(warehouse.catalog, TABLE, MaintenancePolicy(), report, before_commit=merge_in_another_thread)
    assert merged and merged[0].rows_replaced == batch.height
    assert report.compaction_attempts >= 2  # the first attempt conflicted with the merge
    assert report.partitions_compacted == DAYS - 1
    assert any("concurrent write" in note for note in report.notes)
    assert sorted_frame(warehouse).equals(expected)
    assert checksum(warehouse)[0] == expected.height
    # the skipped group's rewritten files were deleted: no file in data/ is unreferenced
    table = warehouse.catalog.load_table(TABLE)
    referenced = _Reachability(table.io).referenced(table)
    assert {f.key for f in list_files(table.io, table.metadata.location)} <= referenced


def test_a_merge_staged_before_compaction_commits_after_it(oso_home: Path) -> None:
    """The merge read the table before the compaction committed: its commit conflicts, re-plans against the
    compacted files and succeeds; nothing is lost and the compaction stays."""
    warehouse = Warehouse()
    data = build(warehouse)
    batch = _update_one_day(data)
    expected = expected_after(data, batch).sort("id")
    staged, compacted = threading.Event(), threading.Event()
    merged: list[object] = []

    def frames():
        staged.set()  # the merge has loaded the table (before the compaction)
        yield batch
        assert compacted.wait(60)

    def run() -> None:
        merged.append(Warehouse().write(TABLE, frames(), mode="merge", key=["id"], partition_by="day(day)"))

    thread = threading.Thread(target=run)
    thread.start()
    assert staged.wait(60)
    report = TableReport(TABLE)
    compact(warehouse.catalog, TABLE, MaintenancePolicy(), report)
    compacted.set()
    thread.join(60)
    assert report.files_written == DAYS and report.compaction_attempts == 1
    assert merged and merged[0].rows_replaced == batch.height
    table = warehouse.catalog.load_table(TABLE)
    assert table.current_snapshot().snapshot_id == merged[0].snapshot_id
    assert table.current_snapshot().parent_snapshot_id == report.compaction_snapshot_id
    assert sorted_frame(warehouse).equals(expected)
    assert checksum(warehouse)[0] == expected.height


def test_the_flow_reports_and_dry_run_changes_nothing(warehouse: Warehouse) -> None:
    build(warehouse, merges=3)
    strays = killed_loads(warehouse, 2, age_s=OLD)
    before = listing(warehouse)
    assert main(["--table", TABLE, "--dry-run"]) == 0
    assert listing(warehouse) == before

    rows = maintenance_flow(tables=[TABLE], retention_days=0, keep_last=2)
    (row,) = rows
    assert row["table"] == TABLE and row["error"] == "" and row["dry_run"] is False
    assert row["snapshots"].endswith("→ 2") and row["reclaimed_mib"] >= 0
    assert not any(p.exists() for p in strays)
    with get_client(sync_client=True) as client:
        mine = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[ARTIFACT_KEY])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    assert mine and "table maintenance: 1 table(s), reclaimed" in (mine[0].description or "")


def test_a_failing_table_fails_the_run_but_not_the_others(warehouse: Warehouse) -> None:
    build(warehouse, merges=1)
    files_before = data_files(warehouse)
    state = maintenance_flow(tables=["shop.missing", TABLE], return_state=True)
    assert state.is_failed()
    assert "shop.missing" in state.message and "NoSuchTableError" in state.message
    assert data_files(warehouse) == DAYS < files_before  # the other table was still compacted


# -- maintenance next to loads in flight (issue 22, items 1 and 3) --------------------------------------------------
FLOOR_SETTING = "DAGSTER__MAINTENANCE__ORPHAN_AGE_FLOOR_HOURS"


def test_an_orphan_age_below_the_floor_is_refused(warehouse: Warehouse, capsys) -> None:
    """An orphan sweep younger than the floor could delete a load's staged files: refused before anything runs,
    by the library, the flow and the command line, each naming the setting and the floor."""
    build(warehouse, merges=1)
    strays = killed_loads(warehouse, 1, age_s=time.time() - 2 * 3600)  # 2 h old: a load may still be staging them
    before = listing(warehouse)
    with pytest.raises(WarehouseError, match=f"floor of 24 h .*{FLOOR_SETTING}"):
        maintain_table(warehouse.catalog, TABLE, MaintenancePolicy(orphan_min_age=timedelta(hours=1)))
    state = maintenance_flow(tables=[TABLE], orphan_age_hours=0, return_state=True)
    assert state.is_failed() and FLOOR_SETTING in state.message
    with pytest.raises(SystemExit) as exit_:
        main(["--table", TABLE, "--orphan-age-hours", "0"])
    assert exit_.value.code == 2 and FLOOR_SETTING in capsys.readouterr().err
    assert listing(warehouse) == before and all(p.exists() for p in strays)


def _sweep_now(monkeypatch: pytest.MonkeyPatch) -> TableReport:
    """The real orphan sweep at age 0 (the floor lowered through its setting), run by another process's catalog."""
    monkeypatch.setenv(FLOOR_SETTING, "0")
    policy = MaintenancePolicy(orphan_min_age=timedelta(0), compact=False, expire=False)
    return maintain_table(Warehouse().catalog, TABLE, policy, now=datetime.now(UTC) + timedelta(seconds=5))


@pytest.mark.parametrize("mode", ["merge", "append"])
def test_a_write_whose_staged_files_were_swept_fails_and_the_table_stays(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """The sweep deletes a write's staged data files between staging and commit: the commit must not land
    pointing at missing files; it fails naming the table and the table stays readable at its previous snapshot."""
    data = build(warehouse, merges=1)
    before = warehouse.catalog.load_table(TABLE).current_snapshot().snapshot_id
    batch = rows(380, 40, 7)  # 20 updated + 20 new keys
    swept: list[TableReport] = []

    def frames():
        yield batch
        swept.append(_sweep_now(monkeypatch))  # the frame is staged as files; the commit comes next

    with pytest.raises(WarehouseError, match=f"{TABLE}.*missing") as failed:
        warehouse.write(TABLE, frames(), mode=mode, key=["id"], partition_by="day(day)")
    assert "parquet" in str(failed.value)
    assert swept and swept[0].orphans_deleted >= 1
    assert warehouse.catalog.load_table(TABLE).current_snapshot().snapshot_id == before
    assert sorted_frame(warehouse).equals(data.sort("id"))
    assert checksum(warehouse)[0] == data.height


def test_a_merge_planned_from_snapshots_expiry_deleted_is_retried(oso_home: Path) -> None:
    """A merge stages against the table; maintenance then compacts (a commit) and expires every other snapshot
    (retention 0, keep 1), deleting the manifests the merge had loaded: the merge reloads and commits into the
    new state, as on a commit conflict."""
    warehouse = Warehouse()
    data = build(warehouse)
    batch = _update_one_day(data)
    expected = expected_after(data, batch).sort("id")
    staged, maintained = threading.Event(), threading.Event()
    merged: list[object] = []
    failures: list[BaseException] = []

    def frames():
        staged.set()  # the merge has loaded the table (before maintenance)
        yield batch
        assert maintained.wait(60)

    def run() -> None:
        try:
            merged.append(Warehouse().write(TABLE, frames(), mode="merge", key=["id"], partition_by="day(day)"))
        except BaseException as error:  # noqa: BLE001 - asserted below
            failures.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    assert staged.wait(60)
    report = maintain_table(warehouse.catalog, TABLE, MaintenancePolicy(retention=timedelta(0), keep_last=1))
    maintained.set()
    thread.join(60)
    assert report.files_written == DAYS and report.snapshots_after == 1 and report.expired_files_deleted > 0
    assert not failures, failures
    assert merged and merged[0].rows_replaced == batch.height
    table = warehouse.catalog.load_table(TABLE)
    assert table.current_snapshot().snapshot_id == merged[0].snapshot_id
    assert table.current_snapshot().parent_snapshot_id == report.compaction_snapshot_id
    assert sorted_frame(warehouse).equals(expected)
    assert checksum(warehouse)[0] == expected.height


def test_a_manifest_missing_from_the_current_state_is_not_retried(warehouse: Warehouse) -> None:
    """Without a newer commit a missing manifest list is damage, not a conflict: the merge fails at once, naming
    the file, instead of re-planning until the retry limit."""
    build(warehouse, merges=1)
    table = warehouse.catalog.load_table(TABLE)
    manifest_list = table.current_snapshot().manifest_list
    Path(manifest_list.removeprefix("file://")).unlink()
    started = time.monotonic()
    with pytest.raises(FileNotFoundError, match=Path(manifest_list).name):
        warehouse.write(TABLE, rows(0, 10, 5), mode="merge", key=["id"], partition_by="day(day)")
    assert time.monotonic() - started < 10
    assert warehouse.catalog.load_table(TABLE).metadata_location == table.metadata_location
