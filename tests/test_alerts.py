"""Failure alerts, end to end: ``python -m blocks.setup`` → server automation → webhook block → (proxied) Discord.

The session's Prefect server runs with HTTPS_PROXY pointing at ``tests/support/discord_proxy.py``, which
terminates TLS for discord.com with a test CA, records each webhook request and, like Discord, answers 400 above
2,000 characters of content or beyond an embed limit. Nothing in Prefect is patched: the stock
``CustomWebhookNotificationBlock`` posts the embed JSON to ``https://discord.com/api/webhooks/<id>/<token>`` from
the server process.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect import flow
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.orchestration import get_client

from blocks import setup as alert_setup
from flows.weekly import weekly_flow
from oso_core.ops import alerts, discord
from tests.support.alerting import embeds, fields, let_triggers_load, mentions, remove_alerting, use_webhook
from tests.support.discord_proxy import DiscordProxy, embed_problems
from tests.support.weekly import replayed

PKG = "tests.support.weekly_sources"
REPLAY_DIR = Path(__file__).resolve().parent / "support" / "weekly_sources" / "fixtures"


@pytest.fixture
def clean_alerting(oso_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OSO_REPLAY_DIR", str(REPLAY_DIR))
    monkeypatch.setenv("OSO_SOURCE_PACKAGES", PKG)
    monkeypatch.setenv("WEEKLY_TEST_SLEEP", "0")
    monkeypatch.delenv("DAGSTER__DISCORD__WEBHOOK_URL", raising=False)
    remove_alerting()
    yield
    remove_alerting()  # other tests' failing flows must not post alerts


def _expected(flow_name: str, run_name: str, run_id, state_message: str, deployment: str | None = None) -> dict:
    return alerts.FailureReport(
        flow=flow_name,
        state="Failed",
        flow_run=run_name,
        url=f"{_ui_url()}/runs/flow-run/{run_id}",
        deployment=deployment,
        first_error=state_message,
    ).message()


def _ui_url() -> str:
    import os

    return os.environ["PREFECT_UI_URL"]


def test_message_fits_discord_and_keeps_only_the_first_error_line() -> None:
    embed = alerts.FailureReport(
        flow="f" * 500,
        state="Failed",
        flow_run="r" * 500,
        url="http://127.0.0.1:4200/runs/flow-run/x",
        deployment="d" * 500,
        failed_task_runs=3,
        first_error="Flow run encountered an exception: ValueError: " + "boom " * 2000 + "\nTraceback line",
    ).embed()
    assert embed_problems({"embeds": [embed]}) == []
    assert len(embed["title"]) <= 256 and embed["title"].endswith("…") and embed["url"].endswith("/flow-run/x")
    assert embed["color"] == discord.COLORS["Failed"]
    by_name = fields(embed)
    assert by_name["Failed task runs"] == "3" and "Traceback" not in str(embed)
    assert by_name["First error"].startswith("ValueError: boom boom") and by_name["First error"].endswith("…")
    assert len(by_name["First error"]) == alerts.ERROR_CHARS
    assert alerts.first_error_line("\n\n  RuntimeError: x\nmore") == "RuntimeError: x"
    assert alerts.first_error_line(None) == "no error message"


def test_webhook_url_splits_into_id_and_token_and_errors_never_echo_it() -> None:
    assert alerts.parse_webhook_url("https://discord.com/api/webhooks/123/abc-DEF_9") == ("123", "abc-DEF_9")
    assert alerts.parse_webhook_url("https://discordapp.com/api/webhooks/1/t/") == ("1", "t")
    with pytest.raises(ValueError) as error:
        alerts.parse_webhook_url("https://example.com/hooks/123/sup3r-secret")
    assert "sup3r-secret" not in str(error.value)


def test_setup_without_a_webhook_says_so_and_creates_nothing(clean_alerting, capsys) -> None:
    assert alert_setup.main([]) == 0
    out = capsys.readouterr().out
    assert "no Discord webhook configured" in out and "DAGSTER__DISCORD__WEBHOOK_URL" in out
    with get_client(sync_client=True) as client:
        assert client.read_automations_by_name(alerts.FAILURE_AUTOMATION) == []


def _our_lines(out: str) -> list[str]:
    """setup's report without the overdue automations of whatever deployments the session server has."""
    return [line for line in out.splitlines() if not line.startswith(f"automation {alerts.OVERDUE_AUTOMATION_PREFIX}")]


def test_setup_is_idempotent_and_reports_what_it_did(clean_alerting, monkeypatch, capsys) -> None:
    path = use_webhook(monkeypatch)
    webhook_id = path.split("/")[3]
    assert alert_setup.main([]) == 0
    lines = _our_lines(capsys.readouterr().out)
    assert lines[:3] == [
        f"block custom-webhook/{alerts.BLOCK_NAME}: created",
        f"automation {alerts.FAILURE_AUTOMATION}: created",
        f"automation {alerts.RECOVERY_AUTOMATION}: created",
    ]
    assert lines[3:] == [  # then the topology: zombie-run detector and the weekly parts' crash alert
        f"automation {alert_setup.ZOMBIE_AUTOMATION}: created",
        f"automation {alert_setup.WEEKLY_PART_CRASHED_AUTOMATION}: created",
    ]
    assert alert_setup.main([]) == 0
    second = capsys.readouterr().out
    assert _our_lines(second) == [
        f"block custom-webhook/{alerts.BLOCK_NAME}: unchanged",
        f"automation {alerts.FAILURE_AUTOMATION}: unchanged",
        f"automation {alerts.RECOVERY_AUTOMATION}: unchanged",
        f"automation {alert_setup.ZOMBIE_AUTOMATION}: unchanged",
        f"automation {alert_setup.WEEKLY_PART_CRASHED_AUTOMATION}: unchanged",
    ]
    assert all(line.endswith(": unchanged") for line in second.splitlines())
    block = CustomWebhookNotificationBlock.load(alerts.BLOCK_NAME)
    assert block.secrets.get_secret_value()["webhook_id"] == webhook_id

    use_webhook(monkeypatch)  # the webhook was rotated: only the block changes
    assert alert_setup.main([]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"block custom-webhook/{alerts.BLOCK_NAME}: updated"
    with get_client(sync_client=True) as client:
        (failure,) = client.read_automations_by_name(alerts.FAILURE_AUTOMATION)
    assert failure.trigger.expect == {f"prefect.flow-run.{state}" for state in ("Failed", "Crashed", "TimedOut")}
    block_id = CustomWebhookNotificationBlock.load(alerts.BLOCK_NAME)._block_document_id
    assert failure.actions[0].block_document_id == block_id


def test_failed_runs_alert_discord_through_the_server_automation(
    clean_alerting, monkeypatch, discord_proxy: DiscordProxy
) -> None:
    path = use_webhook(monkeypatch)
    alert_setup.setup_alerts()
    let_triggers_load()

    state = replayed(weekly_flow, only=["broken"], return_state=True)
    assert state.is_failed()
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)

    weekly_messages = discord_proxy.wait_for(lambda r: r["path"] == path and mentions(r, str(run_id)))
    # exactly the embed the Python builder makes, rendered by the server from the run's state
    assert [r["json"] for r in weekly_messages] == [_expected("oso-weekly", run.name, run_id, state.message)]
    assert weekly_messages[0]["status"] == 204 and weekly_messages[0]["problems"] == []
    (embed,) = embeds(weekly_messages)
    assert embed["title"] == "OSO Failed: oso-weekly" and embed["color"] == discord.COLORS["Failed"]
    assert embed["url"] == f"{_ui_url()}/runs/flow-run/{run_id}"
    by_name = fields(embed)
    assert by_name["Run"] == run.name and by_name["Flow"] == "oso-weekly"
    assert by_name["Failed task runs"] == "1" and by_name["Failed sources or tables"] == "broken"
    assert by_name["First error"] == "broken: ValueError: broken: record 3 of /things has no field 'id'"

    @flow(name="noisy-failure")
    def noisy() -> None:
        raise RuntimeError("far too long " * 1000)

    noisy_state = noisy(return_state=True)
    noisy_id = str(noisy_state.state_details.flow_run_id)
    (long_one,) = discord_proxy.wait_for(lambda r: r["path"] == path and mentions(r, noisy_id))
    assert long_one["status"] == 204 and long_one["problems"] == []
    assert fields(long_one["json"]["embeds"][0])["First error"].endswith("…")
    # the hook saw the server automation and did not send a second message for the weekly run
    assert len([r for r in discord_proxy.requests() if mentions(r, str(run_id))]) == 1
    # and the broken source's own run inside the weekly run sent none: the weekly message already names it
    # (it failed before the noisy flow ran, so its message would have arrived first)
    # (only this test's webhook: the session's proxy also holds other tests' alerts, test_deployments' for a
    # deployed broken run among them, which may land on this xdist worker before this test)
    assert not [r for r in discord_proxy.requests() if r["path"] == path and mentions(r, '"OSO Failed: broken')]


def test_hook_alerts_once_for_a_local_run_without_automation(
    clean_alerting, monkeypatch, discord_proxy: DiscordProxy, caplog
) -> None:
    for key, value in discord_proxy.env.items():  # this process, not the server, sends now
        monkeypatch.setenv(key, value)
    path = use_webhook(monkeypatch)

    state = replayed(weekly_flow, only=["broken"], return_state=True)
    assert state.is_failed()
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
    sent = [r for r in discord_proxy.requests() if r["path"] == path]
    assert [r["json"] for r in sent] == [_expected("oso-weekly", run.name, run_id, state.message)]
    assert sent[0]["status"] == 204
    assert alerts.ALERTED_TAG in run.tags

    # a second hook call for the same run (e.g. on_crashed after on_failure, another process) sends nothing
    alerts._sent_runs.clear()
    from prefect.flows import Flow

    alerts.alert_on_failure(Flow(fn=lambda: None, name="oso-weekly"), run, run.state)
    assert len([r for r in discord_proxy.requests() if r["path"] == path]) == 1

    # with no webhook configured the alert goes to the log only
    monkeypatch.delenv("DAGSTER__DISCORD__WEBHOOK_URL")
    before = len(discord_proxy.requests())
    with caplog.at_level("WARNING", logger="oso.alerts"):
        assert replayed(weekly_flow, only=["broken"], return_state=True).is_failed()
    assert "alert logged only" in caplog.text
    assert len(discord_proxy.requests()) == before


def test_any_embed_is_cut_to_discords_limits_with_an_ellipsis() -> None:
    huge = discord.embed(
        "t" * 1000,
        kind="freshness",
        description="d" * 10_000,
        fields=[("n" * 500, "v" * 5000)] * 40,
        footer="f" * 3000,
    )
    assert embed_problems({"embeds": [huge]}) == []
    assert len(huge["title"]) == 256 and huge["title"].endswith("…")
    assert len(huge["fields"]) <= 25 and huge["fields"][-1]["name"] == "…"
    total = len(huge["title"]) + len(huge.get("description", "")) + len(huge["footer"]["text"])
    assert total + sum(len(f["name"]) + len(f["value"]) for f in huge["fields"]) <= 6000

    gate = alerts.quality_gate_message(
        "npm.manifests", "row_drop", "replace would drop 100% of 1,204 rows\n" + "x" * 9000, flow="npm"
    )
    (embed,) = gate["embeds"]
    assert embed_problems(gate) == [] and embed["title"] == "OSO quality gate: npm.manifests not committed"
    assert fields(embed) == {
        "Table": "npm.manifests",
        "Check": "row_drop",
        "Flow": "npm",
        "Detail": "replace would drop 100% of 1,204 rows",
    }
    assert embed["color"] == discord.COLORS["quality"]
