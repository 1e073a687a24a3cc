"""l2beat against its replayed API: projects, and per-project charts reshaped to rows; 404/429 ignored."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from flows.l2beat.replay import replay_parameters
from flows.l2beat.source import SOURCE, SPEC, l2beat_flow
from oso_core import SourceError
from oso_dev.replay import ReplayServer, Route
from tests.support.oso_contract import assert_matches_contract

FIXTURE = Path(__file__).parent / "fixtures"
ROUTES = json.loads((FIXTURE / "routes.json").read_text())
RETRY = SPEC.client.retry
EXPECTED = {"l2beat.projects": 4, "l2beat.activity": 9, "l2beat.tvs": 9}


def fixture_routes(*first: Route) -> list[Route]:
    return [*first, *(Route.from_dict(r) for r in ROUTES)]


def run(server: ReplayServer, **kwargs):
    return l2beat_flow(base_url=server.url, min_interval=0.0, **kwargs)


def test_happy_path_projects_and_charts_as_rows(warehouse) -> None:
    with ReplayServer.for_source("l2beat") as server:
        summary = run(server)
    assert summary.rows == EXPECTED
    assert summary.skipped == ["activity: paradex (HTTP 404)"]
    assert any("tvs: paradex: unsuccessful response" in note for note in summary.notes)
    assert any("activity: base: 1 point(s) not matching" in note for note in summary.notes)
    assert {r.query.get("range") for r in server.requests if r.path != "/scaling/summary"} == {"max"}

    projects = warehouse.sql("SELECT * FROM l2beat.projects ORDER BY id")
    assert projects["id"].to_list() == ["arbitrum", "base", "op-mainnet", "paradex"]
    op = projects.filter(projects["id"] == "op-mainnet").row(0, named=True)
    assert (op["name"], op["short_name"], op["host_chain"], op["stage"]) == ("OP Mainnet", "OP", "Ethereum", "Stage 1")
    assert op["is_archived"] is False and op["is_under_review"] is False
    assert json.loads(op["tvs"])["associatedTokens"] == ["OP"]
    assert json.loads(op["providers"]) == ["OP Stack"]

    activity = warehouse.sql("SELECT * FROM l2beat.activity WHERE project_slug = 'arbitrum' ORDER BY timestamp")
    assert activity.columns == ["project_slug", "timestamp", "count", "uops_count"]
    assert activity.row(0) == ("arbitrum", 1735603200, 1500000, 1600000)
    tvs = warehouse.sql("SELECT * FROM l2beat.tvs WHERE project_slug = 'base' ORDER BY timestamp")
    assert tvs.columns == ["project_slug", "timestamp", "native", "canonical", "external", "eth_price"]
    assert tvs.row(2) == ("base", 1735776000, 0.0, 3.0e9, 9.0e9 + 2, 3350.12)
    slugs = warehouse.sql("SELECT DISTINCT project_slug FROM l2beat.tvs ORDER BY 1")["project_slug"].to_list()
    assert slugs == ["arbitrum", "base", "op-mainnet"]
    assert_matches_contract(warehouse, "l2beat.projects", "l2beat.activity", "l2beat.tvs")


SUMMARY_BODY = json.loads((FIXTURE / "scaling_summary.json").read_text())


@pytest.mark.parametrize(
    "body",
    [SUMMARY_BODY, {"success": True, "data": SUMMARY_BODY}],
    ids=["unwrapped {chart, projects}", "wrapped {success, data: {chart, projects}}"],
)
def test_summary_in_either_shape_loads_the_same_tables(warehouse, body) -> None:
    with ReplayServer(fixture_routes(Route("/scaling/summary", json=body)), root=FIXTURE) as server:
        summary = run(server)
    assert summary.rows == EXPECTED
    ids = warehouse.sql("SELECT id FROM l2beat.projects ORDER BY id")["id"].to_list()
    assert ids == ["arbitrum", "base", "op-mainnet", "paradex"]
    slugs = warehouse.sql("SELECT DISTINCT project_slug FROM l2beat.activity ORDER BY 1")["project_slug"].to_list()
    assert slugs == ["arbitrum", "base", "op-mainnet"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"success": False, "data": {}}, "l2beat: /scaling/summary: field 'success': is false"),
        ({"success": True, "data": {"chart": {}}}, "l2beat: /scaling/summary: field 'projects': missing"),
    ],
)
def test_wrapped_summary_that_is_unsuccessful_or_empty_fails_naming_the_field(warehouse, body, message) -> None:
    routes = fixture_routes(Route("/scaling/summary", json=body))
    with ReplayServer(routes, root=FIXTURE) as server, pytest.raises(SourceError, match=message):
        run(server)
    assert not warehouse.exists("l2beat.projects")


def test_429_with_retry_after_then_success_and_flaky_5xx(warehouse) -> None:
    routes = fixture_routes(
        Route("/scaling/summary", status=503, headers={"Retry-After": "0"}, times=1),
        Route("/scaling/activity/arbitrum", status=429, headers={"Retry-After": "1"}, times=1),
        Route("/scaling/tvs/base", status=502, headers={"Retry-After": "0"}, times=2),
    )
    with ReplayServer(routes, root=FIXTURE) as server:
        summary = run(server)
    assert summary.rows == EXPECTED and summary.skipped == ["activity: paradex (HTTP 404)"]
    paths = [r.path for r in server.requests]
    assert paths.count("/scaling/summary") == 2
    assert paths.count("/scaling/activity/arbitrum") == 2 and paths.count("/scaling/tvs/base") == 3


def test_429_is_ignored_after_the_retries_as_oso_does(warehouse) -> None:
    routes = fixture_routes(Route("/scaling/tvs/arbitrum", status=429, headers={"Retry-After": "0"}))
    with ReplayServer(routes, root=FIXTURE) as server:
        summary = run(server)
    assert [r.path for r in server.requests].count("/scaling/tvs/arbitrum") == RETRY.attempts
    assert "tvs: arbitrum (HTTP 429)" in summary.skipped
    assert summary.rows["l2beat.tvs"] == 6


def test_rate_limit_spaces_chart_requests(warehouse) -> None:
    with ReplayServer.for_source("l2beat") as server:
        started = time.monotonic()
        l2beat_flow(base_url=server.url, min_interval=0.1, max_workers=4)
        elapsed = time.monotonic() - started
    assert len(server.requests) == 9 and elapsed >= 0.8


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (Route("/scaling/summary", json={"chart": {}}), "l2beat: /scaling/summary: field 'projects': missing"),
        (Route("/scaling/summary", status=404), "l2beat: /scaling/summary: HTTP 404"),
        (
            Route("/scaling/activity/base", json={"success": True, "data": {"chart": {"data": []}}}),
            "l2beat: /scaling/activity/base: field 'types': missing",
        ),
        (
            Route(
                "/scaling/tvs/base",
                json={"success": True, "data": {"chart": {"types": ["timestamp", "native"], "data": [[1, "x"]]}}},
            ),
            "l2beat: /scaling/tvs/base: record #0: field 'native': expected a number, got str 'x'",
        ),
    ],
)
def test_bad_payload_fails_naming_endpoint_and_field_and_commits_nothing(warehouse, route, message) -> None:
    with ReplayServer.for_source("l2beat") as server:
        run(server)
    snapshots = {t: warehouse.snapshot_id(t) for t in EXPECTED}
    with ReplayServer(fixture_routes(route), root=FIXTURE) as server, pytest.raises(SourceError) as caught:
        run(server)
    assert message in str(caught.value)
    assert {t: warehouse.snapshot_id(t) for t in EXPECTED} == snapshots


def test_rerun_gives_the_same_tables_and_replay_parameters(warehouse) -> None:
    with replay_parameters() as params:
        assert params["min_interval"] == 0.0
        l2beat_flow(**params)
        first = {t: warehouse.sql(f"SELECT * FROM {t} ORDER BY ALL") for t in EXPECTED}
        l2beat_flow(**params)
    for table, frame in first.items():
        assert warehouse.sql(f"SELECT * FROM {table} ORDER BY ALL").equals(frame), table
    assert SOURCE.table("activity").key == ("project_slug", "timestamp")
