"""crypto_ecosystems: the repository zip served locally, its JSONL files combined into ``taxonomy``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.crypto_ecosystems.fixtures.make_fixture import BUNDLE, EXPORT, FILES, TOP, build_zip
from flows.crypto_ecosystems.source import SOURCE, crypto_ecosystems_flow
from oso_core import BadFileError
from oso_dev.replay import ReplayServer, Route
from tests.support.oso_contract import assert_matches_contract

FIXTURE = Path(__file__).parent / "fixtures"
ZIP_PATH = "/archive/refs/heads/master.zip"


def serve_zip(tmp_path: Path, files: dict[str, str | bytes] | None = None, raw: bytes | None = None, routes=()):
    (tmp_path / "master.zip").write_bytes(raw if raw is not None else build_zip(files or FILES))
    return ReplayServer([*routes, Route(path=ZIP_PATH, file="master.zip")], root=tmp_path)


def test_jsonl_files_are_combined_into_taxonomy(warehouse):
    with ReplayServer.for_source("crypto_ecosystems") as server:
        summary = crypto_ecosystems_flow(base_url=server.url)
    expected = [json.loads(line) for line in BUNDLE + EXPORT]
    assert summary.rows == {"crypto_ecosystems.taxonomy": len(expected)}
    table = warehouse.sql("select eco_name, branch, repo_url, tags from crypto_ecosystems.taxonomy order by repo_url")
    assert sorted(table.to_dicts(), key=lambda r: r["repo_url"]) == sorted(expected, key=lambda r: r["repo_url"])
    uniswap = warehouse.sql("select branch, tags from crypto_ecosystems.taxonomy where eco_name = 'Uniswap'")
    assert uniswap.row(0) == (["Ethereum", "Optimism"], [])
    assert any("export/0056e7e4125fe32f.jsonl" in note for note in summary.notes)
    assert_matches_contract(warehouse, "crypto_ecosystems.taxonomy")


def test_rerun_gives_the_same_table(warehouse):
    with ReplayServer.for_source("crypto_ecosystems") as server:
        crypto_ecosystems_flow(base_url=server.url)
        first = warehouse.sql("select * from crypto_ecosystems.taxonomy order by repo_url")
        crypto_ecosystems_flow(base_url=server.url)
    assert warehouse.sql("select * from crypto_ecosystems.taxonomy order by repo_url").equals(first)


def test_rate_limit_then_success(warehouse, tmp_path):
    limited = [Route(path=ZIP_PATH, status=429, headers={"Retry-After": "0"}, times=1)]
    with serve_zip(tmp_path, routes=limited) as server:
        summary = crypto_ecosystems_flow(base_url=server.url)
    assert summary.rows["crypto_ecosystems.taxonomy"] == len(BUNDLE) + len(EXPORT)
    assert len(server.requests) == 2


def test_new_upstream_field_is_left_out_and_noted(warehouse, tmp_path):
    files = dict(FILES)
    files["export/extra.jsonl"] = '{"eco_name":"X","branch":[],"repo_url":"https://github.com/x/y","tags":[],"x":1}\n'
    with serve_zip(tmp_path, files) as server:
        summary = crypto_ecosystems_flow(base_url=server.url)
    assert summary.rows["crypto_ecosystems.taxonomy"] == len(BUNDLE) + len(EXPORT) + 1
    assert any("left out: x" in note for note in summary.notes)


@pytest.mark.parametrize(
    ("line", "field", "problem"),
    [
        ('{"eco_name":"A","branch":[],"repo_url":"https://github.com/a/b","tags":[', None, "malformed JSON"),
        ('{"eco_name":"A","branch":[],"tags":[]}', "repo_url", "required field is missing"),
        ('{"eco_name":"A","branch":"main","repo_url":"https://github.com/a/b","tags":[]}', "branch", "'main' is not"),
        ('["A", "https://github.com/a/b"]', None, "expected a JSON object"),
    ],
)
def test_bad_line_names_file_line_and_field_and_commits_nothing(warehouse, tmp_path, line, field, problem):
    with ReplayServer.for_source("crypto_ecosystems") as server:
        crypto_ecosystems_flow(base_url=server.url)
    before = warehouse.snapshot_id("crypto_ecosystems.taxonomy")
    files = dict(FILES)
    files["export/0056e7e4125fe32f.jsonl"] = files["export/0056e7e4125fe32f.jsonl"] + line + "\n"
    with serve_zip(tmp_path, files) as server, pytest.raises(BadFileError) as caught:
        crypto_ecosystems_flow(base_url=server.url)
    error = caught.value
    assert error.source == "crypto_ecosystems" and error.file == "master.zip"
    assert error.member == f"{TOP}/export/0056e7e4125fe32f.jsonl" and error.line == len(EXPORT) + 1
    assert error.field == field and problem in str(error)
    assert warehouse.snapshot_id("crypto_ecosystems.taxonomy") == before


def test_lfs_pointer_instead_of_data_is_named(warehouse, tmp_path):
    files = dict(FILES)
    files["crypto-ecosystems-bundle.jsonl"] = (
        "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a2146\nsize 123456789\n"
    )
    with serve_zip(tmp_path, files) as server, pytest.raises(BadFileError, match="Git LFS pointer") as caught:
        crypto_ecosystems_flow(base_url=server.url)
    assert caught.value.member == f"{TOP}/crypto-ecosystems-bundle.jsonl"
    assert not warehouse.exists("crypto_ecosystems.taxonomy")


def test_corrupt_zip_and_zip_without_jsonl_fail_cleanly(warehouse, tmp_path):
    with serve_zip(tmp_path, raw=b"PK\x03\x04 this is not really a zip") as server, pytest.raises(BadFileError) as bad:
        crypto_ecosystems_flow(base_url=server.url)
    assert "master.zip" in str(bad.value) and "corrupt" in str(bad.value)
    no_jsonl = {name: text for name, text in FILES.items() if not name.endswith(".jsonl")}
    with serve_zip(tmp_path, no_jsonl) as server, pytest.raises(BadFileError, match="no \\*.jsonl files"):
        crypto_ecosystems_flow(base_url=server.url)
    assert not warehouse.exists("crypto_ecosystems.taxonomy")


def test_declaration_and_fixture():
    assert SOURCE.table("taxonomy").mode == "replace"
    assert SOURCE.base_url == "https://github.com/opensource-observer/crypto-ecosystems"
    assert (FIXTURE / "master.zip").read_bytes() == build_zip(FILES)
