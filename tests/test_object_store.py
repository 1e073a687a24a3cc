"""The lake on an object store: every write mode, reads, maintenance, bad settings and a weekly replay, on both
``gs://`` (the GCS emulator) and ``s3://`` (moto's S3 server), with the catalog in PostgreSQL.

The servers are real HTTP servers speaking each store's protocol; the lake reaches them only through pyiceberg's
PyArrow FileIO (writes, clean-up, maintenance listings) and DuckDB's httpfs (SQL). Objects are checked with each
store's own client (boto3, the GCS JSON API), never through our code.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from oso_core.warehouse import Warehouse, WarehouseError
from oso_core.warehouse.catalog import CatalogConfig
from oso_core.warehouse.maintenance import MaintenancePolicy, maintain_table
from tests.support.object_stores import ObjectLake, StoreServer

pytestmark = pytest.mark.postgres


def _no_local_warehouse(lake: ObjectLake) -> None:
    home = Path(lake.env["OSO_HOME"])
    assert not (home / "warehouse").exists() or not any((home / "warehouse").rglob("*.parquet"))


def test_every_write_mode_and_schema_change(object_lake: ObjectLake) -> None:
    warehouse = Warehouse()
    config = CatalogConfig.from_settings()
    assert config.warehouse == object_lake.warehouse
    assert config.properties()["py-io-impl"] == "oso_core.warehouse.object_store_io.ObjectStoreFileIO"

    # append, then append with a new column (schema evolution)
    warehouse.write("ev.t", pl.DataFrame({"id": [1, 2, 3], "v": ["a", "b", "c"]}), mode="append")
    warehouse.write("ev.t", pl.DataFrame({"id": [4], "v": ["d"], "extra": [1.5]}), mode="append")
    assert warehouse.read("ev.t").sort("id").rows() == [(1, "a", None), (2, "b", None), (3, "c", None), (4, "d", 1.5)]

    # merge on id: one update, one insert
    update = pl.DataFrame({"id": [2, 5], "v": ["B", "e"], "extra": [2.0, 3.0]})
    warehouse.write("ev.t", update, mode="merge", key=["id"])
    assert warehouse.sql("SELECT id, v FROM ev.t ORDER BY id").rows() == [
        (1, "a"), (2, "B"), (3, "c"), (4, "d"), (5, "e"),
    ]  # fmt: skip

    # replace drops the columns the data no longer has
    warehouse.write("ev.t", pl.DataFrame({"id": [9, 8, 7, 6, 5]}), mode="replace")  # as many rows: no row-drop gate
    assert warehouse.read("ev.t").columns == ["id"]
    assert warehouse.sql("SELECT id FROM ev.t ORDER BY id").rows() == [(5,), (6,), (7,), (8,), (9,)]

    # overwrite_partitions by day: only the days of the batch are replaced
    day = datetime(2024, 3, 1, tzinfo=UTC)
    days = [day, day + timedelta(days=1), day + timedelta(days=2)]
    first = pl.DataFrame({"k": [1, 2, 3], "at": days, "n": [1, 1, 1]})
    warehouse.write("ev.days", first, mode="overwrite_partitions", key=["k"], partition_by="day(at)")
    again = pl.DataFrame({"k": [20], "at": [day + timedelta(days=1, hours=3)], "n": [2]})
    warehouse.write("ev.days", again, mode="overwrite_partitions", key=["k"], partition_by="day(at)")
    assert warehouse.sql("SELECT k, n FROM ev.days ORDER BY k").rows() == [(1, 1), (3, 1), (20, 2)]

    # the files are in the bucket, under the lake's prefix, and nowhere on local disk
    data = object_lake.objects("ev/t/data")
    assert data and all(name.endswith(".parquet") for name in data)
    assert any(name.endswith(".metadata.json") for name in object_lake.objects("ev/days/metadata"))
    _no_local_warehouse(object_lake)


def test_query_client_reads_the_object_store_with_duckdb(object_lake: ObjectLake) -> None:
    from oso_core.warehouse.query import Client, list_tables

    warehouse = Warehouse()
    warehouse.write("q.a", pl.DataFrame({"id": [1, 2, 3], "name": ["x", "y", "z"]}), mode="replace", source="q")
    warehouse.write("q.b", pl.DataFrame({"id": [2, 3], "score": [10, 20]}), mode="replace", source="q")
    client = Client()
    response = client.query("SELECT a.name, b.score FROM q.a JOIN q.b ON a.id = b.id ORDER BY a.name")
    assert response.to_polars().rows() == [("y", 10), ("z", 20)]
    assert {t.key for t in response.tables} == {"q.a", "q.b"}
    assert all(t.snapshot_id == warehouse.snapshot_id(t.key) for t in response.tables)
    # DuckDB read the files itself (httpfs): its plan scans the object-store metadata, not an Arrow view
    plan = str(client.to_polars("EXPLAIN SELECT name FROM q.a WHERE id > 1").rows()).upper()
    assert "ARROW" not in plan and ("ICEBERG" in plan or "PARQUET" in plan), plan
    assert list_tables(warehouse).get_column("table").to_list() == ["q.a", "q.b"]


def test_maintenance_compacts_and_deletes_orphans(object_lake: ObjectLake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER__MAINTENANCE__ORPHAN_AGE_FLOOR_HOURS", "0")  # the stray is seconds old; no load runs
    warehouse = Warehouse()
    for i in range(4):
        warehouse.write("m.t", pl.DataFrame({"id": [i * 10 + j for j in range(10)]}), mode="append")
    table = warehouse.catalog.load_table("m.t")
    stray = f"{table.metadata.location}/data/stray-from-a-killed-load.parquet"
    with table.io.new_output(stray).create(overwrite=True) as out:
        out.write(b"PAR1 not referenced by any snapshot")
    assert any(name.endswith("stray-from-a-killed-load.parquet") for name in object_lake.objects("m/t/data"))

    policy = MaintenancePolicy(retention=timedelta(0), keep_last=1, orphan_min_age=timedelta(0))
    report = maintain_table(warehouse.catalog, "m.t", policy, now=datetime.now(UTC) + timedelta(seconds=5))
    assert report.error is None
    assert report.data_files_before == 4 and report.data_files_after == 1
    assert report.orphans_deleted >= 1 and report.snapshots_after == 1
    assert warehouse.sql("SELECT count(*), sum(id) FROM m.t").rows() == [(40, sum(range(40)))]
    left = object_lake.objects("m/t/data")
    assert len(left) == 1 and not any("stray" in name for name in left)


# -- bad input -----------------------------------------------------------------------------------------------------
def _bad_settings(lake: ObjectLake, what: str) -> dict[str, str]:
    store = lake.store
    if what == "endpoint":
        key = "DAGSTER__ICEBERG__S3_ENDPOINT" if store.kind == "s3" else "DAGSTER__ICEBERG__GCS_ENDPOINT"
        return {key: "http://127.0.0.1:9", "DAGSTER__ICEBERG__STORAGE_RETRY_SECONDS": "2"}
    if what == "bucket":
        return {"DAGSTER__ICEBERG__WAREHOUSE": f"{store.scheme}://no-such-bucket/{lake.prefix}"}
    assert store.kind == "s3"
    return {"DAGSTER__ICEBERG__S3_SECRET_ACCESS_KEY": "wrong-secret-value-1234"}


@pytest.mark.parametrize("what", ["endpoint", "bucket", "credential"])
def test_a_wrong_setting_fails_at_open_naming_it(
    object_lake: ObjectLake, what: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if what == "credential" and object_lake.store.kind == "gcs":
        pytest.skip("the GCS emulator accepts any token: a refused credential can only be shown on moto's S3")
    for key, value in _bad_settings(object_lake, what).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(WarehouseError) as error:
        Warehouse()
    message = str(error.value)
    expected = {
        "endpoint": "S3_ENDPOINT" if object_lake.store.kind == "s3" else "GCS_ENDPOINT",
        "bucket": "DAGSTER__ICEBERG__WAREHOUSE",
        "credential": "DAGSTER__ICEBERG__S3_SECRET_ACCESS_KEY",
    }[what]
    assert expected in message, message
    assert "wrong-secret-value-1234" not in message
    assert object_lake.store.kind == "gcs" or object_lake.store.keys[1] not in message
    if what == "bucket":
        assert "no-such-bucket" in message


def test_weekly_run_with_a_wrong_bucket_fails_before_any_source(
    object_lake: ObjectLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client

    from flows.weekly import weekly_flow
    from tests.support.weekly import replayed

    monkeypatch.delenv("DAGSTER__DISCORD__WEBHOOK_URL", raising=False)
    monkeypatch.setenv(
        "DAGSTER__ICEBERG__WAREHOUSE", f"{object_lake.store.scheme}://no-such-bucket/{object_lake.prefix}"
    )
    state = replayed(weekly_flow, only=["chainlist"], return_state=True)
    assert state.is_failed()
    assert "DAGSTER__ICEBERG__WAREHOUSE" in state.message and "no-such-bucket" in state.message, state.message

    async def subflows() -> int:
        async with get_client() as client:
            run = await client.read_flow_run(state.state_details.flow_run_id)
            from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

            children = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run.id]))
            )
            return len(children)

    import asyncio

    assert asyncio.run(subflows()) == 0  # no source ran


def _write_fails_midway(lake: ObjectLake, monkeypatch: pytest.MonkeyPatch, store: StoreServer) -> None:
    """Make the next write's metadata uploads fail (data files still upload): moto denies them to another key."""
    key_id, secret = store.no_metadata_keys
    monkeypatch.setenv("DAGSTER__ICEBERG__S3_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("DAGSTER__ICEBERG__S3_SECRET_ACCESS_KEY", secret)


@pytest.mark.parametrize("mode", ["append", "merge", "replace"])
def test_a_write_failing_midway_keeps_the_snapshot_and_deletes_its_files(
    s3_server: StoreServer, postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    lake = ObjectLake.create(s3_server, postgres, tmp_path)
    for key, value in lake.env.items():
        monkeypatch.setenv(key, value)
    Warehouse().write("f.t", pl.DataFrame({"id": [1, 2], "v": ["a", "b"]}), mode="merge", key=["id"])
    before_snapshot = Warehouse().snapshot_id("f.t")
    before = lake.objects("f/t")

    _write_fails_midway(lake, monkeypatch, s3_server)
    failing = Warehouse()  # the start check passes: this key may list and read
    batch = pl.DataFrame({"id": list(range(3, 5003)), "v": ["x"] * 5000})
    with pytest.raises(OSError, match="(?i)access denied"):
        failing.write("f.t", batch, mode=mode, key=["id"] if mode == "merge" else None)

    for key, value in lake.env.items():
        monkeypatch.setenv(key, value)
    warehouse = Warehouse()
    assert warehouse.snapshot_id("f.t") == before_snapshot
    assert warehouse.sql("SELECT id, v FROM f.t ORDER BY id").rows() == [(1, "a"), (2, "b")]
    assert lake.objects("f/t") == before  # the staged data files were deleted again


def test_a_gcs_write_failing_midway_keeps_the_snapshot_and_deletes_its_files(
    postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An emulator of its own refuses metadata uploads once told to (the GCS emulator has no credentials to deny)."""
    from tests.support.object_stores import start_failing_gcs

    with start_failing_gcs(tmp_path) as (store, refuse):
        lake = ObjectLake.create(store, postgres, tmp_path)
        for key, value in {**lake.env, "DAGSTER__ICEBERG__STORAGE_RETRY_SECONDS": "1"}.items():
            monkeypatch.setenv(key, value)
        warehouse = Warehouse()
        warehouse.write("f.t", pl.DataFrame({"id": [1, 2], "v": ["a", "b"]}), mode="merge", key=["id"])
        before_snapshot = warehouse.snapshot_id("f.t")
        before = lake.objects("f/t")

        refuse.touch()
        with pytest.raises(OSError):
            warehouse.write("f.t", pl.DataFrame({"id": list(range(3, 5003)), "v": ["x"] * 5000}), mode="append")
        refuse.unlink()

        assert warehouse.snapshot_id("f.t") == before_snapshot
        assert Warehouse().sql("SELECT id, v FROM f.t ORDER BY id").rows() == [(1, "a"), (2, "b")]
        assert lake.objects("f/t") == before


# -- the weekly replay -----------------------------------------------------------------------------------------------
def test_weekly_replay_on_the_object_store(object_lake: ObjectLake, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every source, in dependency order, loads from its replay into the object-store lake."""
    from flows.weekly import weekly_flow
    from oso_core.model.sources import discover_sources
    from tests.support.weekly import replayed

    monkeypatch.delenv("DAGSTER__DISCORD__WEBHOOK_URL", raising=False)
    sources = discover_sources()
    state = replayed(weekly_flow, every_cadence=True, return_state=True)  # daily sources too, as the demo
    assert state.is_completed(), state.message
    outcomes = {row["source"]: row for row in state.result()}
    assert set(outcomes) == set(sources)
    assert all(row["state"] == "Completed" and row["total_rows"] > 0 for row in outcomes.values()), outcomes

    warehouse = Warehouse()
    for source in sources.values():
        for spec in source.tables:
            name = source.qualified(spec.name)
            assert warehouse.exists(name), f"{name} was not written"
            assert warehouse.catalog.load_table(name).metadata_location.startswith(object_lake.warehouse)
            warehouse.sql(f"SELECT count(*) FROM {name}")
    assert warehouse.sql("SELECT count(*) FROM ossd.repositories").item() > 0
    assert warehouse.sql("SELECT count(*) FROM ossd.sbom").item() > 0
    assert warehouse.read("chainlist.chains").height == warehouse.sql("SELECT count(*) FROM chainlist.chains").item()
    _no_local_warehouse(object_lake)


def test_s3_files_are_single_puts_and_their_recorded_sizes_are_the_objects(
    s3_server: StoreServer, postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small files go up as one ``PutObject`` each, not a multipart upload's three requests, and no file is asked
    for its size after it was written (the writer counted the bytes; the one HEAD per file is the pre-commit
    existence check): the request log of moto says so. The sizes
    the manifests record are the objects' sizes as S3 itself reports them (boto3)."""
    from tests.support.object_stores import BUCKET

    lake = ObjectLake.create(s3_server, postgres, tmp_path)
    for key, value in lake.env.items():
        monkeypatch.setenv(key, value)
    assert s3_server.log is not None
    seen = len(s3_server.log.read_text().splitlines())
    warehouse = Warehouse()
    frame = pl.DataFrame({"id": range(50_000), "v": [f"value {i}" for i in range(50_000)]})
    warehouse.write("sz.t", frame, mode="append")

    requests = [line for line in s3_server.log.read_text().splitlines()[seen:] if f"/{lake.prefix}/" in line]
    data = [line for line in requests if "/data/" in line]
    assert [line for line in data if '"PUT ' in line], requests
    assert not [line for line in requests if "?uploads" in line or "uploadId=" in line], requests
    # Each data file is asked about once, by the commit's check that its staged files still exist
    # (oso_core.warehouse.staged), and never again for its size.
    put = sorted(line.split('"PUT ', 1)[1].split(" ", 1)[0] for line in data if '"PUT ' in line)
    head = sorted(line.split('"HEAD ', 1)[1].split(" ", 1)[0] for line in data if '"HEAD ' in line)
    assert head == put, requests

    client = s3_server.s3_client()
    files = [task.file for task in warehouse.catalog.load_table("sz.t").scan().plan_files()]
    assert files
    for data_file in files:
        key = data_file.file_path.removeprefix(f"s3://{BUCKET}/")
        assert client.head_object(Bucket=BUCKET, Key=key)["ContentLength"] == data_file.file_size_in_bytes
    assert warehouse.sql("SELECT count(*), count(DISTINCT id) FROM sz.t").rows() == [(50_000, 50_000)]
