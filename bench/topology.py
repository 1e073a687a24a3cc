"""The weekly replay spread over one worker, then two: does a second worker shorten the weekly run?

    PYTHONPATH=$PWD .venv/bin/python bench/topology.py                  # every source in flows/, 1 run per worker
    PYTHONPATH=$PWD .venv/bin/python bench/topology.py --per-worker 2   # each worker runs two sources at once

One Prefect server, one PostgreSQL catalog cluster, and for each topology a fresh catalog database and
warehouse prefix (so both runs do the same work: windowed sources find nothing loaded). The lake is production's
shape: the catalog in PostgreSQL, the warehouse on an object store (``--store s3``: moto's S3 server, default;
``gcs``: the GCS emulator; ``local``: a shared directory, to see what the store costs), started once as the tests
start them (``tests/support/object_stores.py``), so the workers share nothing on local disk. Each worker runs in its
own copy of the project (``tests/support/workers.py``), capped at ``--per-worker`` flow runs at once (a node's
capacity); the weekly run itself runs on a separate orchestrator worker and starts each source as a run of the
source's deployment (``oso_core.ops.pipeline``).

Replay on workers: this process opens every source's replay (servers, stand-in secrets in the environment the
workers inherit) and writes the replay parameters into the bench's own deployments, the way a staging
environment would point deployments at its own endpoints. Time is the weekly flow run's wall time, from its
creation to its final state (worker start-up excluded). Prints ``weekly_one_worker_s``, ``weekly_two_workers_s``
and ``weekly_two_workers_vs_one: <ratio>`` (issue 11's target: <= 0.75 on this 2-core machine), then
``object_store_append_vs_local: <ratio>``: a 1M-row append to the same store over one to a local lake (target <= 2;
``bench/object_store.py`` measures both stores).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _start_server(home: Path):
    from tests.support.ports import free_port

    port = free_port()
    os.environ.update(
        PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
        PREFECT_HOME=str(home / "client"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    from tests.support.prefect_server import start_prefect_server

    return start_prefect_server(home / "server", port=port)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def run_topology(
    n_workers: int, per_worker: int, tmp: Path, postgres, store, config: dict, extra: dict[str, str]
) -> float:
    """One weekly run on ``n_workers`` source workers (each its own project copy), on a fresh catalog database and
    warehouse (a prefix of ``store``'s bucket, or a local directory when ``store`` is None)."""
    from prefect.deployments import run_deployment

    from tests.support.workers import project_copy, start_worker, worker_env

    tag = f"{n_workers}w-{uuid.uuid4().hex[:4]}"
    database = f"topology_{tag.replace('-', '_')}"
    postgres.create_database(database)
    if store is None:
        (tmp / f"warehouse-{tag}").mkdir()
        lake = {"DAGSTER__ICEBERG__WAREHOUSE": f"file://{tmp / f'warehouse-{tag}'}"}
    else:
        lake = {"DAGSTER__ICEBERG__WAREHOUSE": store.warehouse(f"topology-{tag}"), **store.env()}
    lake["DAGSTER__ICEBERG__CATALOG_URI"] = postgres.url(database)
    workers = []
    try:
        copies = {name: project_copy(tmp / f"{tag}-{name}") for name in ["orchestrator", *map(str, range(n_workers))]}
        for name, project in copies.items():
            pool = config["weekly_pool"] if name == "orchestrator" else config["pool"]
            limit = None if name == "orchestrator" else per_worker
            workers.append(start_worker(f"{tag}-{name}", pool, project, worker_env(project, {**extra, **lake}), limit))
        started = time.perf_counter()
        run = run_deployment("oso-weekly/weekly", timeout=None)
        elapsed = time.perf_counter() - started
        print(f"{n_workers} worker(s): weekly {run.state.name} in {elapsed:.1f}s ({run.state.message})", flush=True)
        if not run.state.is_completed():
            print(workers[0].log()[-4000:], file=sys.stderr)
        return elapsed
    finally:
        for worker in workers:
            worker.stop()


def append_ratio(store, tmp: Path, rows: int, reps: int = 3) -> float:
    """The same ``rows``-row append (best of ``reps``, each case in its own subprocess) to ``store`` ÷ to a local
    lake: ``bench/object_store.py``'s measurement, on this run's store."""
    from bench.object_store import run_case

    base = {"OSO_ENV_FILE": str(tmp / "no.env")}
    local = run_case("local", {**base, "OSO_HOME": str(tmp / "append-local")}, rows, reps)
    remote_env = {
        **base,
        "OSO_HOME": str(tmp / "append-store"),
        "DAGSTER__ICEBERG__WAREHOUSE": store.warehouse("append-bench"),
        **store.env(),
    }
    remote = run_case(store.kind, remote_env, rows, reps)
    print(f"append of {rows:,} rows: local {local['best_s']:.3f} s, {store.kind} {remote['best_s']:.3f} s")
    return remote["best_s"] / local["best_s"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/topology.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-worker", type=int, default=1, help="flow runs each worker runs at once (default 1)")
    parser.add_argument("--concurrency", type=int, default=4, help="sources the weekly run keeps in flight")
    parser.add_argument("--store", choices=("s3", "gcs", "local"), default="s3", help="where the warehouse is")
    parser.add_argument(
        "--append-rows", type=int, default=1_000_000, help="rows of the append timed on the store (0: skip)"
    )
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="oso-topology-"))
    server = _start_server(tmp)
    from oso_dev.pgtemp import start_postgres

    postgres = start_postgres()
    from tests.support.object_stores import start_gcs, start_s3

    (tmp / "store").mkdir()
    store = None if args.store == "local" else (start_s3 if args.store == "s3" else start_gcs)(tmp / "store")
    try:
        from blocks.deployments import project_config, pull_steps
        from oso_core.model.sources import discover_sources
        from oso_dev.replay import replay_parameters
        from tests.support.workers import create_pool, deploy, project_copy, worker_env

        suffix = uuid.uuid4().hex[:6]
        pool, weekly_pool = f"sources-{suffix}", f"weekly-{suffix}"
        create_pool(pool)
        create_pool(weekly_pool)
        sources = discover_sources()
        with contextlib.ExitStack() as replays:
            params = {name: _jsonable(replays.enter_context(replay_parameters(s))) for name, s in sources.items()}
            config = project_config(sources, work_pool=pool, pull=pull_steps("OSO_PROJECT_DIR"),
                                    weekly_work_pool=weekly_pool)  # fmt: skip
            for deployment in config["deployments"]:
                if deployment["name"] in params:
                    deployment["parameters"] = params[deployment["name"]]
                if deployment["name"] == "weekly":
                    deployment["parameters"] = {"concurrency": args.concurrency}
            extra = {"OSO_ENV_FILE": "/nonexistent.env"}
            deployer = project_copy(tmp / "deployer")
            deploy(deployer, config, worker_env(deployer, extra))
            pools = {"pool": pool, "weekly_pool": weekly_pool}
            one = run_topology(1, args.per_worker, tmp, postgres, store, pools, extra)
            two = run_topology(2, args.per_worker, tmp, postgres, store, pools, extra)
        print(f"sources: {len(sources)}; per worker at once: {args.per_worker}; "
              f"weekly concurrency: {args.concurrency}; warehouse: {args.store}")  # fmt: skip
        print(f"weekly_one_worker_s: {one:.1f}")
        print(f"weekly_two_workers_s: {two:.1f}")
        print(f"weekly_two_workers_vs_one: {two / one:.2f}")
        if store is not None and args.append_rows:
            print(f"object_store_append_vs_local: {append_ratio(store, tmp, args.append_rows):.2f}")
    finally:
        if store is not None:
            store.stop()
        postgres.stop()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
