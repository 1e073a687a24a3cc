"""Benchmark of ``oso_core.warehouse`` against the floor (a plain Parquet write) and pyiceberg's own upsert.

    .venv/bin/python bench/warehouse.py            # 5M rows, the issue's numbers (a few minutes)
    .venv/bin/python bench/warehouse.py --rows 500000   # quick run, same cases scaled down
    .venv/bin/python bench/warehouse.py --only merge_vs_pyiceberg_upsert,window_overwrite_vs_parquet
    .venv/bin/python bench/warehouse.py --only merge_50m_vs_5m --big-rows 50000000   # builds and caches the tables

``merge_50m_vs_5m`` merges the same 200k rows (100k updated keys of the last 14 days, 100k new) into a
month-partitioned table of 50M rows and of 5M rows, both growing at 50k rows a day up to the same day, once on the
increasing ``event_id`` (key statistics prune) and once on the hash-like ``uid`` (declared
``key_determines_partition``: partitions prune). The base tables are built once in batches and cached under
``bench/.runs/merge_base_<rows>/``; each case restores them (catalog copy, added files deleted) before and after.

Prints one ``name: value`` line per comparison. Every case runs in its own subprocess (so peak RSS is that
case's), checks its result (row counts, unique keys, changed values present) before reporting, and all ratios
use times measured in this same run. The data is events-like: unique increasing ``event_id``, ``created_at``
sorted over 90 days, ~200k distinct repos, 500k actors, 10 event types. ``streaming_rss_ratio`` compares the
peak RSS reached by the end of each streamed write, read before its check (the check's DuckDB
``count(DISTINCT event_id)`` over 5M rows needs a few hundred MiB of its own). The machine's load average is
printed before and after: other processes on a shared machine stretch every time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
DAYS = 90
BATCH = 100_000


# -- data ---------------------------------------------------------------------------------------------------------
def events(rows: int, first_id: int = 0, total: int | None = None, seed: int = 0):
    """Rows ``first_id .. first_id+rows`` of an events table of ``total`` rows (time increases with the id)."""
    import polars as pl

    total = total or rows
    span_us = DAYS * 86_400 * 1_000_000
    ids = pl.int_range(first_id, first_id + rows, dtype=pl.Int64, eager=True).alias("event_id")
    frame = pl.DataFrame({"event_id": ids})
    h = pl.col("event_id").hash(seed)
    return frame.select(
        "event_id",
        repo_id=(h % 200_000).cast(pl.Int64),
        actor=((h // 7) % 500_000).cast(pl.String).str.zfill(12),
        type=((h // 13) % 10).cast(pl.String).str.pad_start(10, "E"),
        created_at=pl.lit(START)
        + pl.duration(microseconds=(pl.col("event_id").cast(pl.Float64) * (span_us / max(total, 1))).cast(pl.Int64)),
        payload_size=((h // 17) % 100_000).cast(pl.Int32),
    )


def merge_batch(total: int, recent: bool, changed: int, seed: int = 1):
    """``changed`` existing keys (newest 10% of rows, or uniform) with payload_size+1, plus as many new keys."""
    import polars as pl

    low = int(total * 0.9) if recent else 0
    keys = pl.int_range(low, total, dtype=pl.Int64, eager=True).sample(changed, seed=seed).sort()
    old = events(total - low, first_id=low, total=total).filter(pl.col("event_id").is_in(keys.implode()))
    old = old.with_columns(pl.col("payload_size") + 1)
    new = events(changed, first_id=total, total=total)
    new = new.with_columns(created_at=pl.lit(START + timedelta(days=DAYS - 1), dtype=pl.Datetime("us", "UTC")))
    return pl.concat([old, new]), keys.to_list()


# -- measuring ------------------------------------------------------------------------------------------------------
def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def peak_rss_mib() -> float:
    """The process's peak RSS so far (VmHWM on Linux, where it can be read mid-run; else ru_maxrss)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_warehouse(work: Path):
    os.environ["OSO_HOME"] = str(work / "lake")
    from oso_core.warehouse import Warehouse

    return Warehouse()


def pyiceberg_catalog(work: Path):
    from pyiceberg.catalog.sql import SqlCatalog

    (work / "raw").mkdir(parents=True, exist_ok=True)
    cat = SqlCatalog("raw", uri=f"sqlite:///{work}/raw/catalog.db", warehouse=f"file://{work}/raw/wh")
    cat.create_namespace("ns")
    return cat


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"check failed: {what}")


def count_and_unique(warehouse, table: str) -> tuple[int, int]:
    got = warehouse.sql(f"SELECT count(*) AS n, count(DISTINCT event_id) AS u FROM {table}")
    return int(got["n"][0]), int(got["u"][0])


# -- cases (each runs in its own process) -----------------------------------------------------------------------
def case_parquet(rows: int, work: Path) -> dict:
    import pyarrow.parquet as pq

    from oso_core.warehouse.types import to_arrow

    table = to_arrow(events(rows))
    best = min(timed(lambda i=i: pq.write_table(table, work / f"f{i}.parquet", compression="zstd")) for i in range(3))
    check(pq.read_metadata(work / "f0.parquet").num_rows == rows, "parquet rows")
    return {"seconds": best}


def case_parquet_week(rows: int, work: Path) -> dict:
    import polars as pl
    import pyarrow.parquet as pq

    from oso_core.warehouse.types import to_arrow

    week = week_rows(events(rows))
    table = to_arrow(week)
    best = min(timed(lambda i=i: pq.write_table(table, work / f"w{i}.parquet", compression="zstd")) for i in range(3))
    written = pq.read_metadata(work / "w0.parquet").num_rows
    check(written == week.height > 0, f"parquet week rows {written} != {week.height}")
    del pl
    return {"seconds": best, "rows": week.height}


def week_rows(frame):
    import polars as pl

    lo = START + timedelta(days=7 * 6)
    return frame.filter(pl.col("created_at").is_between(lo, lo + timedelta(days=7), closed="left")).with_columns(
        pl.col("payload_size") + 7
    )


def case_append(rows: int, work: Path, partition_by: str | None = None) -> dict:
    warehouse = fresh_warehouse(work)
    frame = events(rows)
    # The table exists before timing (as in the pyiceberg baselines): create it with an empty frame.
    warehouse.write("bench.events", frame.head(0), mode="append", partition_by=partition_by)
    seconds = timed(lambda: warehouse.write("bench.events", frame, mode="append", partition_by=partition_by))
    check(count_and_unique(warehouse, "bench.events") == (rows, rows), "append rows")
    return {"seconds": seconds}


def case_partitioned_append(rows: int, work: Path) -> dict:
    return case_append(rows, work, partition_by="day(created_at)")


def _check_merge(warehouse_or_sql, table: str, total: int, batch, keys) -> None:
    import polars as pl

    n, unique = count_and_unique(warehouse_or_sql, table)
    check((n, unique) == (total + len(keys), total + len(keys)), f"merged rows {n}/{unique}")
    changed = batch.filter(pl.col("event_id").is_in(keys))
    expected = int(changed["payload_size"].cast(pl.Int64).sum())
    got = warehouse_or_sql.sql(
        f"SELECT sum(payload_size) AS s FROM {table} WHERE event_id IN (SELECT unnest({list(map(int, keys))}))"
    )
    check(int(got["s"][0]) == expected, "changed values present")


def _merge(rows: int, work: Path, recent: bool, partition_by: str | None) -> dict:
    warehouse = fresh_warehouse(work)
    warehouse.write("bench.events", events(rows), mode="append", partition_by=partition_by)
    batch, keys = merge_batch(rows, recent, changed=min(100_000, rows // 10))
    result = None

    def run():
        nonlocal result
        result = warehouse.write("bench.events", batch, mode="merge", key=["event_id"], partition_by=partition_by)

    seconds = timed(run)
    _check_merge(warehouse, "bench.events", rows, batch, keys)
    return {"seconds": seconds, "files_removed": result.files_removed, "files_added": result.files_added}


class _RawSql:
    """DuckDB over a plain pyiceberg table, so upsert results are checked by the same independent reader."""

    def __init__(self, table):
        from oso_core.warehouse.reader import duckdb_connection

        self.con = duckdb_connection()
        self.con.execute(f"CREATE VIEW t AS SELECT * FROM iceberg_scan('{table.metadata_location[7:]}')")

    def sql(self, query: str):
        return self.con.execute(query.replace("bench.raw", "t")).pl()


def _upsert(rows: int, work: Path, recent: bool, partitioned: bool) -> dict:
    from pyiceberg.transforms import DayTransform

    from oso_core.warehouse.types import to_arrow

    fresh_warehouse(work)  # OSO_HOME for the DuckDB extension folder
    cat = pyiceberg_catalog(work)
    base = to_arrow(events(rows))
    table = cat.create_table("ns.raw", schema=base.schema)
    if partitioned:
        with table.update_spec() as spec:
            spec.add_field("created_at", DayTransform(), "created_at_day")
    table.append(base)
    del base
    batch, keys = merge_batch(rows, recent, changed=min(100_000, rows // 10))
    arrow_batch = to_arrow(batch)
    seconds = timed(lambda: table.upsert(arrow_batch, join_cols=["event_id"]))
    _check_merge(_RawSql(cat.load_table("ns.raw")), "bench.raw", rows, batch, keys)
    return {"seconds": seconds}


def case_merge_recent(rows, work):
    return _merge(rows, work, recent=True, partition_by=None)


def case_upsert_recent(rows, work):
    return _upsert(rows, work, recent=True, partitioned=False)


def case_merge_uniform(rows, work):
    return _merge(rows, work, recent=False, partition_by=None)


def case_upsert_uniform(rows, work):
    return _upsert(rows, work, recent=False, partitioned=False)


def case_partitioned_merge(rows, work):
    return _merge(rows, work, recent=True, partition_by="day(created_at)")


def case_partitioned_upsert(rows, work):
    return _upsert(rows, work, recent=True, partitioned=True)


def case_window_overwrite(rows: int, work: Path) -> dict:
    import polars as pl

    warehouse = fresh_warehouse(work)
    warehouse.write("bench.events", events(rows), mode="append", partition_by="week(created_at)")
    week = week_rows(events(rows))
    seconds = timed(
        lambda: warehouse.write("bench.events", week, mode="overwrite_partitions", partition_by="week(created_at)")
    )
    check(count_and_unique(warehouse, "bench.events") == (rows, rows), "rows after window overwrite")
    got = warehouse.sql("SELECT sum(payload_size) AS s FROM bench.events")
    expected = int(events(rows)["payload_size"].cast(pl.Int64).sum()) + 7 * week.height
    check(int(got["s"][0]) == expected, "window values replaced")
    del pl
    return {"seconds": seconds, "rows": week.height}


def _stream(total: int, work: Path) -> dict:
    warehouse = fresh_warehouse(work)

    def batches() -> Iterator:
        for first in range(0, total, BATCH):
            yield events(min(BATCH, total - first), first_id=first, total=total)

    seconds = timed(lambda: warehouse.write("bench.events", batches(), mode="append", partition_by="day(created_at)"))
    write_rss = peak_rss_mib()  # before the check: DuckDB's count(DISTINCT) over all rows needs memory of its own
    check(count_and_unique(warehouse, "bench.events") == (total, total), "streamed rows")
    return {"seconds": seconds, "write_rss_mib": round(write_rss)}


def case_stream_all(rows, work):
    return _stream(rows, work)


def case_stream_one(rows, work):
    return _stream(BATCH, work)


# -- merge cost against table size (merge_50m_vs_5m) ---------------------------------------------------------------
# A table that grows at a constant rate (so 10x the rows is 10x the history), partitioned by month, always ending
# on the same day: the same 200k-row merge touches the same partitions whatever the table's size.
RATE_PER_DAY = 50_000
BIG_END = datetime(2026, 9, 28, tzinfo=UTC)
BIG_TABLE = "bench.big"
BIG_PARTITION = "month(created_at)"
BIG_BATCH = 1_000_000
BIG_CACHE = ROOT / "bench" / ".runs"
REPEATS = 3


def series(rows: int, first_id: int, total: int):
    """Rows ``first_id ..`` of a ``total``-row table: increasing ``event_id``, hash-like ``uid``, time fixed by id."""
    import polars as pl

    start = BIG_END - timedelta(days=total / RATE_PER_DAY)
    us_per_row = 86_400 * 1_000_000 / RATE_PER_DAY
    frame = pl.DataFrame({"event_id": pl.int_range(first_id, first_id + rows, dtype=pl.Int64, eager=True)})
    h = pl.col("event_id").hash(0)
    return frame.select(
        "event_id",
        uid=pl.col("event_id").hash(7).cast(pl.String).str.zfill(20),
        repo_id=(h % 200_000).cast(pl.Int64),
        actor=((h // 7) % 500_000).cast(pl.String).str.zfill(12),
        type=((h // 13) % 10).cast(pl.String).str.pad_start(10, "E"),
        created_at=pl.lit(start)
        + pl.duration(microseconds=(pl.col("event_id").cast(pl.Float64) * us_per_row).cast(pl.Int64)),
        payload_size=((h // 17) % 100_000).cast(pl.Int32),
    )


def big_home(rows: int) -> Path:
    return BIG_CACHE / f"merge_base_{rows}"


def build_big(rows: int) -> None:
    """Write the base table once (in batches, one commit) and record its files, so every case starts from it."""
    home = big_home(rows)
    if (home / "base.json").exists():
        return
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    os.environ["OSO_HOME"] = str(home)
    from oso_core.warehouse import Warehouse

    def batches() -> Iterator:
        for first in range(0, rows, BIG_BATCH):
            yield series(min(BIG_BATCH, rows - first), first, rows)

    Warehouse().write(BIG_TABLE, batches(), mode="append", partition_by=BIG_PARTITION)
    shutil.copy2(home / "catalog.db", home / "catalog.db.base")
    files = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())
    (home / "base.json").write_text(json.dumps(files))


def restore_big(rows: int) -> None:
    """Back to the base table: its catalog, without any file a merge added (data files are never changed)."""
    home = big_home(rows)
    base = set(json.loads((home / "base.json").read_text()))
    shutil.copy2(home / "catalog.db.base", home / "catalog.db")
    for path in home.rglob("*"):
        if path.is_file() and str(path.relative_to(home)) not in base and path.parent != home:
            path.unlink()


def _merge_big(rows: int, hash_keys: bool) -> dict:
    """200k rows into the cached table: 100k updated keys from the last 14 days, 100k new on the last day."""
    import polars as pl

    os.environ["OSO_HOME"] = str(big_home(rows))
    from oso_core.warehouse import Warehouse
    from oso_core.warehouse.reader import duckdb_connection, sql

    low = max(0, rows - 14 * RATE_PER_DAY)
    picked = pl.int_range(low, rows, dtype=pl.Int64, eager=True).sample(100_000, seed=3).sort()
    old = series(rows - low, low, rows).filter(pl.col("event_id").is_in(picked.implode()))
    new = series(100_000, rows, rows).with_columns(
        created_at=pl.lit(BIG_END - timedelta(hours=1), pl.Datetime("us", "UTC"))
    )
    batch = pl.concat([old.with_columns(pl.col("payload_size") + 1), new])
    key = "uid" if hash_keys else "event_id"
    warehouse = Warehouse()
    result = None

    def run():
        nonlocal result
        result = warehouse.write(
            BIG_TABLE, batch, mode="merge", key=[key], partition_by=BIG_PARTITION, key_determines_partition=hash_keys
        )

    seconds = timed(run)
    merge_rss = peak_rss_mib()  # before the check, which reads the table with DuckDB
    con = duckdb_connection()
    con.register("k", batch.select(key, "payload_size").to_arrow())
    lo = (BIG_END - timedelta(days=20)).isoformat()
    got = sql(
        warehouse.catalog,
        f"SELECT (SELECT count(*) FROM {BIG_TABLE}) AS n, count(*) AS m, count(DISTINCT t.{key}) AS u, "
        f"sum(t.payload_size) AS s FROM {BIG_TABLE} t JOIN k USING ({key}) WHERE t.created_at >= '{lo}'",
        con,
    )
    n, m, u, total = got.row(0)
    check(n == rows + 100_000, f"rows after merge {n}")
    check(m == u == batch.height, f"merged keys present once ({m}, {u})")
    check(total == int(batch["payload_size"].cast(pl.Int64).sum()), "merged values")
    assert result is not None
    return {
        "seconds": seconds,
        "merge_rss_mib": round(merge_rss),
        "files_removed": result.files_removed,
        "files_added": result.files_added,
    }


def case_merge_big_recent(rows, work):
    return _merge_big(rows, hash_keys=False)


def case_merge_big_hash(rows, work):
    return _merge_big(rows, hash_keys=True)


def case_build_big(rows, work):
    return {"seconds": timed(lambda: build_big(rows))}


def merge_by_size(big: int) -> dict[str, float]:
    """``merge_50m_vs_5m``: the same merge into ``big`` rows ÷ into ``big // 10``, recent and hash-like keys."""
    small = big // 10
    r: dict[tuple[str, int], dict] = {}
    for rows in (small, big):
        if not (big_home(rows) / "base.json").exists():
            print(f"# building the cached {rows:,}-row base table under {big_home(rows)}", flush=True)
            run_case("build_big", rows)
    # Best of REPEATS, sizes interleaved: the same work measured at different moments of a shared machine's load
    # otherwise differs by 2-3x. Peak RSS is the highest seen.
    for _ in range(REPEATS):
        for kind in ("recent", "hash"):
            for rows in (small, big):
                restore_big(rows)
                try:
                    got = run_case(f"merge_big_{kind}", rows)
                finally:
                    restore_big(rows)
                best = r.setdefault((kind, rows), got)
                best["extra"]["merge_rss_mib"] = max(best["extra"]["merge_rss_mib"], got["extra"]["merge_rss_mib"])
                best["seconds"] = min(best["seconds"], got["seconds"])
    out = {}
    for kind in ("recent", "hash"):
        out[f"merge_{big // 1_000_000}m_vs_{small // 1_000_000}m_{kind}"] = (
            r[kind, big]["seconds"] / r[kind, small]["seconds"]
        )
        for rows in (small, big):
            extra = r[kind, rows]["extra"]
            out[f"merge_{kind}_{rows // 1_000_000}m_seconds"] = r[kind, rows]["seconds"]
            out[f"merge_{kind}_{rows // 1_000_000}m_peak_rss_mib"] = extra["merge_rss_mib"]
            out[f"merge_{kind}_{rows // 1_000_000}m_files_removed"] = extra["files_removed"]
    return out


CASES = {name.removeprefix("case_"): fn for name, fn in globals().items() if name.startswith("case_")}


def run_case(name: str, rows: int, timeout: float | None = None) -> dict:
    """Run one case in a fresh process. A baseline that exceeds ``timeout`` reports the timeout (a lower bound)."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as work:
        try:
            out = subprocess.run(
                [sys.executable, __file__, "--case", name, "--rows", str(rows), "--work", work],
                capture_output=True,
                text=True,
                cwd=ROOT,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            print(f"# {name}: stopped after {timeout:.0f} s; its ratio is a lower bound", flush=True)
            return {"seconds": timeout, "rss_mib": float("nan"), "lower_bound": True}
    if out.returncode:
        raise SystemExit(f"case {name} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"# {name}: {result['seconds']:.3f} s, peak RSS {result['rss_mib']:.0f} MiB {result.get('extra', '')}",
        flush=True,
    )
    return result


# comparison name -> (cases it needs, how its value is computed from their results, how it is printed)
COMPARISONS: dict[str, tuple[tuple[str, ...], Callable[[dict], float], str]] = {
    "append_vs_parquet": (("parquet", "append"), lambda r: r["append"]["seconds"] / r["parquet"]["seconds"], ".2f"),
    "partitioned_append_vs_parquet": (
        ("parquet", "partitioned_append"),
        lambda r: r["partitioned_append"]["seconds"] / r["parquet"]["seconds"],
        ".2f",
    ),
    "merge_vs_pyiceberg_upsert": (
        ("merge_recent", "upsert_recent"),
        lambda r: r["upsert_recent"]["seconds"] / r["merge_recent"]["seconds"],
        ".1f",
    ),
    "merge_uniform_vs_pyiceberg_upsert": (
        ("merge_uniform", "upsert_uniform"),
        lambda r: r["upsert_uniform"]["seconds"] / r["merge_uniform"]["seconds"],
        ".1f",
    ),
    "partitioned_merge_vs_pyiceberg_upsert": (
        ("partitioned_merge", "partitioned_upsert"),
        lambda r: r["partitioned_upsert"]["seconds"] / r["partitioned_merge"]["seconds"],
        ".1f",
    ),
    "window_overwrite_vs_parquet": (
        ("parquet_week", "window_overwrite"),
        lambda r: r["window_overwrite"]["seconds"] / r["parquet_week"]["seconds"],
        ".2f",
    ),
    "streaming_rss_ratio": (
        ("stream_all", "stream_one"),
        lambda r: r["stream_all"]["extra"]["write_rss_mib"] / r["stream_one"]["extra"]["write_rss_mib"],
        ".2f",
    ),
}


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000, help="rows of the big table (default 5M)")
    parser.add_argument("--upsert-timeout", type=float, default=240, help="stop the partitioned upsert after this")
    parser.add_argument("--only", help=f"comma-separated comparisons to run (default all: {', '.join(COMPARISONS)})")
    parser.add_argument(
        "--big-rows", type=int, default=50_000_000, help="merge_50m_vs_5m: rows of the big table (small: a tenth)"
    )
    parser.add_argument("--case")
    parser.add_argument("--work")
    args = parser.parse_args()
    if args.case:
        result = CASES[args.case](args.rows, Path(args.work))
        seconds = result.pop("seconds")
        print(json.dumps({"seconds": seconds, "rss_mib": peak_rss_mib(), "extra": result}))
        return

    chosen = args.only.split(",") if args.only else [*COMPARISONS, "merge_50m_vs_5m"]
    by_size = "merge_50m_vs_5m" in chosen
    chosen = [c for c in chosen if c != "merge_50m_vs_5m"]
    unknown = set(chosen) - set(COMPARISONS)
    if unknown:
        parser.error(f"unknown comparisons: {', '.join(sorted(unknown))}")
    rows, small = args.rows, max(args.rows // 5, 10_000)
    print(f"# cores: {os.cpu_count()}, rows: {rows:,} (partitioned merge: {small:,}), batch {BATCH:,}")
    print(f"# load average before: {load_average()}", flush=True)
    r: dict[str, dict] = {}
    for comparison in chosen:
        for name in COMPARISONS[comparison][0]:
            if name in r:
                continue
            if name == "partitioned_merge":
                r[name] = run_case(name, small)
            elif name == "partitioned_upsert":
                r[name] = run_case(name, small, timeout=args.upsert_timeout)
            else:
                r[name] = run_case(name, rows)

    sized = merge_by_size(args.big_rows) if by_size else {}

    print(f"cores: {os.cpu_count()}")
    print(f"load_average_after: {load_average()}")
    for comparison in chosen:
        cases, value, fmt = COMPARISONS[comparison]
        bound = ">=" if any(r[c].get("lower_bound") for c in cases) else ""
        print(f"{comparison}: {bound}{value(r):{fmt}}")
    for name, result in r.items():
        print(f"{name}_seconds: {result['seconds']:.3f}")
        print(f"{name}_peak_rss_mib: {result['rss_mib']:.0f}")
    for name, value in sized.items():
        print(f"{name}: {value:.2f}" if isinstance(value, float) else f"{name}: {value}")


if __name__ == "__main__":
    main()
