"""Writes on a full disk (a real tmpfs of 1 MiB holds the warehouse): one error naming the table and the full
filesystem, the table unchanged, and no file of the failed write left behind, also when the disk fills during the
commit itself (manifests, manifest list, rewrites)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest

from oso_core.warehouse import Warehouse, WarehouseError
from tests.support.small_disk import fill

SmallDisk = Callable[[Path, str], Path]


@pytest.fixture
def full_lake(oso_home: Path, small_disk: SmallDisk) -> tuple[Warehouse, Path]:
    """An embedded lake whose warehouse folder is a 1 MiB filesystem (the catalog stays on the normal disk)."""
    disk = small_disk(oso_home / "warehouse", "1m")
    return Warehouse(), disk


def files_of(disk: Path) -> dict[str, int]:
    """Every file on the small disk but the filler, with its size."""
    return {str(p.relative_to(disk)): p.stat().st_size for p in disk.rglob("*") if p.is_file() and p.name != "filler"}


def test_a_full_disk_while_writing_data_names_the_table_and_the_filesystem(full_lake):
    warehouse, disk = full_lake
    warehouse.write("s.t", pl.DataFrame({"id": [1], "v": ["a"]}))
    before = files_of(disk)

    noise = pl.DataFrame({"id": [2, 3], "v": [os.urandom(1 << 20).hex(), os.urandom(1 << 20).hex()]})  # 4 MiB
    with pytest.raises(WarehouseError) as raised:
        warehouse.write("s.t", noise)

    message = str(raised.value)
    assert message.startswith("s.t: no space left on the disk")
    assert f"filesystem mounted at {disk}" in message
    assert "the table is unchanged" in message
    assert isinstance(raised.value.__cause__, OSError) and raised.value.__cause__.errno == 28
    assert files_of(disk) == before
    assert warehouse.sql("SELECT id, v FROM s.t").rows() == [(1, "a")]


def frames_then_fill(disk: Path, frame: pl.DataFrame) -> Iterator[pl.DataFrame]:
    """``frame``, then (once its data file is staged, before the commit) no space left on ``disk``."""
    yield frame
    fill(disk)


@pytest.mark.parametrize("mode", ["append", "merge"])
def test_a_disk_that_fills_during_the_commit_leaves_no_file_of_the_write(full_lake, mode: str):
    warehouse, disk = full_lake
    warehouse.write("s.t", pl.DataFrame({"id": [1, 2], "v": ["a", "b"]}), mode="merge", key=["id"])
    before = files_of(disk)

    change = pl.DataFrame({"id": [2, 3], "v": ["B", "c"]})  # a merge rewrites the file holding id 2
    with pytest.raises(WarehouseError, match=r"^s\.t: no space left on the disk .* the table is unchanged"):
        warehouse.write("s.t", frames_then_fill(disk, change), mode=mode, key=["id"])

    assert files_of(disk) == before  # no data file, rewrite, manifest (not even an empty one) or manifest list
    (disk / "filler").unlink()
    assert warehouse.sql("SELECT id, v FROM s.t ORDER BY id").rows() == [(1, "a"), (2, "b")]
    warehouse.write("s.t", change, mode="merge", key=["id"])  # with space again the same write goes through
    assert warehouse.sql("SELECT id, v FROM s.t ORDER BY id").rows() == [(1, "a"), (2, "B"), (3, "c")]


def test_a_sql_read_on_a_full_disk_works_and_leaves_no_file(oso_home: Path, small_disk: SmallDisk):
    disk = small_disk(oso_home, "4m")  # the whole lake home: catalog, warehouse and whatever a read writes
    warehouse = Warehouse()
    warehouse.write("s.t", pl.DataFrame({"id": [1, 2]}))
    before = files_of(disk)
    fill(disk)

    try:
        got: object = warehouse.sql("SELECT count(*) AS n FROM s.t").rows()
    except duckdb.Error as error:
        got = error
    assert files_of(disk) == before  # nothing (not even half written) stays on the full disk
    assert got == [(2,)]
