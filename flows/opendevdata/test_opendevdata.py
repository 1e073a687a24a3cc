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


def test_every_file_the_package_downloads_is_loaded_tagged_and_a_corrupt_one_skipped(
    oso_home, warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ReplayServer.for_source("opendevdata") as server:
        monkeypatch.setenv("DAGSTER__OPENDEVDATA__BASE_URL", server.url)  # the setting, as production reads it
        summary = opendevdata_flow(retries=1)
    asked = [r.path for r in server.requests]
    assert asked[0] == "/manifest.json" and f"/{VERSION}/ecosystems.parquet" in asked  # the package's requests
    counts = warehouse.sql(
        "select _source_table, _source_file, _source_path, count(*) n from opendevdata.datasets group by all order by 1"
    ).rows()
    assert counts == [
        (f"{VERSION}_ecosystems", "ecosystems.parquet", f"{VERSION}/ecosystems.parquet", 3),
        (f"{VERSION}_ecosystems_repos", "ecosystems_repos.parquet", f"{VERSION}/ecosystems_repos.parquet", 4),
    ]
    stars = warehouse.sql(
        "select stars from opendevdata.datasets where repo_url = 'https://github.com/ethereum/go-ethereum'"
    ).item()
    assert stars == 48000
    names = warehouse.sql("select name from opendevdata.datasets where name is not null order by id")["name"]
    assert names.to_list() == ["Ethereum", "Optimism", "Solana"]
    assert len(summary.skipped) == 1 and summary.skipped[0].startswith(f"{VERSION}/commits_sample.parquet")
    assert summary.rows == {"opendevdata.datasets": 7}


def test_a_rerun_replaces_the_table(oso_home, warehouse, tmp_path: Path) -> None:
    first = parquet_bytes(pl.DataFrame({"id": [1, 2]}), tmp_path)
    with site(tmp_path / "a", {"one.parquet": first, "two.parquet": first}) as server:
        opendevdata_flow(base_url=server.url, retries=1)
    assert warehouse.sql("select count(*) from opendevdata.datasets").item() == 4
    second = parquet_bytes(pl.DataFrame({"id": [7], "label": ["x"]}), tmp_path)
    with site(tmp_path / "b", {"one.parquet": second}) as server:  # 4 → 1 rows: accepted past the row_drop gate
        opendevdata_flow(base_url=server.url, retries=1, accept=["opendevdata.datasets:row_drop"])
    assert warehouse.sql("select _source_file, id, label from opendevdata.datasets").rows() == [("one.parquet", 7, "x")]


def test_a_failed_download_fails_the_run_and_keeps_the_table(oso_home, warehouse, tmp_path: Path) -> None:
    data = parquet_bytes(pl.DataFrame({"id": [1, 2, 3]}), tmp_path)
    with site(tmp_path / "a", {"one.parquet": data}) as server:
        opendevdata_flow(base_url=server.url, retries=1)
    before = warehouse.snapshot_id("opendevdata.datasets")
    failing = Route(f"/{VERSION}/two.parquet", status=503, text="unavailable")
    files = {"one.parquet": data, "two.parquet": data}
    with site(tmp_path / "b", files, (failing,)) as server, pytest.raises(RuntimeError, match="exited with 1"):
        opendevdata_flow(base_url=server.url, retries=1)
    assert warehouse.snapshot_id("opendevdata.datasets") == before


def damaged_parquet(tmp_path: Path) -> bytes:
    """Four row groups of ~80 kB; the third one's page header garbled (the footer is intact, the file opens)."""
    frame = pl.DataFrame({"text": [f"row {i} " * 20 for i in range(2000)]})
    damaged = bytearray(parquet_bytes(frame, tmp_path, row_group_size=500))
    offset = pq.ParquetFile(tmp_path / "frame.parquet").metadata.row_group(2).column(0).data_page_offset
    damaged[offset : offset + 32] = b"\xff" * 32
    return bytes(damaged)


def test_a_file_corrupt_inside_its_first_batch_is_skipped_whole(oso_home, warehouse, tmp_path: Path) -> None:
    good = parquet_bytes(pl.DataFrame({"id": list(range(1000))}), tmp_path)
    with site(tmp_path / "a", {"a.parquet": good, "b.parquet": damaged_parquet(tmp_path)}) as server:
        summary = opendevdata_flow(base_url=server.url, retries=1)
    assert warehouse.sql("select _source_file, count(*) from opendevdata.datasets group by 1").rows() == [
        ("a.parquet", 1000)
    ]
    assert len(summary.skipped) == 1 and "b.parquet" in summary.skipped[0] and "row group 2" in summary.skipped[0]


def test_a_file_corrupt_after_batches_were_written_fails_the_run_and_commits_nothing(
    oso_home, warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(source, "BATCH_BYTES", 50_000)  # one row group per batch: row group 2 comes late
    good = parquet_bytes(pl.DataFrame({"id": list(range(1000))}), tmp_path)
    files = {"a.parquet": good, "b.parquet": damaged_parquet(tmp_path)}
    with site(tmp_path / "a", files) as server, pytest.raises(Exception, match="b.parquet.*row group 2"):
        opendevdata_flow(base_url=server.url, retries=1)
    assert not warehouse.exists("opendevdata.datasets")
