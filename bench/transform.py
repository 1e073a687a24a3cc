"""Benchmark of the transformation stage: the starter project's ossd models over a scaled-up lake.

    .venv/bin/python bench/transform.py                            # 100k projects, 1M repositories, then 4x
    .venv/bin/python bench/transform.py --projects 20000 --repositories 200000 --factors 1

The lake holds ``ossd.projects`` (each with a repository URL and an owner URL in ``github``) and
``ossd.repositories`` (ten per owner), written with the warehouse writer; the project is the starter project's
three ossd models (``flows/sqlmesh_project``: two staging models and ``projects_by_repositories``) with its macro
and audits. Each scale runs in a fresh process of its own (``--case``), the lake built by another before it, so the
peak RSS is the transform's own (``peak_rss_mib``: the process's high-water mark, reset after opening, read when the
transform returns) and the publish's (``publish_peak_rss_mib``, reset again before it).

Prints ``name: value`` lines per scale: ``transform_vs_duckdb_floor`` (``run_transform``: plan with auto-apply,
evaluation and audits, ÷ the same three models' SQL, transpiled to DuckDB by sqlglot, run by DuckDB over the same
pinned views into a DuckDB file, as the transform's tables persist; target ≤ 1.5; ``_memory_floor`` is the same
into ``:memory:``, for reference), ``publish_vs_parquet`` (publishing the three outputs to the lake ÷ reading the same
rows from the gateway and writing them as plain Parquet; target ≤ 1.2), the peak RSS, and how it grows from 1x to
4x (target: sub-linear). The published row counts are checked against DuckDB's before anything is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.warehouse import check, load_average, peak_rss_mib  # noqa: E402

STARTER = ROOT / "flows" / "sqlmesh_project"
MODELS = [
    "staging/oss_directory/stg_ossd__current_projects.sql",
    "staging/oss_directory/stg_ossd__current_repositories.sql",
    "marts/projects_by_repositories.sql",
]


def build_lake(projects: int, repositories: int) -> None:
    import polars as pl

    from oso_core.warehouse import Warehouse

    urls = pl.List(pl.Struct({"url": pl.String}))
    n = pl.int_range(0, projects, eager=True)
    owner = "https://github.com/o" + n.cast(pl.String)
    frame = pl.DataFrame({"version": pl.Series([7] * projects, dtype=pl.Int64), "name": "p" + n.cast(pl.String)})
    frame = frame.with_columns(
        display_name=pl.col("name").str.to_uppercase(),
        description=pl.lit("a project"),
        github=pl.concat_list(
            pl.struct(url=pl.lit(owner)), pl.struct(url=pl.lit(owner) + "/r" + (n * 10).cast(pl.String))
        ),
        committed_time=pl.lit(datetime(2025, 1, 1, tzinfo=UTC)),
        sha=pl.lit(b"\x01\x02"),
    )
    for column in ("websites", "npm", "crates", "pypi", "go", "open_collective", "defillama"):
        frame = frame.with_columns(pl.lit(None, dtype=urls).alias(column))
    social = pl.Struct({k: urls for k in ("farcaster", "medium", "mirror", "telegram", "twitter")})
    chain = pl.List(pl.Struct({"address": pl.String, "tags": pl.List(pl.String), "networks": pl.List(pl.String),
                               "name": pl.String}))  # fmt: skip
    frame = frame.with_columns(
        pl.lit(None, dtype=social).alias("social"),
        pl.lit(None, dtype=chain).alias("blockchain"),
        pl.lit(None, dtype=pl.List(pl.String)).alias("comments"),
    )
    r = pl.int_range(0, repositories, eager=True)
    owners = "o" + (r // 10 % projects).cast(pl.String)
    repos = pl.DataFrame(
        {
            "ingestion_time": pl.Series([datetime(2025, 1, 2, tzinfo=UTC)] * repositories),
            "id": r,
            "node_id": "n" + r.cast(pl.String),
            "owner": owners,
            "name_with_owner": owners + "/r" + r.cast(pl.String),
            "url": "https://github.com/" + owners + "/r" + r.cast(pl.String),
            "name": "r" + r.cast(pl.String),
            "is_fork": r % 7 == 0,
            "branch": pl.Series(["main"] * repositories),
            "fork_count": r % 50,
            "star_count": r % 1000,
            "watcher_count": r % 30,
            "license_spdx_id": pl.Series(["MIT"] * repositories),
            "license_name": pl.Series(["MIT License"] * repositories),
            "language": pl.Series(["Rust"] * repositories),
            "created_at": pl.Series([datetime(2020, 1, 1, tzinfo=UTC)] * repositories),
            "updated_at": pl.Series([datetime(2025, 1, 1, tzinfo=UTC)] * repositories),
        }
    )
    warehouse = Warehouse()
    warehouse.write("ossd.projects", frame, mode="replace")
    warehouse.write("ossd.repositories", repos, mode="replace")


def make_project(folder: Path) -> Path:
    (folder / "models").mkdir(parents=True)
    for name in ("config.yaml", "macros", "audits"):
        source = STARTER / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, folder / name)
    for model in MODELS:
        shutil.copy(STARTER / "models" / model, folder / "models" / Path(model).name)
    return folder


def floor_sql(path: Path) -> str:
    """A model's query (its MODEL block dropped, @oso_source resolved), transpiled from Trino to DuckDB."""
    import sqlglot

    text = path.read_text()
    query = text[text.index(");", text.index("MODEL (")) + 2 :]
    query = re.sub(r"@oso_source\('bigquery\.(\w+)\.(\w+)'\)", r"sources__bigquery__\1.\2", query)
    return sqlglot.transpile(query, read="trino", write="duckdb")[0]


def duckdb_floor(database: Path, into: str = ":memory:") -> float:
    """The three models' SQL run by DuckDB over the same pinned views, into tables of the database ``into``.

    The transform's tables persist in the gateway's DuckDB file (the publish reads them from there, and a later run
    publishes an unchanged model from the table it keeps), so the floor the ratio divides by writes a DuckDB file
    too, with the gateway's storage settings (uncompressed), checkpointed before the clock stops (the transform
    closes its file before it returns); ``:memory:`` is the lower bound without persistence, printed beside it.
    """
    from oso_core.warehouse.reader import duckdb_connection

    con = duckdb_connection()
    con.execute(f"ATTACH '{database}' AS transform (READ_ONLY)")
    con.execute("USE transform")
    if into != ":memory:":  # the gateway's storage settings (its tables uncompressed): the same materialization
        from oso_core.transform.gateway import GATEWAY_DUCKDB_CONFIG

        for name, value in GATEWAY_DUCKDB_CONFIG.items():
            con.execute(f"SET {name} = '{value}'")
    con.execute(f"ATTACH '{into}' AS floor")
    con.execute("CREATE SCHEMA floor.oso")
    started = time.perf_counter()
    for model in MODELS:
        name = Path(model).stem
        sql = floor_sql(STARTER / "models" / model).replace("oso.stg", "floor.oso.stg")
        con.execute(f"CREATE TABLE floor.oso.{name} AS {sql}")
    if into != ":memory:":
        con.execute("CHECKPOINT floor")
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def parquet_floor(database: Path, tables: list[str], out: Path) -> float:
    import pyarrow.parquet as pq

    from oso_core.warehouse.reader import duckdb_connection

    con = duckdb_connection()
    con.execute(f"ATTACH '{database}' AS transform (READ_ONLY)")
    started = time.perf_counter()
    for i, table in enumerate(tables):
        pq.write_table(con.execute(f"SELECT * FROM {table}").fetch_arrow_table(), out / f"{i}.parquet")
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def reset_peak_rss() -> None:
    """Start the process's RSS high-water mark (VmHWM) again from its current RSS (Linux; elsewhere a no-op, and
    the peaks are the process's so far)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def case(projects: int, repositories: int, work: Path) -> dict[str, float]:
    """One scale in this process: build, transform, floor, publish, parquet; the figures as JSON."""
    os.environ["OSO_HOME"] = str(work / "home")
    os.environ["DAGSTER__TRANSFORM__PROJECT"] = str(make_project(work / "project"))
    from oso_core.transform.gateway import GatewayFiles
    from oso_core.transform.publish import publish_models
    from oso_core.transform.runner import TransformOptions, run_transform
    from oso_core.warehouse import Warehouse

    command = [sys.executable, __file__, "--build", "--projects", str(projects), "--repositories", str(repositories)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, env={**os.environ})
    check(done.returncode == 0, f"lake build failed:\n{done.stderr[-3000:]}")
    # The catalog opened and a table loaded before the clock (pyiceberg's file IO imported), as when the lake was
    # built in this process and as in a flow that loads before it transforms; nothing of DuckDB's is warmed.
    Warehouse().catalog.load_table("ossd.projects")
    reset_peak_rss()
    started = time.perf_counter()
    run = run_transform(TransformOptions())
    transform_s = time.perf_counter() - started
    transform_rss = peak_rss_mib()
    check(not run.failed, f"models failed: {[m.error for m in run.failed]}")
    database = GatewayFiles.in_home().database
    floor_s = duckdb_floor(database, str(work / "floor.duckdb"))
    memory_floor_s = duckdb_floor(database)
    warehouse = Warehouse()
    reset_peak_rss()
    started = time.perf_counter()
    published = publish_models(warehouse, run.models, database, "oso", run.plan_id)
    publish_s = time.perf_counter() - started
    publish_rss = peak_rss_mib()
    check({p.state for p in published} == {"published"}, f"publish: {[(p.model, p.detail) for p in published]}")
    (work / "parquet").mkdir()
    parquet_s = parquet_floor(database, [m.table for m in run.models], work / "parquet")
    for p in published:
        got = warehouse.sql(f"SELECT count(*) AS n FROM {p.table}")["n"][0]
        check(got == p.rows, f"{p.table}: {got} rows read back, {p.rows} published")
    return {
        "transform_s": transform_s,
        "floor_s": floor_s,
        "memory_floor_s": memory_floor_s,
        "publish_s": publish_s,
        "parquet_s": parquet_s,
        "rows": float(sum(p.rows for p in published)),
        "peak_rss_mib": transform_rss,
        "publish_peak_rss_mib": publish_rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # issue 18's scale: there the fixed cost of a sqlmesh plan (~2-3 s) no longer hides how the SQL itself fares
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--repositories", type=int, default=1_000_000)
    parser.add_argument("--factors", default="1,4", help="scales to run, comma-separated (default 1,4)")
    parser.add_argument("--case", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--build", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:  # into the case's OSO_HOME, in a process of its own: its frames are not in the case's peak RSS
        build_lake(args.projects, args.repositories)
        return
    if args.case:
        with tempfile.TemporaryDirectory(prefix="oso-bench-transform-") as work:
            print(json.dumps(case(args.projects, args.repositories, Path(work))))
        return
    print(f"load average before: {load_average()}")
    results = {}
    for factor in (int(f) for f in args.factors.split(",")):
        command = [sys.executable, __file__, "--case", "--projects", str(args.projects * factor),
                   "--repositories", str(args.repositories * factor)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600, env={**os.environ})
        check(done.returncode == 0, f"scale {factor}x failed:\n{done.stderr[-3000:]}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        results[factor] = figures
        label = f"{factor}x ({args.projects * factor:,} projects, {args.repositories * factor:,} repositories)"
        print(f"{label} transform_s: {figures['transform_s']:.2f}")
        print(f"{label} duckdb_floor_s: {figures['floor_s']:.2f}")
        print(f"{label} duckdb_memory_floor_s: {figures['memory_floor_s']:.2f}")
        print(f"{label} transform_vs_duckdb_floor: {figures['transform_s'] / figures['floor_s']:.2f}")
        print(f"{label} transform_vs_duckdb_memory_floor: {figures['transform_s'] / figures['memory_floor_s']:.2f}")
        print(f"{label} publish_s: {figures['publish_s']:.2f}")
        print(f"{label} publish_vs_parquet: {figures['publish_s'] / figures['parquet_s']:.2f}")
        print(f"{label} peak_rss_mib: {figures['peak_rss_mib']:.0f}")
        print(f"{label} publish_peak_rss_mib: {figures['publish_peak_rss_mib']:.0f}")
    if len(results) > 1:
        low, high = min(results), max(results)
        growth = results[high]["peak_rss_mib"] / results[low]["peak_rss_mib"]
        print(f"peak_rss_growth_{low}x_to_{high}x: {growth:.2f} (data grew {high / low:.0f}x)")
        growth = results[high]["publish_peak_rss_mib"] / results[low]["publish_peak_rss_mib"]
        print(f"publish_peak_rss_growth_{low}x_to_{high}x: {growth:.2f}")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
