"""Benchmark of table maintenance: a table after a year of weekly merge windows and killed loads, then maintenance.

    .venv/bin/python bench/maintenance.py                 # 52 windows of 40k rows (~1 minute on 2 cores)
    .venv/bin/python bench/maintenance.py --rows-per-week 10000 --weeks 20   # quick run

The table is events-like (unique ``event_id`` increasing with time, ``created_at`` over 2024, partitioned by
``month(created_at)``), loaded as OSO's windowed sources load: one merge on ``event_id`` per weekly window, each
holding the week's new rows plus 10% of the week before, re-fetched and changed (the window that was still
open at the previous run). Then ten loads
are killed after staging their files (stray Parquet files left in ``data/``, dated two days back), and
``maintain_table`` runs with the history past retention (``--retention-days 0 --keep-last 1`` by default: with
the production defaults the files the compaction replaced stay referenced by the last 10 snapshots until those
age out). The content is checked unchanged (row count, keys, checksum via DuckDB) before anything is printed.

Prints ``name: value`` lines: ``files_after_vs_partitions`` (live data files ÷ partitions, target ≤ 1.5),
``bytes_after_vs_live_data`` (every byte under the table's location ÷ the live data files' bytes, target ≤ 1.2),
``scan_speedup_after_compaction`` (full ``Warehouse.read`` before ÷ after, best of 3 each, target ≥ 2), the
same for DuckDB's ``iceberg_scan``, and peak RSS.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.warehouse import check, load_average, peak_rss_mib  # noqa: E402

TABLE = "bench.events"
START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
WEEK_US = 7 * 86_400 * 1_000_000
KILLED_LOADS = 10


def week_rows(week: int, per_week: int, bump: int = 0):
    """The rows first loaded in ``week``: ids ``week*per_week ..``, spread over that week."""
    import polars as pl

    first = week * per_week
    ids = pl.int_range(first, first + per_week, dtype=pl.Int64, eager=True).alias("event_id")
    h = pl.col("event_id").hash(7)
    return pl.DataFrame({"event_id": ids}).select(
        "event_id",
        repo_id=(h % 200_000).cast(pl.Int64),
        actor=((h // 7) % 500_000).cast(pl.String).str.zfill(12),
        type=((h // 13) % 10).cast(pl.String).str.pad_start(10, "E"),
        created_at=pl.lit(START)
        + pl.duration(microseconds=((pl.col("event_id") - first) * (WEEK_US // per_week) + week * WEEK_US)),
        payload_size=((h // 17) % 100_000 + bump).cast(pl.Int32),
    )


def window_batch(week: int, per_week: int):
    """A weekly window as a windowed source loads it: the new week, plus the previous (then still open, "partial")
    window re-fetched, where 10% of its rows changed or arrived late."""
    import polars as pl

    parts = [week_rows(week, per_week)]
    if week > 0:
        parts.append(week_rows(week - 1, per_week, bump=week).filter(pl.col("event_id") % 10 == week % 10))
    return pl.concat(parts)


def expected_frame(weeks: int, per_week: int):
    """The table's content after every window, computed without the lake (last write of each key wins)."""
    import polars as pl

    batches = [window_batch(w, per_week).with_columns(pl.lit(w).alias("_w")) for w in range(weeks)]
    return pl.concat(batches).sort("_w").unique("event_id", keep="last").drop("_w")


def stored(location: str) -> tuple[int, int]:
    files = [p for p in Path(location.removeprefix("file://")).rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def best_of(n: int, call) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weeks", type=int, default=52, help="weekly merge windows (default 52)")
    parser.add_argument("--rows-per-week", type=int, default=40_000, help="new rows per window (default 40,000)")
    parser.add_argument("--retention-days", type=float, default=0, help="maintenance retention (default 0)")
    parser.add_argument("--keep-last", type=int, default=1, help="snapshots maintenance keeps (default 1)")
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-maintenance-") as tmp:
        run(args, args.work or Path(tmp))


def run(args: argparse.Namespace, work: Path) -> None:
    os.environ["OSO_HOME"] = str(work / "lake")
    import polars as pl

    from oso_core.warehouse import Warehouse
    from oso_core.warehouse.files import DataFileWriter
    from oso_core.warehouse.maintenance import MaintenancePolicy, maintain_table
    from oso_core.warehouse.reader import duckdb_connection
    from oso_core.warehouse.types import to_arrow

    print(f"# cores: {os.cpu_count()}, windows: {args.weeks} x {args.rows_per_week:,} rows (+ re-fetched rows)")
    print(f"# load average before: {load_average()}", flush=True)
    warehouse = Warehouse()
    started = time.perf_counter()
    for week in range(args.weeks):
        batch = window_batch(week, args.rows_per_week)
        warehouse.write(TABLE, batch, mode="merge", key=["event_id"], partition_by="month(created_at)")
    load_s = time.perf_counter() - started
    table = warehouse.catalog.load_table(TABLE)
    old = time.time() - 2 * 86_400
    strays = 0
    for killed in range(KILLED_LOADS):  # staged, never committed: what a killed load leaves behind
        week = args.weeks - 1 - killed % max(1, args.weeks)
        staged = DataFileWriter(table.metadata, table.io).write(to_arrow(window_batch(week, args.rows_per_week)))
        for data_file in staged:
            path = data_file.file_path.removeprefix("file://")
            os.utime(path, (old, old))
            strays += 1

    expected = expected_frame(args.weeks, args.rows_per_week)
    expected_sum = int(expected["payload_size"].cast(pl.Int64).sum())
    con = duckdb_connection()

    def duckdb_scan() -> tuple[int, int, int]:
        path = warehouse.catalog.load_table(TABLE).metadata_location.removeprefix("file://")
        got = con.execute(
            f"SELECT count(*), count(DISTINCT event_id), sum(payload_size) FROM iceberg_scan('{path}')"
        ).fetchone()
        return int(got[0]), int(got[1]), int(got[2])

    def checked(label: str) -> None:
        got = duckdb_scan()
        check(got == (expected.height, expected.height, expected_sum), f"{label}: content {got} != expected")
        frame = warehouse.read(TABLE)
        check(frame.height == expected.height, f"{label}: polars rows")

    checked("before")
    before = warehouse.catalog.load_table(TABLE)
    live_before = list(before.scan().plan_files())
    files_before, bytes_before = stored(before.metadata.location)
    scan_before = best_of(3, lambda: warehouse.read(TABLE))
    duck_before = best_of(3, duckdb_scan)

    policy = MaintenancePolicy(retention=timedelta(days=args.retention_days), keep_last=args.keep_last)
    started = time.perf_counter()
    report = maintain_table(warehouse.catalog, TABLE, policy)
    maintenance_s = time.perf_counter() - started
    print(report.render(), flush=True)

    checked("after")
    after = warehouse.catalog.load_table(TABLE)
    live_after = list(after.scan().plan_files())
    partitions = len({t.file.partition for t in live_after})
    live_bytes = sum(t.file.file_size_in_bytes for t in live_after)
    files_after, bytes_after = stored(after.metadata.location)
    check(report.orphans_deleted == strays, f"orphans deleted {report.orphans_deleted} != stray files {strays}")
    scan_after = best_of(3, lambda: warehouse.read(TABLE))
    duck_after = best_of(3, duckdb_scan)

    print(f"cores: {os.cpu_count()}")
    print(f"load_average_after: {load_average()}")
    print(f"files_after_vs_partitions: {len(live_after) / partitions:.2f}")
    print(f"bytes_after_vs_live_data: {bytes_after / live_bytes:.3f}")
    print(f"scan_speedup_after_compaction: {scan_before / scan_after:.2f}")
    print(f"duckdb_scan_speedup_after_compaction: {duck_before / duck_after:.2f}")
    print(f"rows: {expected.height}")
    print(f"partitions: {partitions}")
    print(f"live_data_files_before: {len(live_before)}")
    print(f"live_data_files_after: {len(live_after)}")
    print(f"stored_files_before: {files_before}")
    print(f"stored_files_after: {files_after}")
    print(f"stored_mib_before: {bytes_before / 2**20:.1f}")
    print(f"stored_mib_after: {bytes_after / 2**20:.1f}")
    print(f"live_data_mib_after: {live_bytes / 2**20:.1f}")
    print(f"stray_files: {strays}")
    print(f"snapshots_before_after: {report.snapshots_before} -> {report.snapshots_after}")
    print(f"scan_seconds_before: {scan_before:.3f}")
    print(f"scan_seconds_after: {scan_after:.3f}")
    print(f"load_seconds: {load_s:.1f}")
    print(f"maintenance_seconds: {maintenance_s:.2f}")
    print(f"peak_rss_mib: {peak_rss_mib():.0f}")


if __name__ == "__main__":
    main()
