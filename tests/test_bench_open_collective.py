"""bench/open_collective.py's replay: nodes shaped as the fixture's, paged as the real API, loaded by the real flow."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from oso_core.config.settings import PROJECT_ROOT
from oso_dev.replay import ReplayServer
from tests.support.sources import no_retry_waits

spec = importlib.util.spec_from_file_location("bench_open_collective", PROJECT_ROOT / "bench" / "open_collective.py")
assert spec is not None and spec.loader is not None
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def shape(value: Any) -> Any:
    """The keys of every object, recursively, in order (values dropped; a null stays null)."""
    if isinstance(value, dict):
        return [(k, shape(v)) for k, v in value.items()]
    return None


def same_shape(node: Any, template: Any, where: str) -> None:
    """Every key of ``template`` in ``node``, in order and no other; nested objects compared where both have one."""
    if not isinstance(node, dict) or not isinstance(template, dict):
        return
    assert list(node) == list(template), where
    for key in template:
        same_shape(node[key], template[key], f"{where}.{key}")


def test_generated_nodes_have_the_fixture_nodes_fields() -> None:
    templates = bench.fixture_templates()
    generator = bench.Generator()
    seen_tax, expense_null = False, set()
    for seq in range(500):
        for kind in ("DEBIT", "CREDIT"):
            node = generator.node(kind, seq, bench.FIRST_WEEK)
            same_shape(node, templates[kind], kind)
            other = templates["CREDIT" if kind == "DEBIT" else "DEBIT"]  # the objects null in this kind's template
            for key in ("expense", "order", "paymentMethod", "payoutMethod"):
                same_shape(node[key], other[key] or templates[kind][key], f"{kind}.{key}")
            if node["taxInfo"] is not None:
                seen_tax = True
                assert tuple(node["taxInfo"]) == bench.TAX_INFO_FIELDS
            if kind == "DEBIT":
                expense_null.add(node["expense"] is None)
            assert node["type"] == kind
    assert seen_tax and expense_null == {True, False}  # the nullable objects are null sometimes, not always


def test_the_plan_spreads_exactly_the_records_over_windows_and_kinds() -> None:
    windows = bench.plan(12_345, 5)
    assert len(windows) == 10 and sum(n for *_, n in windows) == 12_345
    counts = [n for *_, n in windows]
    assert len(set(counts)) > 5 and any(n % bench.PAGE for n in counts)
    assert sum(n for table, *_, n in windows if table == "deposits") > sum(n for table, *_, n in windows) / 2


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bench.render(10_000, 2, tmp_path_factory.mktemp("replay") / "open_collective")


def post(url: str, **variables: Any) -> httpx.Response:
    return httpx.post(f"{url}{bench.PATH}", json={"query": "query { x }", "variables": variables})


def test_the_replay_pages_as_the_api_and_both_servers_agree(replay: Path) -> None:
    date_from = "2023-01-01T00:00:00Z"
    with ReplayServer.from_directory(replay) as plain, bench.indexed_server(replay) as indexed:
        for url in (plain.url, indexed.url):
            total = post(url, type="DEBIT", dateFrom=date_from).json()["data"]["transactions"]
            assert list(total) == ["totalCount"]
            count = total["totalCount"]
            nodes = []
            for offset in range(0, count, bench.PAGE):
                page = post(url, type="DEBIT", dateFrom=date_from, offset=offset, limit=bench.PAGE).json()
                assert page["data"]["transactions"]["totalCount"] == count
                nodes += page["data"]["transactions"]["nodes"]
            assert len(nodes) == count > bench.PAGE and len({n["id"] for n in nodes}) == count
        # a page size the replay was not rendered for is no page (the first-match server answers it with the count)
        assert post(indexed.url, type="DEBIT", dateFrom=date_from, offset=0, limit=10).status_code == 404


def test_the_real_flow_loads_the_replay(replay: Path, warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.open_collective.source import open_collective_flow

    monkeypatch.setenv("DAGSTER__OPEN_COLLECTIVE__PERSONAL_TOKEN", "bench-test-token")
    no_retry_waits(monkeypatch, "open_collective", attempts=2)
    start, end = bench.window_range(2)
    with bench.indexed_server(replay) as server:
        url = f"{server.url}{bench.PATH}"
        open_collective_flow(base_url=url, start=start, end=end, tables=["expenses", "deposits"])
    assert {r.token for r in server.requests} == {"bench-test-token"}
    expected = json.loads((replay / "expected.json").read_text())
    for table, sums in expected.items():
        row = warehouse.sql(
            f"select count(*) n, count(distinct id) ids, sum(legacy_id) legacy, "
            f"sum(cast(json_extract(amount, '$.valueInCents') as bigint)) cents from open_collective.{table}"
        ).row(0, named=True)
        assert (row["n"], row["ids"], row["legacy"], row["cents"]) == (
            sums["rows"],
            sums["rows"],
            sums["legacy_ids"],
            sums["cents"],
        )
