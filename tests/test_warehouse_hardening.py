"""Issue 10's warehouse faults: creation races, OSO_HOME paths, table names, a locked catalog, replace's schema."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest
from pyiceberg.table import Table

from oso_core.warehouse import RetryPolicy, Warehouse, WarehouseError

ROOT = Path(__file__).parent.parent


def referenced_files(table: Table) -> set[Path]:
    """Every file some snapshot or metadata version of ``table`` references (deleted entries included)."""
    io = table.io
    paths = {table.metadata_location, *(entry.metadata_file for entry in table.metadata.metadata_log)}
    for snapshot in table.snapshots():
        paths.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(io):
            paths.add(manifest.manifest_path)
            paths.update(e.data_file.file_path for e in manifest.fetch_manifest_entry(io, discard_deleted=False))
    return {Path(p.removeprefix("file://")) for p in paths}


def stray_files(warehouse: Warehouse, table: str) -> set[Path]:
    """Files in the table's folder that nothing references."""
    loaded = warehouse.catalog.load_table(table)
    on_disk = {p for p in Path(loaded.location().removeprefix("file://")).rglob("*") if p.is_file()}
    return on_disk - referenced_files(loaded)


# -- 1: first writes into a new namespace and table from many processes at once ----------------------------------
FIRST_WRITER = textwrap.dedent(
    """
    import sys, time, pathlib, polars as pl
    from oso_core.warehouse import Warehouse
    worker, workers, rounds, gate = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), pathlib.Path(sys.argv[4])
    warehouse = Warehouse()
    for r in range(rounds):
        # a barrier per round: every process writes the first rows of a new namespace and table at once
        (gate / f"{r}_{worker}").touch()
        deadline = time.monotonic() + 60
        while len(list(gate.glob(f"{r}_*"))) < workers:
            if time.monotonic() > deadline:
                sys.exit(f"round {r}: another writer never came (it failed)")
            time.sleep(0.001)
        rows = worker + 1
        frame = pl.DataFrame({"worker": [worker] * rows, "n": list(range(rows))})
        warehouse.write(f"fresh_{r}.events", frame, mode="append")
    """
)


def _first_writes_race(tmp_path: Path, env: dict[str, str], workers: int = 8, rounds: int = 3) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_WRITER, str(w), str(workers), str(rounds), str(gate)],
            cwd=ROOT,
            env={**os.environ, **env},
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    try:
        errors = [proc.communicate(timeout=300)[1] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    failures = [err[-2000:] for proc, err in zip(procs, errors, strict=True) if proc.returncode != 0]
    assert failures == []
    warehouse = Warehouse()
    for r in range(rounds):
        got = warehouse.sql(f"SELECT worker, count(*) AS n FROM fresh_{r}.events GROUP BY worker ORDER BY worker")
        assert got.rows() == [(w, w + 1) for w in range(workers)]
        assert warehouse.catalog.list_tables(f"fresh_{r}") == [(f"fresh_{r}", "events")]
        assert len(warehouse.catalog.load_table(f"fresh_{r}.events").snapshots()) == workers


def test_first_writes_from_many_processes_into_a_new_namespace_sqlite(oso_home: Path, tmp_path: Path):
    Warehouse()  # the catalog file exists; the processes race on the namespace and the table
    _first_writes_race(tmp_path, {"OSO_HOME": str(oso_home), "OSO_ENV_FILE": str(tmp_path / "no.env")})


@pytest.mark.postgres
def test_first_writes_from_many_processes_into_a_new_namespace_postgres(
    postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    database = f"race_{os.getpid()}_{abs(hash(tmp_path)) % 10**6}"
    postgres.create_database(database)
    env = {
        "DAGSTER__ICEBERG__CATALOG_URI": postgres.url(database),
        "DAGSTER__ICEBERG__WAREHOUSE": str(tmp_path / "warehouse"),
        "OSO_HOME": str(tmp_path / "oso"),
        "OSO_ENV_FILE": str(tmp_path / "no.env"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    Warehouse()  # the catalog tables exist; the processes race on the namespace and the table
    _first_writes_race(tmp_path, env)


# -- 2: OSO_HOME paths that are not URI-safe -------------------------------------------------------------------------
@pytest.mark.parametrize("part", ["victim#frag", "victim?q=1", "victim%20x", "victim with space", "victim-naïve-é"])
def test_oso_home_with_uri_characters_keeps_the_lake_inside_it(
    part: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    base = tmp_path / "base"
    base.mkdir()
    victim = base / "victim"
    victim.write_text("not the lake's")
    home = base / part / "home"
    for key in [k for k in os.environ if k.startswith("DAGSTER__ICEBERG__")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("OSO_HOME", str(home))
    monkeypatch.setenv("OSO_ENV_FILE", str(tmp_path / "no.env"))

    warehouse = Warehouse()
    warehouse.write("s.t", pl.DataFrame({"id": [1, 2], "v": ["a", "b"]}), mode="append")
    warehouse.write("s.t", pl.DataFrame({"id": [2, 3], "v": ["B", "c"]}), mode="merge", key=["id"])
    warehouse.write("s.u", pl.DataFrame({"id": [9]}), mode="replace")

    assert warehouse.sql("SELECT id, v FROM s.t ORDER BY id").rows() == [(1, "a"), (2, "B"), (3, "c")]
    assert warehouse.read("s.u").rows() == [(9,)]
    assert Warehouse().read("s.t").height == 3  # a second open finds the same catalog
    assert victim.read_text() == "not the lake's"
    outside = [p for p in base.rglob("*") if p != victim and not p.is_relative_to(home) and p not in home.parents]
    assert outside == []
    assert (home / "catalog.db").is_file()
    assert list((home / "warehouse" / "s" / "t" / "data").glob("*.parquet"))


def test_a_file_uri_warehouse_pyiceberg_would_misread_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    monkeypatch.setenv("OSO_HOME", str(tmp_path / "oso"))
    monkeypatch.setenv("OSO_ENV_FILE", str(tmp_path / "no.env"))
    monkeypatch.setenv("DAGSTER__ICEBERG__WAREHOUSE", f"file://{tmp_path}/victim#x/warehouse")
    with pytest.raises(WarehouseError, match="DAGSTER__ICEBERG__WAREHOUSE"):
        Warehouse()
    assert victim.read_text() == "untouched"


# -- 4: table names --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["crates.", ".csv", "crates", "", "crates.a.b", "crates/x.t", "crates.x/y", "Crates.t", "crates.a-b"]
)
def test_invalid_table_names_are_refused_before_anything_is_created(warehouse: Warehouse, oso_home: Path, name: str):
    with pytest.raises(WarehouseError, match=rf"source 'crates': table name {name!r} .*nothing was written"):
        warehouse.write(name, pl.DataFrame({"id": [1]}), mode="replace", source="crates")
    assert warehouse.catalog.list_namespaces() == []
    assert not [p for p in (oso_home / "warehouse").rglob("*") if p.is_file()]


def test_snake_case_names_are_accepted(warehouse: Warehouse):
    warehouse.write("_oso.load_state_2", pl.DataFrame({"id": [1]}), mode="append", source="x")
    assert warehouse.exists("_oso.load_state_2")


# -- 8: a locked SQLite catalog --------------------------------------------------------------------------------------
LOCKER = textwrap.dedent(
    """
    import sqlite3, sys, time
    con = sqlite3.connect(sys.argv[1], isolation_level=None)
    con.execute("BEGIN " + sys.argv[2])
    print("locked", flush=True)
    time.sleep(float(sys.argv[3]))
    con.execute("ROLLBACK")
    """
)


def lock_catalog(oso_home: Path, seconds: float, kind: str = "EXCLUSIVE") -> subprocess.Popen:
    """Another process holds a lock on the catalog database for ``seconds`` (held when this returns)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(oso_home / "catalog.db"), kind, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_a_catalog_locked_longer_than_the_busy_timeout_is_waited_out(warehouse: Warehouse, oso_home: Path):
    warehouse.write("s.t", pl.DataFrame({"id": [1, 2]}), mode="append")
    holders = []

    def pages():
        yield pl.DataFrame({"id": [3]})
        holders.append(lock_catalog(oso_home, 7.0))  # past SQLite's 5 s busy timeout, then released
        yield pl.DataFrame({"id": [4]})

    started = time.monotonic()
    result = warehouse.write("s.t", pages(), mode="replace")
    assert time.monotonic() - started > 6  # the lock was met and waited out
    assert holders[0].wait(timeout=30) == 0
    assert result.rows_written == 2
    assert warehouse.sql("SELECT id FROM s.t ORDER BY id")["id"].to_list() == [3, 4]
    assert stray_files(warehouse, "s.t") == set()


@pytest.mark.parametrize("kind", ["EXCLUSIVE", "IMMEDIATE"])  # no reads at all / reads but no writes
def test_a_catalog_locked_for_good_fails_naming_the_table_and_leaves_no_files(oso_home: Path, kind: str):
    warehouse = Warehouse(retry=RetryPolicy(max_total_s=1.0))
    warehouse.write("s.t", pl.DataFrame({"id": [1, 2], "v": ["a", "b"]}), mode="merge", key=["id"])
    before = warehouse.snapshot_id("s.t")
    holders = []

    def pages():
        yield pl.DataFrame({"id": [2], "v": ["B"]})  # rewrites the file holding id 2
        holders.append(lock_catalog(oso_home, 120.0, kind))
        yield pl.DataFrame({"id": [3], "v": ["c"]})

    try:
        with pytest.raises(WarehouseError, match=r"^s\.t: gave up after \d+ attempts while the catalog was locked"):
            warehouse.write("s.t", pages(), mode="merge", key=["id"])
    finally:
        for holder in holders:
            holder.kill()
            holder.wait(timeout=30)
    assert warehouse.snapshot_id("s.t") == before
    assert warehouse.sql("SELECT id, v FROM s.t ORDER BY id").rows() == [(1, "a"), (2, "b")]
    assert stray_files(warehouse, "s.t") == set()


def test_any_error_during_the_commit_leaves_no_staged_files(
    warehouse: Warehouse, oso_home: Path, monkeypatch: pytest.MonkeyPatch
):
    from pyiceberg.table import Transaction

    warehouse.write("s.t", pl.DataFrame({"id": [1]}), mode="append")
    before = warehouse.snapshot_id("s.t")

    def broken(self):
        raise RuntimeError("catalog went away")

    monkeypatch.setattr(Transaction, "commit_transaction", broken)
    with pytest.raises(RuntimeError, match="catalog went away"):
        warehouse.write("s.t", pl.DataFrame({"id": [2]}), mode="append")
    monkeypatch.undo()
    assert warehouse.snapshot_id("s.t") == before
    assert stray_files(warehouse, "s.t") == set()


def test_an_error_after_the_commit_landed_keeps_its_files(
    warehouse: Warehouse, oso_home: Path, monkeypatch: pytest.MonkeyPatch
):
    """Deleting on any error must not delete what a commit that did land references (a lost reply)."""
    from pyiceberg.table import Transaction

    warehouse.write("s.t", pl.DataFrame({"id": [1]}), mode="append")
    real_commit = Transaction.commit_transaction

    def lands_then_fails(self):
        real_commit(self)
        raise ConnectionError("reply lost")

    monkeypatch.setattr(Transaction, "commit_transaction", lands_then_fails)
    with pytest.raises(ConnectionError, match="reply lost"):
        warehouse.write("s.t", pl.DataFrame({"id": [2]}), mode="append")
    monkeypatch.undo()
    assert warehouse.sql("SELECT id FROM s.t ORDER BY id")["id"].to_list() == [1, 2]
    assert stray_files(warehouse, "s.t") == set()


# -- 9: replace makes the table's schema the data's ------------------------------------------------------------------
def test_replace_drops_columns_the_data_no_longer_has(warehouse: Warehouse):
    old = pl.DataFrame(
        {"id": [1, 2], "name": ["a", "b"], "downloads": [10, 20], "owner": [{"login": "x", "site": "s"}] * 2}
    )
    warehouse.write("s.t", old, mode="replace")
    table = warehouse.catalog.load_table("s.t")
    old_snapshot = table.current_snapshot().snapshot_id
    ids = {name: table.schema().find_field(name).field_id for name in ("id", "name", "owner.login")}

    warehouse.write("s.t", pl.DataFrame({"id": [3], "name": ["c"], "owner": [{"login": "y"}]}), mode="replace")

    table = warehouse.catalog.load_table("s.t")
    assert [f.name for f in table.schema().fields] == ["id", "name", "owner"]
    assert {name: table.schema().find_field(name).field_id for name in ids} == ids
    with pytest.raises(ValueError):
        table.schema().find_field("owner.site")
    got = warehouse.sql("SELECT * FROM s.t")
    assert got.columns == ["id", "name", "owner"]
    assert got.rows() == [(3, "c", {"login": "y"})]
    assert warehouse.read("s.t").columns == ["id", "name", "owner"]
    assert len(table.snapshots()) == 2  # the schema change and the data are one commit

    past = pl.scan_iceberg(table, snapshot_id=old_snapshot).collect().sort("id")
    assert past["downloads"].to_list() == [10, 20]
    assert past["owner"].struct.field("site").to_list() == ["s", "s"]


def test_replace_keeps_a_column_any_frame_has(warehouse: Warehouse):
    warehouse.write("s.t", pl.DataFrame({"id": [1], "a": [1], "b": [1]}), mode="replace")
    frames = iter([pl.DataFrame({"id": [2]}), pl.DataFrame({"id": [3], "b": [3]})])
    warehouse.write("s.t", frames, mode="replace")
    assert warehouse.sql("SELECT * FROM s.t ORDER BY id").rows() == [(2, None), (3, 3)]
    assert [f.name for f in warehouse.catalog.load_table("s.t").schema().fields] == ["id", "b"]
