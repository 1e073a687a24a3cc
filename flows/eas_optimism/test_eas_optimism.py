"""eas_optimism against recorded easscan GraphQL responses: count + skip/take per window, faulty window, merge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.eas_optimism.source import LEGACY_TABLE, eas_optimism_flow
from oso_core import FAULTY, LOADED, FaultyWindowsError, LoadState
from oso_dev.replay import ReplayServer, Route, fixtures_dir
from tests.support.oso_contract import assert_matches_contract
from tests.support.sources import no_retry_waits

TABLE = "ethereum_attestation_service_optimism.attestations"  # OSO's dataset name
RANGE = {"start": "2024-03-03", "end": "2024-03-17", "page_size": 2}
W1, W2 = 1709424000, 1710028800


@pytest.fixture(autouse=True)
def fast_settings(oso_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_retry_waits(monkeypatch, "eas_optimism", attempts=2)


def server(*extra: Route) -> ReplayServer:
    return ReplayServer.for_source("eas_optimism", *extra)


def run(replay: ReplayServer, **params):
    return eas_optimism_flow(base_url=f"{replay.url}/graphql", **{**RANGE, **params})


def test_windows_count_then_skip_take_pages_to_the_end(warehouse) -> None:
    with server() as replay:
        run(replay)
    assert warehouse.sql(f"select count(*), count(distinct id) from {TABLE}").rows() == [(4, 4)]
    row = warehouse.sql(
        "select time, time_created, revoked, revocation_time, ref_uid, is_offchain, decoded_data_json "
        f"from {TABLE} where time = 1710000000"
    ).row(0, named=True)
    assert (row["time_created"], row["revoked"], row["revocation_time"], row["is_offchain"]) == (
        1710000003,
        True,
        1710100000,
        False,
    )
    assert json.loads(row["decoded_data_json"])[0]["name"] == "projectRefUID"
    wheres = [r.body["variables"]["where"]["time"] for r in replay.requests]
    assert {"gte": W1, "lt": W2} in wheres and {"gte": W2, "lt": W2 + 7 * 86400} in wheres
    assert [r.body["variables"].get("skip") for r in replay.requests][:3] == [None, 0, 2]  # count, then pages
    assert_matches_contract(warehouse, "ethereum_attestation_service_optimism.attestations")


def test_faulty_window_then_retry_clears_and_rerun_has_no_duplicates(warehouse) -> None:
    errors = {"errors": [{"message": "Query engine timed out"}], "data": None}
    failing = Route("/graphql", method="POST", body={"variables.where.time.gte": W2, "variables.skip": 0}, json=errors)
    with server(failing) as replay, pytest.raises(FaultyWindowsError, match="attestations 2024-03-10"):
        run(replay)
    states = LoadState(warehouse).latest("eas_optimism", "attestations")
    assert states["2024-03-03"].status == LOADED and states["2024-03-10"].status == FAULTY
    assert "Query engine timed out" in states["2024-03-10"].error
    assert warehouse.sql(f"select count(*) from {TABLE}").item() == 3
    with server() as replay:
        eas_optimism_flow(base_url=f"{replay.url}/graphql", max_windows=1, page_size=2)
        run(replay)
    assert LoadState(warehouse).latest("eas_optimism", "attestations")["2024-03-10"].status == LOADED
    assert warehouse.sql(f"select count(*), count(distinct id) from {TABLE}").rows() == [(4, 4)]


def test_revocation_at_the_source_is_merged(warehouse) -> None:
    with server() as replay:
        run(replay)
    page = json.loads((fixtures_dir("eas_optimism") / "attestations_2024-03-03_skip0.json").read_text())
    page["data"]["attestations"][0].update(revoked=True, revocationTime=1710200000)
    changed = Route("/graphql", method="POST", body={"variables.where.time.gte": W1, "variables.skip": 0}, json=page)
    with server(changed) as replay:
        run(replay, end="2024-03-10")
    uid = page["data"]["attestations"][0]["id"]
    assert warehouse.sql(f"select revoked, revocation_time from {TABLE} where id = '{uid}'").rows() == [
        (True, 1710200000)
    ]
    assert warehouse.sql(f"select count(*) from {TABLE}").item() == 4


def test_malformed_count_fails_the_window_clearly_and_commits_nothing(warehouse) -> None:
    bad = Route("/graphql", method="POST", body={"variables.where.time.gte": W1},
                json={"data": {"aggregateAttestation": {"count": 3}}})  # fmt: skip
    with server(bad) as replay, pytest.raises(FaultyWindowsError):
        run(replay, end="2024-03-10")
    error = LoadState(warehouse).latest("eas_optimism", "attestations")["2024-03-03"].error
    assert "eas_optimism: http://127.0.0.1" in error and "no field data.aggregateAttestation._count" in error
    assert not warehouse.exists(TABLE)


def test_a_lake_written_as_eas_optimism_attestations_is_renamed_with_its_history(warehouse) -> None:
    with server() as replay:
        run(replay, end="2024-03-10")  # the first window, then the table under its name before OSO's
    warehouse.catalog.create_namespace("eas_optimism")
    warehouse.catalog.rename_table(TABLE, LEGACY_TABLE)
    old_snapshot = warehouse.snapshot_id(LEGACY_TABLE)
    with server() as replay:
        summary = run(replay, start="2024-03-10")
    assert not warehouse.exists(LEGACY_TABLE) and ("eas_optimism",) not in warehouse.catalog.list_namespaces()
    history = [entry.snapshot_id for entry in warehouse.catalog.load_table(TABLE).history()]
    assert history[0] == old_snapshot and len(history) == 2  # moved with its snapshots, then the new window merged
    assert warehouse.sql(f"select count(*), count(distinct id) from {TABLE}").rows() == [(4, 4)]
    assert summary.notes[0] == f"renamed {LEGACY_TABLE} to {TABLE} (OSO's table names)"
    with server() as replay:
        assert LEGACY_TABLE not in " ".join(run(replay, start="2024-03-10").notes)  # once only
