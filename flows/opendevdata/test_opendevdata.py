"""opendevdata through the real open-dev-data package, against a local server playing data.opendevdata.org."""

from __future__ import annotations

import json
from pathlib import Path

import blake3
import polars as pl
import pyarrow.parquet as pq
import pytest

from flows.opendevdata import source
from flows.opendevdata.source import opendevdata_flow
from oso_dev.replay import ReplayServer, Route
from tests.support.oso_contract import assert_matches_contract

VERSION = "2025-06-01"


def site(root: Path, files: dict[str, bytes], extra: tuple[Route, ...] = ()) -> ReplayServer:
    """A manifest listing ``files`` (size and blake3 as the package checks them) and the files themselves."""
    (root / VERSION).mkdir(parents=True, exist_ok=True)
    resources = []
    for name, data in files.items():
        (root / VERSION / name).write_bytes(data)
        b3sum = blake3.blake3(data).hexdigest()
        resources.append({"path": f"{VERSION}/{name}", "size_bytes": len(data), "b3sum": b3sum})
    (root / "manifest.json").write_text(json.dumps({"dataset": {"version": VERSION, "resources": resources}}))
    routes = [*extra, Route("/manifest.json", file="manifest.json")]
    routes += [Route(f"/{VERSION}/{name}", file=f"{VERSION}/{name}") for name in files]
    return ReplayServer(routes, root)


def parquet_bytes(frame: pl.DataFrame, tmp_path: Path, **options) -> bytes:
    path = tmp_path / "frame.parquet"
    frame.write_parquet(path, **options)
    return path.read_bytes()


def test_each_file_the_package_downloads_replaces_its_own_table_with_oso_s_columns(
    oso_home, warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ReplayServer.for_source("opendevdata") as server:
        monkeypatch.setenv("DAGSTER__OPENDEVDATA__BASE_URL", server.url)  # the setting, as production reads it
        summary = opendevdata_flow(retries=1)
    asked = [r.path for r in server.requests]
    assert asked[0] == "/manifest.json" and f"/{VERSION}/ecosystems.parquet" in asked  # the package's requests
    tables = [f"opendevdata.{name}" for name in source.TABLES]
    assert sorted(summary.rows) == sorted(tables)  # the fixtures carry a file per declared table
    assert summary.rows["opendevdata.ecosystems"] == 3 and summary.rows["opendevdata.repos"] == 2
    assert summary.rows["opendevdata.ecosystems_repos"] == 4 and summary.rows["opendevdata.commits"] == 3
    assert warehouse.sql("select num_stars from opendevdata.repos where name = 'ethereum/go-ethereum'").item() == 48000
    names = warehouse.sql("select name from opendevdata.ecosystems order by id")["name"]
    assert names.to_list() == ["Ethereum", "Optimism", "Solana"]
    assert_matches_contract(warehouse, *tables)
    assert summary.skipped == [] and not any(note.startswith("not in this download") for note in summary.notes)
    # one small world: the tables join as OSO's models join them
    joined = warehouse.sql(
        "select e.name, r.name as repo, count(*) as commits from opendevdata.eco_developer_activities a"
        " join opendevdata.ecosystems e on e.id = a.ecosystem_id"
        " join opendevdata.ecosystems_repos er on er.ecosystem_id = e.id"
        " join opendevdata.repos r on r.id = er.repo_id and list_contains(a.repo_ids, r.id)"
        " group by all order by all"
    ).rows()
    assert joined == [("Ethereum", "ethereum/go-ethereum", 2), ("Optimism", "ethereum-optimism/optimism", 1)]
    recursive = warehouse.sql("select path from opendevdata.ecosystems_repos_recursive where distance = 2").item()
    assert list(recursive) == [1, 2, 20]


def test_a_file_of_no_declared_table_is_listed_not_loaded(oso_home, warehouse, tmp_path: Path) -> None:
    data = parquet_bytes(pl.DataFrame({"id": [1, 2]}), tmp_path)
    with site(tmp_path / "a", {"repos.parquet": data, "new-dataset.parquet": data}) as server:
        summary = opendevdata_flow(base_url=server.url, retries=1)
    assert summary.rows == {"opendevdata.repos": 2}
    assert summary.skipped == [
        f"{VERSION}/new-dataset.parquet: no table opendevdata.new_dataset is declared (flows/opendevdata TABLES)"
    ]


def test_a_lake_with_the_one_datasets_table_gets_the_separate_tables_then_drops_it(
    oso_home, warehouse, tmp_path: Path
) -> None:
    warehouse.write(
        "opendevdata.datasets", pl.DataFrame({"id": [1], "_source_table": ["2025-06-01_repos"]}), mode="replace"
    )
    data = parquet_bytes(pl.DataFrame({"id": [1, 2]}), tmp_path)
    failing = Route(f"/{VERSION}/ecosystems.parquet", status=503, text="unavailable")
    files = {"repos.parquet": data, "ecosystems.parquet": data}
    with site(tmp_path / "a", files, (failing,)) as server, pytest.raises(RuntimeError, match="exited with 1"):
        opendevdata_flow(base_url=server.url, retries=1)
    assert warehouse.exists("opendevdata.datasets")  # kept: nothing written
    with site(tmp_path / "b", files) as server:
        summary = opendevdata_flow(base_url=server.url, retries=1)
    assert summary.rows == {"opendevdata.repos": 2, "opendevdata.ecosystems": 2}
    assert warehouse.exists("opendevdata.datasets")  # kept: 17 declared tables are still only in it
    assert summary.notes[-1].startswith(
        "kept opendevdata.datasets until every declared table is written; not yet: canonical_developer_locations, "
    )
    with ReplayServer.for_source("opendevdata") as server:  # a download with every declared table's file
        summary = opendevdata_flow(base_url=server.url, retries=1)
    assert not warehouse.exists("opendevdata.datasets")
    assert summary.notes[-1] == "dropped opendevdata.datasets: its rows are in OSO's tables now"
    assert len(summary.rows) == len(source.TABLES)


def test_on_a_fresh_lake_every_table_is_written_and_nothing_is_dropped(oso_home, warehouse) -> None:
    with ReplayServer.for_source("opendevdata") as server:
        summary = opendevdata_flow(base_url=server.url, retries=1)
    assert all(warehouse.exists(f"opendevdata.{name}") for name in source.TABLES)
    assert not warehouse.exists("opendevdata.datasets")
    assert not any("opendevdata.datasets" in note for note in summary.notes)


def test_a_rerun_replaces_the_table(oso_home, warehouse, tmp_path: Path) -> None:
    first = parquet_bytes(pl.DataFrame({"id": [1, 2, 3, 4]}), tmp_path)
    with site(tmp_path / "a", {"repos.parquet": first, "ecosystems.parquet": first}) as server:
        opendevdata_flow(base_url=server.url, retries=1)
    assert warehouse.sql("select count(*) from opendevdata.repos").item() == 4
    second = parquet_bytes(pl.DataFrame({"id": [7], "label": ["x"]}), tmp_path)
    with site(tmp_path / "b", {"repos.parquet": second}) as server:  # 4 → 1 rows: accepted past the row_drop gate
        summary = opendevdata_flow(base_url=server.url, retries=1, accept=["opendevdata.repos:row_drop"])
    assert warehouse.sql("select id, label from opendevdata.repos").rows() == [(7, "x")]
    assert warehouse.sql("select count(*) from opendevdata.ecosystems").item() == 4  # not in this download: kept
    assert summary.rows == {"opendevdata.repos": 1}


def test_a_failed_download_fails_the_run_and_keeps_the_table(oso_home, warehouse, tmp_path: Path) -> None:
    data = parquet_bytes(pl.DataFrame({"id": [1, 2, 3]}), tmp_path)
    with site(tmp_path / "a", {"repos.parquet": data}) as server:
        opendevdata_flow(base_url=server.url, retries=1)
    before = warehouse.snapshot_id("opendevdata.repos")
    failing = Route(f"/{VERSION}/ecosystems.parquet", status=503, text="unavailable")
    files = {"repos.parquet": data, "ecosystems.parquet": data}
    with site(tmp_path / "b", files, (failing,)) as server, pytest.raises(RuntimeError, match="exited with 1"):
        opendevdata_flow(base_url=server.url, retries=1)
    assert warehouse.snapshot_id("opendevdata.repos") == before


def damaged_parquet(tmp_path: Path) -> bytes:
    """Four row groups of ~80 kB; the third one's page header garbled (the footer is intact, the file opens)."""
    frame = pl.DataFrame({"text": [f"row {i} " * 20 for i in range(2000)]})
    damaged = bytearray(parquet_bytes(frame, tmp_path, row_group_size=500))
    offset = pq.ParquetFile(tmp_path / "frame.parquet").metadata.row_group(2).column(0).data_page_offset
    damaged[offset : offset + 32] = b"\xff" * 32
    return bytes(damaged)


def test_a_file_corrupt_inside_its_first_batch_is_skipped_whole(oso_home, warehouse, tmp_path: Path) -> None:
    good = parquet_bytes(pl.DataFrame({"id": list(range(1000))}), tmp_path)
    with site(tmp_path / "a", {"repos.parquet": good, "commits.parquet": damaged_parquet(tmp_path)}) as server:
        summary = opendevdata_flow(base_url=server.url, retries=1)
    assert warehouse.sql("select count(*) from opendevdata.repos").item() == 1000
    assert not warehouse.exists("opendevdata.commits")
    assert len(summary.skipped) == 1 and "commits.parquet" in summary.skipped[0] and "row group 2" in summary.skipped[0]


def test_a_file_corrupt_after_batches_were_written_fails_the_run_and_commits_nothing(
    oso_home, warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(source, "BATCH_BYTES", 50_000)  # one row group per batch: row group 2 comes late
    good = parquet_bytes(pl.DataFrame({"id": list(range(1000))}), tmp_path)
    files = {"commits.parquet": damaged_parquet(tmp_path), "repos.parquet": good}
    with site(tmp_path / "a", files) as server, pytest.raises(Exception, match="commits.parquet.*row group 2"):
        opendevdata_flow(base_url=server.url, retries=1)
    assert not warehouse.exists("opendevdata.commits")
