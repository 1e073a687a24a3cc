"""Benchmark: a 1M-row append to an object-store warehouse against the same append to the local embedded lake.

    .venv/bin/python bench/object_store.py                 # 1M rows, moto's S3 server and the GCS emulator
    .venv/bin/python bench/object_store.py --stores s3     # one store
    .venv/bin/python bench/object_store.py --rows 200000   # quick run

Prints ``object_store_append_vs_local: <ratio>`` (the slower store's best time over the local best; issue 11's
target is ≤ 2) and one ``object_store_append_vs_local_<store>`` line per store, with each case's peak RSS. Each
case runs in its own subprocess (so its peak RSS is its own) on a fresh lake whose catalog is SQLite on local disk
(the catalog is not what is measured); the store servers are started once, as their own processes, exactly as the
tests start them (``tests/support/object_stores.py``). Every case reads its row count back before reporting. The
stores are local emulators: the ratio measures the HTTP object-store path (pyarrow's S3/GCS clients, uploads,
the server's work), not a real network.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.warehouse import events, peak_rss_mib  # noqa: E402


def case(rows: int, reps: int) -> dict[str, float]:
    """One store's append, timed ``reps`` times into fresh tables (settings come from the environment)."""
    from oso_core.warehouse import Warehouse

    frame = events(rows)
    warehouse = Warehouse()
    times = []
    for rep in range(reps):
        started = time.perf_counter()
        warehouse.write(f"bench.events_{rep}", frame, mode="append")
        times.append(time.perf_counter() - started)
        assert warehouse.catalog.load_table(f"bench.events_{rep}").scan().count() == rows
    return {"best_s": min(times), "peak_rss_mib": peak_rss_mib()}


def run_case(name: str, env: dict[str, str], rows: int, reps: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--case", "--rows", str(rows), "--reps", str(reps)]
    done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--stores", default="s3,gcs", help="comma-separated: s3, gcs")
    parser.add_argument("--case", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(case(args.rows, args.reps)))
        return 0

    from tests.support.object_stores import start_gcs, start_s3

    root = Path(tempfile.mkdtemp(prefix="oso-bench-objstore-"))
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    results = {}
    local_env = {"OSO_HOME": str(root / "local"), "OSO_ENV_FILE": str(root / "no.env")}
    results["local"] = run_case("local", local_env, args.rows, args.reps)
    for kind in [s.strip() for s in args.stores.split(",") if s.strip()]:
        server = (start_s3 if kind == "s3" else start_gcs)(root)
        try:
            env = {
                "OSO_HOME": str(root / kind),
                "OSO_ENV_FILE": str(root / "no.env"),
                "DAGSTER__ICEBERG__WAREHOUSE": server.warehouse(f"bench-{kind}"),
                **server.env(),
            }
            results[kind] = run_case(kind, env, args.rows, args.reps)
        finally:
            server.stop()
    local = results["local"]["best_s"]
    print(f"rows: {args.rows}, best of {args.reps}")
    for name, result in results.items():
        print(f"  {name}: {result['best_s']:.3f} s, peak RSS {result['peak_rss_mib']:.0f} MiB")
    ratios = {k: v["best_s"] / local for k, v in results.items() if k != "local"}
    for kind, ratio in ratios.items():
        print(f"object_store_append_vs_local_{kind}: {ratio:.2f}")
    if ratios:
        print(f"object_store_append_vs_local: {max(ratios.values()):.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
