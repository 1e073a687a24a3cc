"""growthepie against its replayed exports: eleven metrics in one table; bad rows fail naming export and field."""

from __future__ import annotations

import json
from datetime import date

import pytest

from flows.growthepie.source import SPEC, growthepie_flow
from oso_core import SourceError
from oso_dev.replay import ReplayServer, Route, fixtures_dir
from tests.support.oso_contract import assert_matches_contract

METRICS = SPEC.resource("fundamentals_full").endpoint.params["metric"].values
FIXTURE = fixtures_dir("growthepie")
TOTAL_ROWS = sum(len(json.loads((FIXTURE / f"{m}.json").read_text())) for m in METRICS)


def fixture_routes(*first: Route) -> list[Route]:
    return [*first, *(Route(f"/export/{m}.json", file=f"{m}.json") for m in METRICS)]


def test_happy_path_all_eleven_exports_in_one_table(warehouse) -> None:
    with ReplayServer.for_source("growthepie") as server:
        summary = growthepie_flow(base_url=server.url)
    assert sorted(r.path for r in server.requests) == sorted(f"/export/{m}.json" for m in METRICS)
    assert summary.rows == {"growthepie.fundamentals_full": TOTAL_ROWS} and TOTAL_ROWS == 114
    frame = warehouse.sql("SELECT * FROM growthepie.fundamentals_full")
    assert set(frame.columns) == {"metric_key", "origin_key", "date", "value", "metric"}
    per_metric = warehouse.sql(
        "SELECT metric, count(*) AS n, count(DISTINCT metric_key) AS keys FROM growthepie.fundamentals_full "
        "GROUP BY metric ORDER BY metric"
    )
    assert per_metric["metric"].to_list() == sorted(METRICS)
    assert dict(zip(per_metric["metric"], per_metric["keys"], strict=True))["fees"] == 2
    first_fee = json.loads((FIXTURE / "fees.json").read_text())[0]
    row = warehouse.sql(
        "SELECT * FROM growthepie.fundamentals_full WHERE metric_key = 'fees_paid_usd' "
        "AND origin_key = 'arbitrum' AND date = DATE '2024-12-30'"
    ).row(0, named=True)
    assert row["value"] == first_fee["value"] and row["date"] == date(2024, 12, 30) and row["metric"] == "fees"
    assert_matches_contract(warehouse, "growthepie.fundamentals_full")


def test_429_and_flaky_5xx_then_success(warehouse) -> None:
    routes = fixture_routes(
        Route("/export/tvl.json", status=429, headers={"Retry-After": "0"}, times=1),
        Route("/export/daa.json", status=503, times=2),
    )
    with ReplayServer(routes, root=FIXTURE) as server:
        growthepie_flow(base_url=server.url)
    paths = [r.path for r in server.requests]
    assert paths.count("/export/tvl.json") == 2 and paths.count("/export/daa.json") == 3
    assert warehouse.read("growthepie.fundamentals_full").height == TOTAL_ROWS


def test_rows_without_metric_key_and_with_new_fields(warehouse) -> None:
    rows = [{"origin_key": "base", "date": "2025-01-01", "value": 3, "unit": "usd"}]
    routes = fixture_routes(Route("/export/daa.json", json=rows))
    with ReplayServer(routes, root=FIXTURE) as server:
        growthepie_flow(base_url=server.url)
    frame = warehouse.sql("SELECT * FROM growthepie.fundamentals_full WHERE metric = 'daa'")
    assert frame.select("metric_key", "origin_key", "value", "unit").rows() == [("daa", "base", 3.0, "usd")]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            [{"metric_key": "tvl", "origin_key": "base", "date": "2025-01-01", "value": "n/a"}],
            "growthepie: /export/tvl.json: record #0: field 'value': expected a number, got str 'n/a'",
        ),
        (
            [{"metric_key": "tvl", "date": "2025-01-01", "value": 1.0}],
            "growthepie: /export/tvl.json: record #0: field 'origin_key': missing",
        ),
        ({"data": []}, "growthepie: /export/tvl.json: response: expected a list, got dict"),
    ],
)
def test_bad_export_fails_naming_it_and_commits_nothing(warehouse, payload, message) -> None:
    with ReplayServer.for_source("growthepie") as server:
        growthepie_flow(base_url=server.url)
    before = warehouse.snapshot_id("growthepie.fundamentals_full")
    with (
        ReplayServer(fixture_routes(Route("/export/tvl.json", json=payload)), root=FIXTURE) as server,
        pytest.raises(SourceError) as caught,
    ):
        growthepie_flow(base_url=server.url)
    assert str(caught.value).startswith(message)
    assert warehouse.snapshot_id("growthepie.fundamentals_full") == before


def test_missing_export_fails_and_rerun_is_identical(warehouse) -> None:
    routes = [r for r in fixture_routes() if r.path != "/export/profit.json"]
    with (
        ReplayServer(routes, root=FIXTURE) as server,
        pytest.raises(SourceError, match="/export/profit.json: HTTP 404"),
    ):
        growthepie_flow(base_url=server.url)
    assert not warehouse.exists("growthepie.fundamentals_full")
    query = "SELECT * FROM growthepie.fundamentals_full ORDER BY metric, metric_key, origin_key, date"
    with ReplayServer.for_source("growthepie") as server:
        growthepie_flow(base_url=server.url)
        first = warehouse.sql(query)
        growthepie_flow(base_url=server.url)
    assert warehouse.sql(query).equals(first) and first.height == TOTAL_ROWS
