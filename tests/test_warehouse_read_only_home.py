"""Reading a lake needs nothing writable: with the whole lake home on a read-only filesystem, ``Warehouse.sql``,
the pyoso-shaped ``Client`` and ``python -m oso_core.warehouse.query`` all read, and the home's file tree is unchanged.

DuckDB's extensions are loaded from the installed wheels; they used to be copied into ``$OSO_HOME/duckdb_extensions``
first (~60 MB per new home), so a read-only home failed every query. A read-only bind mount is used
because the tests run as root, whom ``chmod a-w`` does not stop.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from oso_core.warehouse import Warehouse
from oso_core.warehouse.query import Client
from tests.support.small_disk import read_only

ROOT = Path(__file__).resolve().parent.parent


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``folder`` with its size and modification time (ns)."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.fixture
def read_only_lake(oso_home: Path) -> Iterator[Path]:
    """A lake home (catalog and warehouse) with one table ``s.t``, then seen read-only."""
    Warehouse().write("s.t", pl.DataFrame({"id": [1, 2, 3], "v": ["a", "b", "c"]}))
    with read_only(oso_home) as home:
        yield home


def test_warehouse_sql_reads_a_read_only_home_and_writes_nothing(read_only_lake: Path):
    before = tree(read_only_lake)
    assert Warehouse().sql("SELECT id, v FROM s.t ORDER BY id").rows() == [(1, "a"), (2, "b"), (3, "c")]
    assert tree(read_only_lake) == before
    assert not (read_only_lake / "duckdb_extensions").exists()


def test_the_client_and_the_command_line_read_a_read_only_home(read_only_lake: Path):
    before = tree(read_only_lake)
    assert Client().to_polars("SELECT sum(id) AS n FROM s.t").rows() == [(6,)]
    run = subprocess.run(
        [sys.executable, "-m", "oso_core.warehouse.query", "--format", "csv", "SELECT count(*) AS n FROM s.t"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (run.returncode, run.stdout) == (0, "n\n3\n"), run.stderr
    assert tree(read_only_lake) == before
