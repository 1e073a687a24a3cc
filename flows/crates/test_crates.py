"""crates: the db-dump archive served locally, every CSV into ``crates.<name>``, read back with DuckDB."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from flows.crates.fixtures.make_fixture import CSV_FILES, TOP, build_tar_gz, dump_files
from flows.crates.source import DUMP_TABLES, SOURCE, crates_flow
from oso_core import BadFileError, SourceError
from oso_dev.replay import ReplayServer, Route
from tests.support.oso_contract import assert_matches_contract

FIXTURE = Path(__file__).parent / "fixtures"


def serve_dump(tmp_path: Path, csv_files: dict[str, str] | None = None, raw: bytes | None = None, routes=()):
    """A replay server for a dump built from ``csv_files`` (or the raw bytes given), plus any extra routes first."""
    (tmp_path / "db-dump.tar.gz").write_bytes(raw if raw is not None else build_tar_gz(dump_files(csv_files)))
    return ReplayServer([*routes, Route(path="/db-dump.tar.gz", file="db-dump.tar.gz")], root=tmp_path)


def csv_rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(CSV_FILES[f"{name}.csv"])))


def test_every_csv_becomes_a_table_with_quoted_newlines_and_integer_id(warehouse):
    with ReplayServer.for_source("crates") as server:
        summary = crates_flow(base_url=server.url)
    assert sorted(summary.rows) == sorted(f"crates.{name}" for name in DUMP_TABLES)
    for name in DUMP_TABLES:
        expected = len(csv_rows(name))
        assert summary.rows[f"crates.{name}"] == expected
        assert warehouse.sql(f"select count(*) as n from crates.{name}")["n"][0] == expected
    crates = warehouse.sql("select id, name, description, readme, max_features from crates.crates order by id")
    assert crates["id"].to_list() == [1, 2, 3]
    assert str(crates.schema["id"]) == "Int64" and str(crates.schema["max_features"]) == "String"
    serde = crates.row(0, named=True)
    assert serde["readme"] == csv_rows("crates")[0]["readme"]
    assert serde["readme"].startswith("# Serde\n\nSerde is a framework") and 'let x = "quoted";' in serde["readme"]
    assert crates.row(1, named=True)["readme"] == ""  # quoted "" stays an empty string
    assert crates.row(2, named=True)["description"] is None  # unquoted empty is NULL, as PostgreSQL wrote it
    versions = warehouse.sql("select id, features, yanked from crates.versions order by id")
    assert versions.schema["id"] == versions.schema["yanked"]  # every other column is a string
    assert versions["features"][0] == '{"std": [], "derive": ["serde_derive"]}'
    users = warehouse.sql("select gh_login, name from crates.users order by id")
    assert users.rows() == [("dtolnay", "David Tolnay"), ("=formula", "")]
    assert_matches_contract(
        warehouse,
        "crates.categories",
        "crates.crate_downloads",
        "crates.crate_owners",
        "crates.crates",
        "crates.crates_categories",
        "crates.crates_keywords",
        "crates.default_versions",
        "crates.dependencies",
        "crates.keywords",
        "crates.metadata",
        "crates.reserved_crate_names",
        "crates.teams",
        "crates.users",
        "crates.version_downloads",
        "crates.versions",
    )


def test_rerun_replaces_each_table_with_the_same_rows(warehouse):
    with ReplayServer.for_source("crates") as server:
        crates_flow(base_url=server.url)
        first = warehouse.sql("select * from crates.crates order by id")
        snapshot = warehouse.snapshot_id("crates.crates")
        crates_flow(base_url=server.url)
    assert warehouse.snapshot_id("crates.crates") != snapshot
    assert warehouse.sql("select * from crates.crates order by id").equals(first)
    assert warehouse.sql("select count(*) as n from crates.version_downloads")["n"][0] == 3


def test_flaky_server_then_success(warehouse, tmp_path):
    flaky = [Route(path="/db-dump.tar.gz", status=503, headers={"Retry-After": "0"}, times=2)]
    with serve_dump(tmp_path, routes=flaky) as server:
        summary = crates_flow(base_url=server.url)
    assert summary.rows["crates.crates"] == 3
    assert [r.path for r in server.requests].count("/db-dump.tar.gz") == 3


def test_missing_archive_is_a_clear_error(warehouse, tmp_path):
    with ReplayServer([], root=tmp_path) as server, pytest.raises(SourceError) as caught:
        crates_flow(base_url=server.url)
    assert "crates" in str(caught.value) and "/db-dump.tar.gz" in str(caught.value) and "404" in str(caught.value)


def test_malformed_later_csv_commits_nothing(warehouse, tmp_path):
    files = dict(CSV_FILES)
    files["versions.csv"] = files["versions.csv"] + '{},abc,3,1,2023-06-01,5,"{}",f,302\n'
    with serve_dump(tmp_path, files) as server, pytest.raises(BadFileError) as caught:
        crates_flow(base_url=server.url)
    error = caught.value
    assert error.source == "crates" and error.file == "db-dump.tar.gz"
    assert error.member == f"{TOP}/data/versions.csv" and error.record == 4 and error.field == "license"
    assert "expected 17 fields, got 9" in str(error)
    for name in DUMP_TABLES:  # crates.csv etc. came first in the archive, yet none was committed
        assert not warehouse.exists(f"crates.{name}")


def test_non_integer_crate_id_names_record_line_and_field(warehouse, tmp_path):
    with ReplayServer.for_source("crates") as server:
        crates_flow(base_url=server.url)
    before = {name: warehouse.snapshot_id(f"crates.{name}") for name in DUMP_TABLES}
    files = dict(CSV_FILES)
    files["crates.csv"] = files["crates.csv"].replace(",2,,,rand,", ",two,,,rand,")
    with serve_dump(tmp_path, files) as server, pytest.raises(BadFileError) as caught:
        crates_flow(base_url=server.url)
    error = caught.value
    assert (error.member, error.record, error.field) == (f"{TOP}/data/crates.csv", 2, "id")
    assert error.line == 10  # header on line 1, serde's record on lines 2-9 (7 newlines in its readme)
    assert "'two' is not a valid Int64" in str(error)
    assert {name: warehouse.snapshot_id(f"crates.{name}") for name in DUMP_TABLES} == before


def test_truncated_archive_commits_nothing(warehouse, tmp_path):
    whole = build_tar_gz(dump_files())
    with serve_dump(tmp_path, raw=whole[: len(whole) // 2]) as server, pytest.raises(BadFileError) as caught:
        crates_flow(base_url=server.url)
    assert caught.value.file == "db-dump.tar.gz" and "truncated or corrupt" in str(caught.value)
    assert not any(warehouse.exists(f"crates.{name}") for name in DUMP_TABLES)


def test_declaration_lists_the_dump_tables_replaced():
    assert SOURCE.base_url == "https://static.crates.io"
    assert {spec.name for spec in SOURCE.tables} == {name.removesuffix(".csv") for name in CSV_FILES}
    assert {spec.mode for spec in SOURCE.tables} == {"replace"}


def test_fixture_is_what_make_fixture_builds():
    assert (FIXTURE / "db-dump.tar.gz").read_bytes() == build_tar_gz(dump_files())
