"""giveth against recorded responses: rounds, then every round's projects by skip/take, into qf_rounds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.giveth.source import giveth_flow
from oso_core import MalformedResponse, PageFailed
from oso_dev.replay import ReplayServer, Route, fixtures_dir
from tests.support.oso_contract import assert_matches_contract
from tests.support.sources import no_retry_waits


@pytest.fixture(autouse=True)
def settings(oso_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_retry_waits(monkeypatch, "giveth", attempts=3)


def server(*extra: Route) -> ReplayServer:
    return ReplayServer.for_source("giveth", *extra)


def run(replay: ReplayServer):
    return giveth_flow(base_url=f"{replay.url}/graphql", page_size=2, page_interval=0.0)


def test_projects_of_every_round_to_the_end(warehouse) -> None:
    with server() as replay:
        summary = run(replay)
    assert summary.rows == {"giveth.qf_rounds": 5}
    per_round = warehouse.sql(
        "select source_qf_round_id, count(*) n from giveth.qf_rounds group by 1 order by 1"
    ).rows()
    assert per_round == [(12, 3), (13, 2)]
    row = warehouse.sql(
        "select title, verified, json_extract(addresses, '$[0].networkId')::int net from giveth.qf_rounds "
        "where slug = 'open-source-observer' and source_qf_round_id = 13"
    ).row(0)
    assert row == ("Open Source Observer", True, 10)
    skips = [(r.body["variables"].get("qfRoundId"), r.body["variables"].get("skip")) for r in replay.requests]
    assert skips == [(None, None), (12, 0), (12, 2), (13, 0)]
    assert_matches_contract(warehouse, "giveth.qf_rounds")


def test_rerun_replaces_and_a_flaky_page_recovers(warehouse) -> None:
    flaky = Route("/graphql", method="POST", body={"variables.qfRoundId": 12, "variables.skip": 2}, status=503,
                  json={}, times=1)  # fmt: skip
    with server(flaky) as replay:
        run(replay)
        run(replay)
    assert warehouse.sql("select count(*), count(distinct (id, source_qf_round_id)) from giveth.qf_rounds").rows() == [
        (5, 5)]  # fmt: skip


def test_a_round_that_keeps_failing_fails_the_run_and_commits_nothing(warehouse) -> None:
    with server() as replay:
        run(replay)
    before = warehouse.snapshot_id("giveth.qf_rounds")
    down = Route("/graphql", method="POST", body={"variables.qfRoundId": 13},
                 json={"errors": [{"message": "Internal server error"}], "data": None})  # fmt: skip
    with server(down) as replay, pytest.raises(PageFailed, match="allProjects qfRoundId=13.*Internal server error"):
        run(replay)
    assert warehouse.snapshot_id("giveth.qf_rounds") == before


def test_malformed_projects_page_names_the_field(warehouse) -> None:
    page = json.loads((fixtures_dir("giveth") / "round13_skip0.json").read_text())
    del page["data"]["allProjects"]["projects"][1]["slug"]
    bad = Route("/graphql", method="POST", body={"variables.qfRoundId": 13}, json=page)
    with server(bad) as replay, pytest.raises(MalformedResponse, match=r"giveth: .*allProjects qfRoundId=13: .*'slug'"):
        run(replay)
    assert not warehouse.exists("giveth.qf_rounds")
