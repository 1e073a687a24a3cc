"""ossd_github against a local server replaying GitHub REST responses (org paging, 404s, rate limits, bad payloads)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from flows.ossd_github.source import SOURCE, ossd_github_flow
from oso_core import RecordError, SourceError, accepting, parse_github_url
from oso_dev.replay import ReplayServer, Route
from tests.support.oso_contract import assert_matches_contract

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "ghp_testtoken0123456789"
SAMPLE_URLS = [
    "https://github.com/opensource-observer",
    "https://github.com/protocolguild",
    "https://github.com/gitcoinco",
    "https://github.com/ensdomains",
    "https://github.com/uniswap",
    "https://github.com/wevm/viem",
    "https://github.com/wevm/wagmi",
    "https://github.com/foundry-rs/foundry",
    "https://github.com/pypa/pip",
    "https://github.com/NomicFoundation/hardhat",
    "https://github.com/Giveth/giveth-dapps-v2",
    "https://github.com/ethereum-attestation-service/eas-contracts",
    "https://github.com/ethereum-attestation-service/eas-sdk",
    "https://github.com/aave/aave-v3-core",
]
TABLE = "ossd.repositories"


def serve(*extra: Route) -> ReplayServer:
    """The recorded happy path, with ``extra`` routes matched first."""
    return ReplayServer.for_source("ossd_github", *extra)


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def repositories(warehouse, monkeypatch):
    """``ossd.project_repositories`` as the ossd source writes it, and the GitHub token in the env."""
    monkeypatch.setenv("DAGSTER__OSSD__GITHUB_TOKEN", TOKEN)

    def write(urls: list[str]) -> None:
        parsed = [parse_github_url(u) for u in urls]
        with accepting(["ossd.project_repositories:row_drop"]):  # a test's input: often fewer URLs than the seed
            warehouse.write(
                "ossd.project_repositories",
                pl.DataFrame(
                    {
                        "project_name": [f"project-{i}" for i in range(len(urls))],
                        "url": urls,
                        "owner": [p.owner if p else None for p in parsed],
                        "repo_name": [p.repository if p else None for p in parsed],
                        "sha": [b"\x01" * 20] * len(urls),
                        "committed_time": [datetime(2024, 11, 20, tzinfo=UTC)] * len(urls),
                    }
                ),
                mode="replace",
            )

    write(SAMPLE_URLS)
    return write


def test_declaration():
    assert SOURCE.qualified("repositories") == TABLE
    assert SOURCE.table("repositories").key == ("id",)
    assert SOURCE.api == "github"
    assert SOURCE.base_url == "https://api.github.com"


def test_resolves_every_url_following_org_pages_to_the_end(repositories, warehouse):
    with serve() as server:
        summary = ossd_github_flow(base_url=server.url)

    rows = warehouse.sql(f"SELECT * FROM {TABLE} ORDER BY name_with_owner")
    assert rows.height == 17
    assert rows.columns == [
        "ingestion_time", "id", "node_id", "owner", "name_with_owner", "url", "name", "is_fork", "branch",
        "fork_count", "star_count", "watcher_count", "license_spdx_id", "license_name", "language",
        "created_at", "updated_at",
    ]  # fmt: skip
    oso = rows.filter(pl.col("owner") == "opensource-observer")["name"].sort().to_list()
    assert oso == ["insights", "oso", "oss-directory"]  # page 2 came from the Link header's next URL
    pip = rows.filter(pl.col("name_with_owner") == "pypa/pip").row(0, named=True)
    assert (pip["id"], pip["star_count"], pip["license_spdx_id"], pip["language"]) == (1075369, 9500, "MIT", "Python")
    assert pip["created_at"] == datetime(2010, 11, 14, 16, tzinfo=UTC)
    docs = rows.filter(pl.col("name_with_owner") == "protocolguild/documentation").row(0, named=True)
    assert (docs["license_spdx_id"], docs["license_name"], docs["language"], docs["branch"]) == ("", "", "", "master")
    assert rows.filter(pl.col("name") == "v2-core-fork")["is_fork"].item() is True
    assert summary.skipped == ["https://github.com/aave/aave-v3-core (HTTP 404)"]

    asked = [(r.path, r.query.get("page")) for r in server.requests]
    assert ("/organizations/145079367/repos", "2") in asked
    assert ("/orgs/protocolguild/repos", None) in asked and ("/users/protocolguild/repos", None) in asked
    assert {r.headers.get("Authorization") for r in server.requests} == {f"Bearer {TOKEN}"}
    assert {r.headers.get("X-Github-Next-Global-ID") for r in server.requests} == {"1"}
    assert_matches_contract(warehouse, "ossd.repositories")


def test_rerun_merges_on_the_repo_id(repositories, warehouse):
    with serve() as server:
        ossd_github_flow(base_url=server.url)
    first = warehouse.read(TABLE).drop("ingestion_time").sort("id")

    viem = fixture("repos_wevm_viem.json") | {"stargazers_count": 2600}
    with serve(Route("/repos/wevm/viem", json=viem)) as server:
        ossd_github_flow(base_url=server.url)

    again = warehouse.read(TABLE).drop("ingestion_time").sort("id")
    assert again.height == first.height == 17
    assert again["id"].n_unique() == 17
    assert again.filter(pl.col("name") == "viem")["star_count"].item() == 2600
    assert again.filter(pl.col("name") != "viem").equals(first.filter(pl.col("name") != "viem"))


def test_repo_listed_by_org_and_by_url_is_one_row(repositories, warehouse):
    repositories([*SAMPLE_URLS, "https://github.com/opensource-observer/oso", "https://gitlab.com/foo/bar"])
    oso_repo = fixture("orgs_opensource-observer_repos_1.json")[0]
    with serve(Route("/repos/opensource-observer/oso", json=oso_repo)) as server:
        summary = ossd_github_flow(base_url=server.url)
    assert warehouse.sql(f"SELECT count(*) AS n FROM {TABLE} WHERE name = 'oso'")["n"].item() == 1
    assert warehouse.sql(f"SELECT count(*) AS n FROM {TABLE}")["n"].item() == 17
    assert "https://gitlab.com/foo/bar (not a github.com owner or repository URL)" in summary.skipped


def test_owner_unknown_as_org_and_user_is_skipped(repositories, warehouse):
    repositories(["https://github.com/wevm/viem", "https://github.com/ghost-owner"])
    with serve() as server:
        summary = ossd_github_flow(base_url=server.url)
    assert summary.skipped == ["https://github.com/ghost-owner (HTTP 404)"]
    assert [r.path for r in server.requests if "ghost" in r.path] == [
        "/orgs/ghost-owner/repos",
        "/users/ghost-owner/repos",
    ]
    assert warehouse.sql(f"SELECT name FROM {TABLE}")["name"].to_list() == ["viem"]


def test_rate_limits_are_waited_out(repositories, warehouse):
    repositories(["https://github.com/wevm/viem", "https://github.com/wevm/wagmi", "https://github.com/pypa/pip"])
    primary = {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(time.time())),
        "x-ratelimit-resource": "core",
    }
    limited = {"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest"}
    routes = [
        Route("/repos/wevm/viem", status=403, json=limited, headers=primary, times=1),
        Route("/repos/wevm/wagmi", status=429, json=limited, headers={"Retry-After": "1"}, times=1),
        Route("/repos/pypa/pip", status=502, text="Bad Gateway", times=1),
    ]
    started = time.monotonic()
    with serve(*routes) as server:
        ossd_github_flow(base_url=server.url, max_workers=3)
    assert time.monotonic() - started >= 1.0  # waited for the reset / Retry-After
    assert sorted(warehouse.sql(f"SELECT name FROM {TABLE}")["name"]) == ["pip", "viem", "wagmi"]
    assert [r.path for r in server.requests].count("/repos/wevm/viem") == 2


def test_forbidden_without_rate_limit_fails_clearly(repositories, warehouse):
    repositories(["https://github.com/wevm/viem"])
    forbidden = {"message": "Resource protected by organization SAML enforcement."}
    with serve(Route("/repos/wevm/viem", status=403, json=forbidden)) as server, pytest.raises(SourceError) as info:
        ossd_github_flow(base_url=server.url)
    assert "/repos/wevm/viem: HTTP 403" in str(info.value)
    assert TOKEN not in str(info.value)
    assert not warehouse.exists(TABLE)


def test_malformed_repository_names_endpoint_and_field_and_commits_nothing(repositories, warehouse):
    with serve() as server:
        ossd_github_flow(base_url=server.url)
    snapshot = warehouse.snapshot_id(TABLE)

    bad = fixture("repos_pypa_pip.json") | {"stargazers_count": "9.5k"}
    with serve(Route("/repos/pypa/pip", json=bad)) as server, pytest.raises(RecordError) as info:
        ossd_github_flow(base_url=server.url)
    assert "ossd_github: /repos/pypa/pip: record pypa/pip: field 'stargazers_count'" in str(info.value)
    assert warehouse.snapshot_id(TABLE) == snapshot


def test_org_listing_that_is_not_a_list_fails(repositories, warehouse):
    repositories(["https://github.com/gitcoinco"])
    with serve(Route("/orgs/gitcoinco/repos", json={"repositories": []})) as server, pytest.raises(SourceError) as e:
        ossd_github_flow(base_url=server.url)
    assert "/orgs/gitcoinco/repos" in str(e.value) and "list" in str(e.value)
    assert not warehouse.exists(TABLE)


def test_missing_owner_login_is_named(repositories, warehouse):
    repositories(["https://github.com/wevm/wagmi"])
    bad = fixture("repos_wevm_wagmi.json")
    bad["owner"] = {"id": 108373542}
    with (
        serve(Route("/repos/wevm/wagmi", json=bad)) as server,
        pytest.raises(RecordError, match="field 'login': missing"),
    ):
        ossd_github_flow(base_url=server.url)


def test_without_ossd_project_repositories_it_says_so(oso_home, warehouse, monkeypatch):
    monkeypatch.setenv("DAGSTER__OSSD__GITHUB_TOKEN", TOKEN)
    summary = ossd_github_flow(base_url="http://127.0.0.1:9")
    assert summary.results == []
    assert summary.notes == ["ossd.project_repositories is missing: run ossd first"]
    assert not warehouse.exists(TABLE)
