"""ossd_sbom against a local server replaying GitHub's dependency-graph SBOM export (SPDX), 404/403/429, reruns."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from flows.ossd_sbom.source import SOURCE, ossd_sbom_flow
from oso_core import RecordError, repositories_frame, repository_row
from oso_dev.replay import ReplayServer, Route
from tests.support.oso_contract import assert_matches_contract

FIXTURES = Path(__file__).parent / "fixtures"
GITHUB_FIXTURES = Path(__file__).parents[1] / "ossd_github" / "fixtures"
TOKEN = "ghp_testtoken0123456789"
TABLE = "ossd.sbom"
VIEM = "/repos/wevm/viem/dependency-graph/sbom"


def serve(*extra: Route) -> ReplayServer:
    """The recorded happy path, with ``extra`` routes matched first."""
    return ReplayServer.for_source("ossd_sbom", *extra)


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def repositories(warehouse, monkeypatch):
    """``ossd.repositories`` as ossd_github writes it from its replay (17 repositories), and the token."""
    monkeypatch.setenv("DAGSTER__OSSD__GITHUB_TOKEN", TOKEN)
    now = datetime.now(UTC)
    rows = []
    for path in sorted(GITHUB_FIXTURES.glob("*.json")):
        payload = json.loads(path.read_text())
        for repo in payload if isinstance(payload, list) else [payload]:
            if isinstance(repo, dict) and "full_name" in repo:
                rows.append(repository_row("ossd_github", path.name, repo, now))
    frame = repositories_frame(rows)
    warehouse.write("ossd.repositories", frame, mode="replace")
    return frame


def test_declaration():
    assert SOURCE.qualified("sbom") == TABLE
    assert SOURCE.table("sbom").key == ("artifact_namespace", "artifact_name", "package_source", "package")
    assert (SOURCE.cadence, SOURCE.api, SOURCE.depends_on) == ("0 0 * * 2,5", "github", ("ossd_github",))


def test_loads_every_repository_and_skips_404_and_403(repositories, warehouse):
    assert repositories.height == 17
    with serve() as server:
        summary = ossd_sbom_flow(base_url=server.url)

    rows = warehouse.sql(f"SELECT * FROM {TABLE}")
    assert rows.columns == [
        "artifact_namespace", "artifact_name", "artifact_source", "package", "package_source", "package_version",
        "snapshot_at",
    ]  # fmt: skip
    assert sorted(summary.skipped) == ["Uniswap/v2-core-fork (HTTP 403)", "protocolguild/documentation (HTTP 404)"]
    assert rows.select("artifact_namespace", "artifact_name").unique().height == 15
    assert set(rows["artifact_source"]) == {"GITHUB"}
    assert set(rows["package_source"]) == {"NPM", "PIP", "RUST", "ACTIONS"}
    assert not rows.filter(pl.col("package").str.starts_with("com.github")).height  # the repository itself
    viem = rows.filter(pl.col("artifact_name") == "viem").sort("package")
    assert viem.select("package", "package_source", "package_version").rows() == [
        ("@noble/curves", "NPM", "1.6.0"), ("abitype", "NPM", "1.0.6"), ("ws", "NPM", "8.18.0"),
    ]  # fmt: skip
    pip_actions = rows.filter((pl.col("artifact_name") == "pip") & (pl.col("package_source") == "ACTIONS"))
    assert pip_actions["package"].sort().to_list() == ["actions/checkout", "actions/setup-node"]
    assert viem["snapshot_at"].unique().to_list() == [datetime(2024, 11, 26, 0, 13, 3, tzinfo=UTC)]
    nox = rows.filter((pl.col("artifact_name") == "pip") & (pl.col("package") == "nox")).row(0, named=True)
    assert nox["package_version"] is None  # no versionInfo
    # grants-stack lists viem twice (2.21.0 and 1.21.4): one row per (repository, package), the first kept
    stack = rows.filter((pl.col("artifact_name") == "grants-stack") & (pl.col("package") == "viem"))
    assert stack["package_version"].to_list() == ["2.21.0"]
    assert any("1 further versions of a listed package not kept" in note for note in summary.notes)
    assert summary.rows == {TABLE: rows.height} and rows.height == 51

    assert {r.headers.get("Authorization") for r in server.requests} == {f"Bearer {TOKEN}"}
    assert len(server.requests) == 17
    assert_matches_contract(warehouse, "ossd.sbom")


def test_rate_limits_429_and_403_are_waited_out(repositories, warehouse):
    limited = {"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest"}
    primary = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time())), "x-ratelimit-limit": "5000"}
    routes = [
        Route(VIEM, status=429, json=limited, headers={"Retry-After": "1"}, times=1),
        Route("/repos/wevm/wagmi/dependency-graph/sbom", status=403, json=limited, headers=primary, times=1),
    ]
    started = time.monotonic()
    with serve(*routes) as server:
        summary = ossd_sbom_flow(base_url=server.url)
    assert time.monotonic() - started >= 1.0
    paths = [r.path for r in server.requests]
    assert paths.count(VIEM) == 2 and paths.count("/repos/wevm/wagmi/dependency-graph/sbom") == 2
    loaded = set(warehouse.sql(f"SELECT DISTINCT artifact_name FROM {TABLE}")["artifact_name"])
    assert {"viem", "wagmi"} <= loaded
    assert len(summary.skipped) == 2  # still only the 404 and the plain 403


def test_rerun_merges_on_repository_and_package_and_skips_fresh_sboms(repositories, warehouse):
    with serve() as server:
        ossd_sbom_flow(base_url=server.url)
    first = warehouse.read(TABLE)

    newer = fixture("sbom_wevm_viem.json")
    newer["sbom"]["creationInfo"]["created"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    newer["sbom"]["packages"][1]["versionInfo"] = "1.0.8"  # abitype upgraded
    with serve(Route(VIEM, json=newer)) as server:
        ossd_sbom_flow(base_url=server.url, max_age_days=0)
    again = warehouse.read(TABLE)
    assert again.height == first.height
    viem = again.filter(pl.col("artifact_name") == "viem")
    assert viem.filter(pl.col("package") == "abitype")["package_version"].item() == "1.0.8"
    others = pl.col("artifact_name") != "viem"
    key = ["artifact_namespace", "artifact_name", "package_source", "package"]
    assert again.filter(others).sort(key).equals(first.filter(others).sort(key))

    # default max_age_days=7: viem's SBOM is from today, so only the others are asked for again
    with serve() as server:
        ossd_sbom_flow(base_url=server.url)
    assert VIEM not in [r.path for r in server.requests]
    assert len(server.requests) == 16
    assert warehouse.read(TABLE).height == first.height


def test_malformed_sbom_names_the_field_and_commits_nothing(repositories, warehouse):
    with serve() as server:
        ossd_sbom_flow(base_url=server.url)
    snapshot = warehouse.snapshot_id(TABLE)
    bad = fixture("sbom_wevm_viem.json")
    bad["sbom"]["packages"] = {"npm:abitype": "1.0.6"}
    with serve(Route(VIEM, json=bad)) as server, pytest.raises(RecordError) as info:
        ossd_sbom_flow(base_url=server.url, max_age_days=0)
    assert f"ossd_sbom: {VIEM}: field 'packages': expected" in str(info.value)
    assert TOKEN not in str(info.value)
    assert warehouse.snapshot_id(TABLE) == snapshot


def test_without_ossd_repositories_it_says_so(oso_home, warehouse, monkeypatch):
    monkeypatch.setenv("DAGSTER__OSSD__GITHUB_TOKEN", TOKEN)
    summary = ossd_sbom_flow(base_url="http://127.0.0.1:9")
    assert summary.results == []
    assert summary.notes == ["ossd.repositories is missing: run ossd_github first"]
    assert not warehouse.exists(TABLE)
