"""A Postgres-backed SqlCatalog, with concurrent writers in separate processes committing to one table."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from oso_core.warehouse import CatalogConfig, Warehouse
from oso_core.warehouse.quality import accepting

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).parent.parent

WRITER = textwrap.dedent(
    """
    import sys, polars as pl
    from oso_core.warehouse import Warehouse
    worker, rounds = int(sys.argv[1]), int(sys.argv[2])
    warehouse = Warehouse()
    for i in range(rounds):
        ids = [worker * 1000 + i * 10 + j for j in range(10)]
        # merge: a fresh key range each round plus the worker's shared key rewritten every round
        batch = pl.DataFrame({"id": ids + [worker], "worker": [worker] * 11, "round": [i] * 11})
        warehouse.write("shared.events", batch, mode="merge", key=["id"])
        warehouse.write("shared.log", pl.DataFrame({"worker": [worker], "round": [i]}), mode="append")
    """
)


@pytest.fixture
def pg_lake(postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    database = f"lake_{os.getpid()}_{abs(hash(tmp_path)) % 10**6}"
    postgres.create_database(database)
    env = {
        "DAGSTER__ICEBERG__CATALOG_URI": postgres.url(database),
        "DAGSTER__ICEBERG__WAREHOUSE": f"file://{tmp_path / 'warehouse'}",
        "OSO_HOME": str(tmp_path / "oso"),
        "OSO_ENV_FILE": str(tmp_path / "no.env"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "warehouse").mkdir()
    return env


def test_every_mode_on_a_postgres_catalog(pg_lake):
    config = CatalogConfig.from_settings()
    assert config.uri.startswith("postgresql") and "***@" in config.redacted_uri()
    warehouse = Warehouse()
    warehouse.write("pg.t", pl.DataFrame({"id": [1, 2, 3], "v": ["a", "a", "a"]}), mode="append")
    warehouse.write("pg.t", pl.DataFrame({"id": [3, 4], "v": ["b", "b"]}), mode="merge", key=["id"])
    assert warehouse.sql("SELECT id, v FROM pg.t ORDER BY id").rows() == [(1, "a"), (2, "a"), (3, "b"), (4, "b")]
    with accepting(["pg.t:row_drop"]):  # 4 → 1 rows: the default gate refuses such a drop unless accepted
        warehouse.write("pg.t", pl.DataFrame({"id": [9], "v": ["z"]}), mode="replace")
    assert warehouse.read("pg.t").rows() == [(9, "z")]


def test_concurrent_writers_in_separate_processes_lose_no_rows(pg_lake):
    workers, rounds = 3, 4
    warehouse = Warehouse()
    # Create both tables first so the processes race on commits, not on creation.
    warehouse.write("shared.events", pl.DataFrame({"id": [-1], "worker": [-1], "round": [-1]}), mode="append")
    warehouse.write("shared.log", pl.DataFrame({"worker": [-1], "round": [-1]}), mode="append")
    env = {**os.environ, **pg_lake}
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(w), str(rounds)], cwd=ROOT, env=env)
        for w in range(1, workers + 1)
    ]
    codes = [p.wait(timeout=300) for p in procs]
    assert codes == [0] * workers

    events = warehouse.sql("SELECT id, worker, round FROM shared.events")
    # Every round's 10 fresh keys of every worker, each worker's shared key once (last round), the seed row.
    assert events.height == workers * rounds * 10 + workers + 1
    assert events["id"].n_unique() == events.height
    shared = events.filter(pl.col("id").is_between(1, workers)).sort("id")
    assert shared["round"].to_list() == [rounds - 1] * workers
    log = warehouse.sql("SELECT count(*) AS n FROM shared.log")
    assert log["n"][0] == workers * rounds + 1
    snapshots = warehouse.catalog.load_table("shared.events").snapshots()
    assert len(snapshots) == workers * rounds + 1  # one commit per call, none lost or doubled
