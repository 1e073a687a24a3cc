"""openlabelsinitiative: the decoded labels parquet served locally, loaded row group by row group."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.openlabelsinitiative.fixtures.make_fixture import ROWS, SCHEMA, build_table, write
from flows.openlabelsinitiative.source import EXPORT_PATH, SOURCE, openlabelsinitiative_flow
from oso_core import BadFileError, SourceError, parquet_batches
from oso_dev.replay import ReplayServer, Route
from tests.support.oso_contract import assert_matches_contract

FIXTURE = Path(__file__).parent / "fixtures"


def serve(tmp_path: Path, table: pa.Table | None = None, raw: bytes | None = None, routes=()):
    path = tmp_path / "labels_decoded.parquet"
    if raw is not None:
        path.write_bytes(raw)
    else:
        write(path, table)
    return ReplayServer([*routes, Route(path=EXPORT_PATH, file="labels_decoded.parquet")], root=tmp_path)


def test_labels_load_with_their_parquet_types(warehouse):
    with ReplayServer.for_source("openlabelsinitiative") as server:
        summary = openlabelsinitiative_flow(base_url=server.url)
    assert summary.rows == {"openlabelsinitiative.labels_decoded": len(ROWS)}
    table = warehouse.sql("select * from openlabelsinitiative.labels_decoded")
    assert table.columns == SCHEMA.names
    assert {name: str(dtype) for name, dtype in table.schema.items() if name in ("time_created", "revoked")} == {
        "time_created": "Int64",
        "revoked": "Boolean",
    }
    assert sorted(table.rows()) == sorted(ROWS)
    revoked = warehouse.sql(
        "select count(*) as n from openlabelsinitiative.labels_decoded where revoked and revocation_time > 0"
    )
    assert revoked["n"][0] == 2
    assert_matches_contract(warehouse, "openlabelsinitiative.labels_decoded")


def test_row_groups_are_joined_or_sliced_to_the_batch_target():
    path = FIXTURE / "labels_decoded.parquet"
    assert pq.ParquetFile(path).num_row_groups == 3
    joined = list(parquet_batches("openlabelsinitiative", path, target_bytes=1 << 20))
    assert [f.height for f in joined] == [len(ROWS)]  # three small row groups, one writer batch
    meta = pq.ParquetFile(path).metadata
    largest = max(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    per_group = list(parquet_batches("openlabelsinitiative", path, target_bytes=largest // 2 + 1))
    assert [f.height for f in per_group] == [4, 4, 1]
    sliced = list(parquet_batches("openlabelsinitiative", path, target_bytes=1))  # row groups above 2x the target
    assert [f.height for f in sliced] == [1] * len(ROWS)


def test_rerun_and_flaky_server(warehouse, tmp_path):
    flaky = [Route(path=EXPORT_PATH, status=502, times=1), Route(path=EXPORT_PATH, status=504, times=1)]
    with serve(tmp_path, routes=flaky) as server:
        openlabelsinitiative_flow(base_url=server.url)
        first = warehouse.sql("select * from openlabelsinitiative.labels_decoded order by id, tag_id")
        openlabelsinitiative_flow(base_url=server.url)
    assert [r.path for r in server.requests].count(EXPORT_PATH) == 4
    assert warehouse.sql("select * from openlabelsinitiative.labels_decoded order by id, tag_id").equals(first)


def test_missing_column_names_the_field_and_commits_nothing(warehouse, tmp_path):
    with ReplayServer.for_source("openlabelsinitiative") as server:
        openlabelsinitiative_flow(base_url=server.url)
    before = warehouse.snapshot_id("openlabelsinitiative.labels_decoded")
    with serve(tmp_path, build_table().drop_columns(["tag_value"])) as server, pytest.raises(BadFileError) as caught:
        openlabelsinitiative_flow(base_url=server.url)
    error = caught.value
    assert (error.source, error.file, error.field) == ("openlabelsinitiative", "labels_decoded.parquet", "tag_value")
    assert warehouse.snapshot_id("openlabelsinitiative.labels_decoded") == before


def test_not_a_parquet_file_and_missing_export(warehouse, tmp_path):
    with serve(tmp_path, raw=b"<html>maintenance</html>") as server, pytest.raises(BadFileError) as caught:
        openlabelsinitiative_flow(base_url=server.url)
    assert "labels_decoded.parquet" in str(caught.value) and "not a readable parquet file" in str(caught.value)
    with ReplayServer([], root=tmp_path) as server, pytest.raises(SourceError, match="HTTP 404"):
        openlabelsinitiative_flow(base_url=server.url)
    assert not warehouse.exists("openlabelsinitiative.labels_decoded")


def test_declaration_and_fixture(tmp_path):
    assert SOURCE.table("labels_decoded").mode == "replace"
    assert SOURCE.base_url == "https://api.growthepie.xyz"
    write(tmp_path / "again.parquet")
    assert pq.read_table(tmp_path / "again.parquet").equals(pq.read_table(FIXTURE / "labels_decoded.parquet"))
