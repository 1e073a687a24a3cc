"""ens against recorded subgraph pages: keyset paging to the end, the key in the URL path masked, replace."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import polars as pl
import pytest

from flows.ens.source import SUBGRAPH_PATH, ens_flow
from oso_core import MalformedResponse, PageFailed
from oso_dev.replay import ReplayServer, Route
from tests.support.oso_contract import assert_matches_contract
from tests.support.sources import no_retry_waits

KEY = "4f9a1c2b3d4e5f60718293a4b5c6d7e8"


@pytest.fixture(autouse=True)
def settings(oso_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER__ENS__API_KEY", KEY)
    no_retry_waits(monkeypatch, "ens", attempts=3)


def server(*extra: Route) -> ReplayServer:
    return ReplayServer.for_source("ens", *extra)


def run(replay: ReplayServer, **params):
    return ens_flow(base_url=replay.url + SUBGRAPH_PATH, page_size=2, page_interval=0.0, **params)


def test_keyset_pages_to_the_end_with_the_key_in_the_path(warehouse) -> None:
    with server() as replay:
        summary = run(replay)
    assert summary.rows == {"ens.domains": 3, "ens.text_changeds": 3}
    assert warehouse.sql("select name from ens.domains order by id").to_series().to_list() == [
        "vitalik.eth", "opensource.eth", "observer.eth"]  # fmt: skip
    row = warehouse.sql("select key, value, block_number from ens.text_changeds where key = 'url'").row(0)
    assert row == ("url", "https://www.opensource.observer", 19000007)
    assert all(
        r.path == f"/api/{KEY}/subgraphs/id/5XqPmWe6gjyrJtFn9cLy237i4cWw2j9HcUJEXsP5qGtH" for r in replay.requests
    )
    assert [r.body["variables"]["where"]["id_gt"] == "" for r in replay.requests].count(True) == 2
    assert {r.body["variables"]["first"] for r in replay.requests} == {2}


def test_a_failing_page_names_the_masked_endpoint_and_leaves_the_tables(warehouse, caplog) -> None:
    with server() as replay:
        run(replay)
    before = warehouse.snapshot_id("ens.domains"), warehouse.snapshot_id("ens.text_changeds")
    down = Route("/api/*/subgraphs/id/*", method="POST", body={"operationName": "TextChangeds"}, status=502)
    caplog.set_level(logging.WARNING)
    with server(down) as replay, pytest.raises(PageFailed) as caught:
        run(replay)
    message = str(caught.value)
    assert message.startswith("ens: http://127.0.0.1") and "/api/***/subgraphs/id/" in message and "HTTP 502" in message
    assert KEY not in message and KEY not in caplog.text
    assert (warehouse.snapshot_id("ens.domains"), warehouse.snapshot_id("ens.text_changeds")) == before


def test_rerun_gives_the_same_tables_and_429_then_success(warehouse) -> None:
    limited = Route("/api/*/subgraphs/id/*", method="POST", status=429, headers={"Retry-After": "0"}, json={}, times=1)
    with server(limited) as replay:
        run(replay)
        first = warehouse.sql("select * from ens.domains order by id")
        run(replay)
    assert warehouse.sql("select * from ens.domains order by id").equals(first)
    assert warehouse.sql("select count(*) from ens.text_changeds").item() == 3


def test_malformed_node_fails_clearly(warehouse) -> None:
    bad = {"data": {"textChangeds": [{"id": "0xabc-1", "resolver": {"id": "0xr"}, "blockNumber": "not a number",
                                      "transactionID": "0x1", "key": "url", "value": None}]}}  # fmt: skip
    route = Route("/api/*/subgraphs/id/*", method="POST", body={"operationName": "TextChangeds"}, json=bad)
    with server(route) as replay, pytest.raises(MalformedResponse, match="field 'blockNumber' is not Int64") as caught:
        run(replay)
    assert KEY not in str(caught.value)
    assert not warehouse.exists("ens.domains")  # nothing committed: both tables are extracted first


def test_tables_have_the_columns_oso_models_select(warehouse) -> None:
    with server() as replay:
        run(replay)
    assert_matches_contract(warehouse, "ens.domains", "ens.text_changeds")
    vitalik = warehouse.sql(
        'select "expiryDate", "subdomainCount", subdomains from ens.domains where name = \'vitalik.eth\''
    ).row(0)
    assert vitalik[:2] == ("2032743774", 2)
    assert [s["name"] for s in json.loads(vitalik[2])] == ["pay.vitalik.eth", "blog.vitalik.eth"]
    # the text record's resolver, read as OSO's model reads it on DuckDB, joins it to its domain
    joined = warehouse.sql(
        "select d.name, t.key from ens.text_changeds t join ens.domains d "
        "on try_cast(t.resolver as struct(id varchar)).id = (d.resolver->>'$.id') order by t.key"
    ).rows()
    assert joined == [("vitalik.eth", "avatar"), ("opensource.eth", "com.twitter"), ("opensource.eth", "url")]


def test_a_lake_with_snake_case_domain_columns_is_renamed_in_place_before_the_fetch(warehouse) -> None:
    old = pl.DataFrame(
        {"id": ["0x1"], "name": ["old.eth"], "subdomain_count": [4], "expiry_date": ["1700000000"],
         "resolver": [None], "owner": [None], "registrant": [None], "registration": [None]},
        schema_overrides={c: pl.String for c in ("resolver", "owner", "registrant", "registration")},
    )  # fmt: skip
    warehouse.write("ens.domains", old, mode="replace")
    field_ids = {f.name: f.field_id for f in warehouse.catalog.load_table("ens.domains").schema().fields}
    down = Route("/api/*/subgraphs/id/*", method="POST", status=502)
    with server(down) as replay, pytest.raises(PageFailed):
        run(replay)
    # renamed before the fetch failed: the old rows read under OSO's names, the same columns (field ids)
    assert warehouse.sql('select "expiryDate", "subdomainCount" from ens.domains').rows() == [("1700000000", 4)]
    renamed = {f.name: f.field_id for f in warehouse.catalog.load_table("ens.domains").schema().fields}
    assert (renamed["expiryDate"], renamed["subdomainCount"]) == (
        field_ids["expiry_date"],
        field_ids["subdomain_count"],
    )
    with server() as replay:
        summary = run(replay)
    assert not any("renamed column" in note for note in summary.notes)  # done by the failed run, once
    assert_matches_contract(warehouse, "ens.domains", "ens.text_changeds")
