"""npm against one replay server for both hosts: manifests, weekly downloads with OSO's every-day check."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from flows.npm.payload import package_of
from flows.npm.replay import replay_parameters
from flows.npm.source import SOURCE, npm_flow
from oso_core import FaultyWindowsError, LoadState, SourceError
from oso_dev.replay import ReplayServer, Route, fixtures_dir
from tests.support.oso_contract import assert_matches_contract

FIXTURE = fixtures_dir("npm")
ROUTES = json.loads((FIXTURE / "routes.json").read_text())
URL = pl.List(pl.Struct({"url": pl.String}))
WEEK = {"start": "2024-12-29", "end": "2025-01-05"}
RANGE = "/downloads/range/2024-12-29:2025-01-04"
REACT = json.loads((FIXTURE / "downloads_react.json").read_text())


def fixture_routes(*first: Route) -> list[Route]:
    return [*first, *(Route.from_dict(r) for r in ROUTES)]


def seed_lake(warehouse) -> None:
    projects = pl.DataFrame(
        {
            "name": ["react", "dt", "pad", "ghost", "other"],
            "npm": [
                [{"url": "https://www.npmjs.com/package/react"}],
                [{"url": "https://npmjs.com/package/@types/node"}],
                [{"url": "https://www.npmjs.com/package/left-pad/"}],
                [{"url": "https://www.npmjs.com/package/ghost-pkg"}],
                [{"url": "https://github.com/not/npm"}],
            ],
        },
        schema={"name": pl.String, "npm": URL},
    )
    warehouse.write("ossd.projects", projects, mode="replace")


def run(server: ReplayServer, **kwargs):
    return npm_flow(base_url=server.url, registry_url=server.url, **{**WEEK, **kwargs})


def test_package_names_from_urls() -> None:
    assert package_of("https://www.npmjs.com/package/@scope/pkg?activeTab=readme") == "@scope/pkg"
    assert package_of("https://npmjs.com/package/left-pad/") == "left-pad"
    assert package_of("https://www.npmjs.com/~someone") is None


def test_happy_path_manifests_and_one_window_of_downloads(warehouse) -> None:
    seed_lake(warehouse)
    with ReplayServer.for_source("npm") as server:
        summary = run(server)
    assert summary.rows == {"npm.manifests": 3, "npm.downloads": 2}
    assert summary.skipped == ["manifests: ghost-pkg (HTTP 404)", "downloads 2024-12-29: ghost-pkg (HTTP 404)"]
    assert any("1 npm URL(s) name no package: https://github.com/not/npm" in n for n in summary.notes)
    headers = server.requests[0].headers
    assert headers["X-URL"] == "https://github.com/opensource-observer/oso"

    downloads = warehouse.sql("SELECT * FROM npm.downloads ORDER BY artifact_name")
    assert downloads.rows() == [
        (date(2024, 12, 29), "@types/node", 51422571),
        (date(2024, 12, 29), "react", sum(d["downloads"] for d in REACT["downloads"])),
    ]  # left-pad had no downloads: no row, as OSO
    manifests = warehouse.sql("SELECT * FROM npm.manifests ORDER BY name")
    assert manifests["name"].to_list() == ["@types/node", "left-pad", "react"]
    pad = manifests.filter(pl.col("name") == "left-pad").row(0, named=True)
    assert json.loads(pad["author"]) == {"author": "azer"}
    assert json.loads(pad["bugs"]) == {"url": "https://github.com/stevemao/left-pad/issues"}
    assert json.loads(pad["license"]) == {"type": "WTFPL"}
    assert json.loads(pad["funding"]) == [{"type": "url", "url": "https://github.com/sponsors/stevemao"}]
    assert json.loads(pad["bin"]) == {"path": "./cli.js"}
    assert json.loads(pad["dev_dependencies"])["tape"] == "*"
    react = manifests.filter(pl.col("name") == "react").row(0, named=True)
    assert react["version"] == "19.0.0" and react["private"] is None and react["author"] is None
    state = LoadState(warehouse).latest("npm", "downloads")
    assert state["2024-12-29"].status == "loaded"
    assert_matches_contract(warehouse, "npm.manifests", "npm.downloads")


def test_429_and_flaky_5xx_then_success(warehouse) -> None:
    seed_lake(warehouse)
    routes = fixture_routes(
        Route(f"{RANGE}/react", status=429, headers={"Retry-After": "0"}, times=1),
        Route("/left-pad/latest", status=503, headers={"Retry-After": "0"}, times=1),
    )
    with ReplayServer(routes, root=FIXTURE) as server:
        summary = run(server)
    assert summary.rows == {"npm.manifests": 3, "npm.downloads": 2}
    paths = [r.path for r in server.requests]
    assert paths.count(f"{RANGE}/react") == 2 and paths.count("/left-pad/latest") == 2


def test_a_missing_day_makes_the_window_faulty_and_commits_nothing(warehouse) -> None:
    seed_lake(warehouse)
    short = {**REACT, "downloads": REACT["downloads"][:-1]}
    with (
        ReplayServer(fixture_routes(Route(f"{RANGE}/react", json=short)), root=FIXTURE) as server,
        pytest.raises(FaultyWindowsError) as caught,
    ):
        run(server, tables=["downloads"])
    assert f"npm: {RANGE}/react: field 'downloads': missing day(s) 2025-01-04 of 2024-12-29..2025-01-04" in str(
        caught.value
    )
    assert not warehouse.exists("npm.downloads")
    assert LoadState(warehouse).latest("npm", "downloads")["2024-12-29"].status == "faulty"
    # the next run retries the faulty window by default and loads it
    with ReplayServer.for_source("npm") as server:
        npm_flow(base_url=server.url, registry_url=server.url, tables=["downloads"], max_windows=1)
    assert warehouse.sql("SELECT count(*) AS n FROM npm.downloads")["n"][0] == 2


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (
            Route(f"{RANGE}/react", json={**REACT, "package": "preact"}),
            f"npm: {RANGE}/react: field 'package': answered for 'preact', asked for 'react'",
        ),
        (
            Route(f"{RANGE}/react", json={**REACT, "downloads": [{"day": "2024-12-29", "downloads": "many"}]}),
            f"npm: {RANGE}/react: record downloads[0]: field 'downloads': expected an integer, got str 'many'",
        ),
    ],
)
def test_bad_download_payloads_name_the_field(warehouse, route, message) -> None:
    seed_lake(warehouse)
    with ReplayServer(fixture_routes(route), root=FIXTURE) as server, pytest.raises(FaultyWindowsError) as caught:
        run(server, tables=["downloads"])
    assert message in str(caught.value)
    assert not warehouse.exists("npm.downloads")


def test_malformed_manifest_fails_and_keeps_the_previous_table(warehouse) -> None:
    seed_lake(warehouse)
    with ReplayServer.for_source("npm") as server:
        run(server, tables=["manifests"])
    before = warehouse.snapshot_id("npm.manifests")
    with (
        ReplayServer(fixture_routes(Route("/react/latest", json={"name": "react"})), root=FIXTURE) as server,
        pytest.raises(SourceError, match="npm: /react/latest: field 'version': missing"),
    ):
        run(server, tables=["manifests"])
    assert warehouse.snapshot_id("npm.manifests") == before


def test_without_ossd_nothing_is_loaded_and_no_window_is_marked(warehouse) -> None:
    with replay_parameters() as params:
        summary = npm_flow(**params)
    assert summary.rows == {}
    assert "ossd.projects is not in the lake yet: no npm packages, nothing loaded" in summary.notes
    assert LoadState(warehouse).latest("npm", "downloads") == {}
    assert summary.notes == [
        "ossd.projects is not in the lake yet: no npm packages, nothing loaded",
        "no windows planned: no window was loaded or marked",
    ]  # not "every window up to now is loaded" (issue 10, fault 12)


def test_ossd_without_npm_packages_loads_nothing_and_marks_no_window(warehouse) -> None:
    """Windows marked loaded with zero rows would never be loaded once the packages exist."""
    projects = pl.DataFrame(
        {"name": ["only-github"], "npm": [[{"url": "https://github.com/not/npm"}]]},
        schema={"name": pl.String, "npm": URL},
    )
    warehouse.write("ossd.projects", projects, mode="replace")
    with ReplayServer.for_source("npm") as server:
        summary = npm_flow(base_url=server.url, registry_url=server.url)
    assert summary.rows == {} and server.requests == []
    assert summary.notes == [
        "1 npm URL(s) name no package: https://github.com/not/npm",
        "ossd.projects lists no npm package: nothing loaded",
        "no windows planned: no window was loaded or marked",
    ]
    assert LoadState(warehouse).latest("npm", "downloads") == {}
    assert not warehouse.exists("npm.manifests") and not warehouse.exists("npm.downloads")


def test_rerun_merges_to_the_same_table(warehouse) -> None:
    seed_lake(warehouse)
    with replay_parameters() as params:
        npm_flow(**params)
        first = {t: warehouse.sql(f"SELECT * FROM {t} ORDER BY ALL") for t in ("npm.downloads", "npm.manifests")}
        npm_flow(**params)
    for table, frame in first.items():
        assert warehouse.sql(f"SELECT * FROM {table} ORDER BY ALL").equals(frame), table


def test_first_window_is_the_first_whole_week_npm_counts() -> None:
    from oso_core import windows_between

    first = windows_between(SOURCE.windows, SOURCE.windows.start, "2015-01-20")[0]
    assert (first.key, first.end.date()) == ("2015-01-11", date(2015, 1, 18))
