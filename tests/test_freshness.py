"""The freshness flow against a real lake and the session's Prefect server, its alert through the Discord proxy.

Tables of the test sources (``tests.support.weekly_sources``: ``alpha.items``, ``beta.things``, ``broken.nothing``,
all weekly → 8 days) are written, then checked with ``now`` in the future to make them stale.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, FlowRunFilter

from flows.freshness import ARTIFACT_KEY, freshness_flow
from flows.freshness import main as freshness_main
from oso_core.model.sources import discover_sources
from oso_core.ops import discord
from oso_core.ops.freshness import MISSING, STALE, last_load, table_ages
from tests.support.alerting import embeds, fields, remove_alerting, use_webhook
from tests.support.discord_proxy import DiscordProxy

PKG = "tests.support.weekly_sources"


@pytest.fixture
def lake(oso_home: Path, warehouse, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OSO_SOURCE_PACKAGES", PKG)
    sources = discover_sources([PKG])
    warehouse.write_table(sources["alpha"], "items", pl.DataFrame({"id": [1, 2]}))
    warehouse.write_table(sources["beta"], "things", pl.DataFrame({"id": [1]}))
    return warehouse


def _artifact(run_id) -> list[dict]:
    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(key={"any_": [ARTIFACT_KEY]}),
            flow_run_filter=FlowRunFilter(id={"any_": [run_id]}),
        )
    return artifact.data if isinstance(artifact.data, list) else __import__("json").loads(artifact.data)


def test_ages_come_from_snapshot_metadata(lake) -> None:
    sources = discover_sources([PKG])
    written = last_load(lake.catalog, "alpha.items")
    assert written is not None and abs(datetime.now(UTC) - written) < timedelta(minutes=5)
    assert last_load(lake.catalog, "broken.nothing") is None and last_load(lake.catalog, "nope.nothing") is None
    ages = {a.table: a for a in table_ages(lake.catalog, sources.values(), written + timedelta(days=8, minutes=1))}
    assert ages["alpha.items"].status == STALE and ages["broken.nothing"].status == MISSING
    assert ages["alpha.items"].as_row()["expected"] == "8d" and ages["alpha.items"].as_row()["age"] == "8d"
    fresh = {a.table: a.status for a in table_ages(lake.catalog, sources.values(), written + timedelta(days=7))}
    assert fresh == {"alpha.items": "fresh", "beta.things": "fresh", "broken.nothing": MISSING}


def test_fresh_lake_sends_nothing_and_says_so(lake, monkeypatch, discord_proxy: DiscordProxy) -> None:
    for key, value in discord_proxy.env.items():
        monkeypatch.setenv(key, value)
    path = use_webhook(monkeypatch)
    state = freshness_flow(sources=["alpha", "beta"], return_state=True)
    assert state.is_completed() and state.message == "all 2 tables are fresh" and state.result() == []
    assert not [r for r in discord_proxy.requests() if r["path"] == path]
    assert _artifact(state.state_details.flow_run_id) == [{"table": "", "status": "all 2 tables are fresh"}]


def test_stale_and_missing_tables_send_one_summary_alert_and_artifact(
    lake, monkeypatch, discord_proxy: DiscordProxy
) -> None:
    for key, value in discord_proxy.env.items():  # this process sends the freshness alert
        monkeypatch.setenv(key, value)
    path = use_webhook(monkeypatch)
    remove_alerting()
    later = datetime.now(UTC) + timedelta(days=9)
    state = freshness_flow(now=later, return_state=True)
    assert state.is_completed(), state.message
    assert state.message == "3 of 3 tables stale or missing (2 stale, 1 missing)"
    rows = state.result()
    assert [(r["table"], r["status"], r["expected"]) for r in rows] == [
        ("alpha.items", "stale", "8d"),
        ("beta.things", "stale", "8d"),
        ("broken.nothing", "missing", "8d"),
    ]
    assert rows[0]["age"].startswith("9d") and rows[2]["last_load"] == "never"

    (message,) = [r for r in discord_proxy.requests() if r["path"] == path]
    assert message["status"] == 204 and message["problems"] == []
    (embed,) = embeds([message])
    assert embed["title"] == "Asset Freshness Summary" and embed["color"] == discord.COLORS["freshness"]
    assert embed["description"] == "3 of 3 tables are stale or missing."
    assert embed["url"].endswith(f"/runs/flow-run/{state.state_details.flow_run_id}")
    by_table = fields(embed)
    assert list(by_table) == ["alpha.items", "beta.things", "broken.nothing"]
    assert by_table["broken.nothing"] == "last load never, age -, expected within 8d"
    assert by_table["alpha.items"].startswith("last load ") and ", age 9d" in by_table["alpha.items"]
    # the artifact holds the same list
    assert _artifact(state.state_details.flow_run_id) == rows


def test_many_stale_tables_still_fit_one_embed() -> None:
    from oso_core.ops.alerts import freshness_message

    rows = [
        {"table": f"ns{i}.{'t' * 300}", "last_load": "never", "age": "-", "expected": "8d" + "x" * 2000}
        for i in range(60)
    ]
    (embed,) = freshness_message(rows, 80)["embeds"]
    from tests.support.discord_proxy import embed_problems

    assert embed_problems({"embeds": [embed]}) == []
    assert len(embed["fields"]) <= 25 and embed["fields"][-1]["name"] == "…"
    assert embed["fields"][-1]["value"].startswith("and ")


def test_command_line_help_and_run(lake, capsys, caplog) -> None:
    with pytest.raises(SystemExit) as exit_:
        freshness_main(["--help"])
    assert exit_.value.code == 0 and "--now" in capsys.readouterr().out
    assert freshness_main(["--source", "alpha"]) == 0
    assert "all 1 tables are fresh" in caplog.text  # printed into the run's log (log_prints)
