"""open_collective against its recorded GraphQL v2 responses: windows, pages, token, faulty windows, merge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.open_collective.source import open_collective_flow
from oso_core import FAULTY, LOADED, FaultyWindowsError, LoadState
from oso_dev.replay import ReplayServer, Route, fixtures_dir
from tests.support.oso_contract import assert_matches_contract
from tests.support.sources import no_retry_waits

TOKEN = "oc-test-personal-token-1234"
DIR = fixtures_dir("open_collective")
RANGE = {"start": "2024-01-07", "end": "2024-01-21", "page_size": 2, "accounts_page_size": 2}


@pytest.fixture(autouse=True)
def fast_settings(oso_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER__OPEN_COLLECTIVE__PERSONAL_TOKEN", TOKEN)
    no_retry_waits(monkeypatch, "open_collective", attempts=3)


def server(*extra: Route) -> ReplayServer:
    return ReplayServer.for_source("open_collective", *extra)


def page_route(kind: str, week: str, offset: int, **kw) -> Route:
    body = {"variables.type": kind, "variables.dateFrom": f"{week}T00:00:00Z", "variables.offset": offset}
    return Route("/graphql/v2", method="POST", body=body, **kw)


def run(replay: ReplayServer, **params):
    return open_collective_flow(base_url=f"{replay.url}/graphql/v2", **{**RANGE, **params})


def test_windows_pages_and_accounts_load_with_the_token(warehouse) -> None:
    with server() as replay:
        summary = run(replay)
    assert warehouse.sql("select count(*) from open_collective.expenses").item() == 4
    assert warehouse.sql("select count(*) from open_collective.deposits").item() == 2
    assert warehouse.sql("select count(*) from open_collective.accounts").item() == 3
    row = warehouse.sql(
        "select legacy_id, type, kind, description, json_extract(amount, '$.valueInCents')::int cents, created_at "
        "from open_collective.expenses where legacy_id = 9100002"
    ).row(0, named=True)
    assert (row["type"], row["kind"], row["description"], row["cents"]) == (
        "DEBIT",
        "EXPENSE",
        "Conference travel",
        -35050,
    )
    assert str(row["created_at"]).startswith("2024-01-10 09:30:00")
    assert {r.headers.get("Personal-Token") for r in replay.requests} == {TOKEN}
    offsets = [(r.body["variables"].get("type"), r.body["variables"].get("offset")) for r in replay.requests]
    assert ("DEBIT", 2) in offsets  # second page of the first week
    assert any("2 loaded" in n for n in summary.notes)
    states = LoadState(warehouse).latest("open_collective", "expenses")
    assert {k: s.status for k, s in states.items()} == {"2024-01-07": LOADED, "2024-01-14": LOADED}
    assert TOKEN not in summary.render()
    assert_matches_contract(
        warehouse,
        "open_collective.expenses",
        "open_collective.deposits",
        "open_collective.accounts",
    )


def test_a_page_that_keeps_failing_makes_a_faulty_window_that_the_next_run_retries_and_clears(warehouse) -> None:
    failing = page_route("DEBIT", "2024-01-14", 0, status=503, json={"error": "upstream timeout"})
    with server(failing) as replay, pytest.raises(FaultyWindowsError) as caught:
        run(replay, tables=["expenses"])
    assert "expenses 2024-01-14" in str(caught.value) and "HTTP 503" in str(caught.value)
    assert any(n.startswith("FAULTY expenses window 2024-01-14") for n in caught.value.summary.notes)
    assert [r.body["variables"]["limit"] for r in replay.requests if r.body["variables"].get("offset") == 0
            and r.body["variables"]["dateFrom"].startswith("2024-01-14")] == [2, 2, 2]  # fmt: skip
    assert warehouse.sql("select count(*) from open_collective.expenses").item() == 3  # the other window loaded
    state = LoadState(warehouse).latest("open_collective", "expenses")["2024-01-14"]
    assert state.status == FAULTY and "HTTP 503" in state.error

    with server() as replay:  # default run: the faulty window goes first
        open_collective_flow(base_url=f"{replay.url}/graphql/v2", max_windows=1, tables=["expenses"], page_size=2)
    assert LoadState(warehouse).latest("open_collective", "expenses")["2024-01-14"].status == LOADED
    assert warehouse.sql("select count(*) from open_collective.expenses").item() == 4


def test_rerun_loads_no_duplicates_and_source_changes_are_merged(warehouse) -> None:
    with server() as replay:
        run(replay)
        run(replay)
    assert warehouse.sql("select count(*), count(distinct id) from open_collective.expenses").rows() == [(4, 4)]
    assert warehouse.sql("select count(*), count(distinct id) from open_collective.accounts").rows() == [(3, 3)]

    changed = json.loads((DIR / "debit_2024-01-07_offset0.json").read_text())
    node = changed["data"]["transactions"]["nodes"][0]
    node["description"], node["isRefunded"] = "Maintenance December (refunded)", True
    with server(page_route("DEBIT", "2024-01-07", 0, json=changed)) as replay:
        run(replay, start="2024-01-07", end="2024-01-14", tables=["expenses"])
    query = f"select description, is_refunded from open_collective.expenses where id = '{node['id']}'"
    rows = warehouse.sql(query)
    assert rows.rows() == [("Maintenance December (refunded)", True)]
    assert warehouse.sql("select count(*) from open_collective.expenses").item() == 4


def test_malformed_page_fails_its_window_with_a_clear_error_and_commits_nothing_for_it(warehouse) -> None:
    broken = json.loads((DIR / "debit_2024-01-07_offset2.json").read_text())
    del broken["data"]["transactions"]["nodes"][0]["createdAt"]
    with server(page_route("DEBIT", "2024-01-07", 2, json=broken)) as replay, pytest.raises(FaultyWindowsError):
        run(replay, tables=["expenses"])
    error = LoadState(warehouse).latest("open_collective", "expenses")["2024-01-07"].error
    assert "open_collective: http://127.0.0.1" in error and "/graphql/v2: DEBIT transactions 2024-01-07" in error
    assert "has no field 'createdAt'" in error
    # the first page of that window was fine, but nothing of the window was committed
    assert warehouse.sql("select legacy_id from open_collective.expenses").rows() == [(9100010,)]


def test_429_with_retry_after_then_success(warehouse) -> None:
    limited = page_route("DEBIT", "2024-01-07", 0, status=429, headers={"Retry-After": "0"}, json={}, times=2)
    with server(limited) as replay:
        run(replay, tables=["expenses"])
    assert warehouse.sql("select count(*) from open_collective.expenses").item() == 4


def test_missing_token_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAGSTER__OPEN_COLLECTIVE__PERSONAL_TOKEN")
    with pytest.raises(Exception, match="open_collective.personal_token.*DAGSTER__OPEN_COLLECTIVE__PERSONAL_TOKEN"):
        open_collective_flow(base_url="http://127.0.0.1:9/graphql/v2", **RANGE)
