"""Proactive "no run completed in time" automations: one per scheduled deployment, ``within`` = cadence + grace,
idempotent, and one really fires through the Discord proxy when its deployment does not complete."""

from __future__ import annotations

import uuid
from datetime import timedelta

from prefect import flow
from prefect.automations import Automation
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import DeploymentScheduleCreate
from prefect.client.schemas.schedules import CronSchedule

from blocks import setup as alert_setup
from oso_core.ops import alerts, discord
from tests.support.alerting import fields, let_triggers_load, mentions, remove_alerting, use_webhook
from tests.support.discord_proxy import DiscordProxy


@flow(name="overdue-probe")
def probe() -> None:
    """Never run: only its deployments matter."""


def _deploy(name: str, cron: str | None) -> tuple[uuid.UUID, str]:
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow(probe)
        schedules = [DeploymentScheduleCreate(schedule=CronSchedule(cron=cron), active=True)] if cron else []
        deployment_id = client.create_deployment(flow_id=flow_id, name=name, schedules=schedules, paused=False)
    return deployment_id, f"overdue-probe/{name}"


def _ours() -> dict[str, Automation]:
    with get_client(sync_client=True) as client:
        found = client.read_automations()
    return {a.name: a for a in found if a.name.startswith(alerts.OVERDUE_AUTOMATION_PREFIX)}


def test_one_proactive_automation_per_scheduled_deployment_idempotent(oso_home, monkeypatch) -> None:
    suffix = uuid.uuid4().hex[:6]
    daily_id, daily = _deploy(f"daily-{suffix}", "0 0 * * *")
    sbom_id, sbom = _deploy(f"sbom-{suffix}", "0 0 * * 2,5")
    _deploy(f"manual-{suffix}", None)
    use_webhook(monkeypatch)
    remove_alerting()
    try:
        first = alert_setup.setup_alerts()
        assert first[f"automation {alerts.OVERDUE_AUTOMATION_PREFIX}{daily}"] == "created"
        automations = _ours()
        daily_automation = automations[f"{alerts.OVERDUE_AUTOMATION_PREFIX}{daily}"]
        trigger = daily_automation.trigger
        assert trigger.posture.value == "Proactive" and trigger.expect == {"prefect.flow-run.Completed"}
        assert trigger.within == timedelta(hours=36) and trigger.threshold == 1
        related = daily_automation.model_dump(mode="json")["trigger"]["match_related"]
        assert related in (
            {"prefect.resource.id": f"prefect.deployment.{daily_id}"},
            [{"prefect.resource.id": f"prefect.deployment.{daily_id}"}],
        )
        assert automations[f"{alerts.OVERDUE_AUTOMATION_PREFIX}{sbom}"].trigger.within == timedelta(days=5)
        assert not [name for name in automations if f"manual-{suffix}" in name]  # unscheduled: none

        second = alert_setup.setup_alerts()
        assert set(second.values()) == {"unchanged"} and len(_ours()) == len(automations)

        with get_client(sync_client=True) as client:  # unscheduled now: its automation goes
            client.delete_deployment(sbom_id)
        third = alert_setup.setup_alerts()
        assert third[f"automation {alerts.OVERDUE_AUTOMATION_PREFIX}{sbom}"] == "removed"
        assert len(_ours()) == len(automations) - 1
    finally:
        remove_alerting()


def test_a_proactive_automation_fires_when_no_run_completes(oso_home, monkeypatch, discord_proxy: DiscordProxy) -> None:
    deployment_id, name = _deploy(f"stalled-{uuid.uuid4().hex[:6]}", "0 0 * * *")
    path = use_webhook(monkeypatch)
    remove_alerting()
    try:
        block_id, _ = alert_setup.ensure_block(alerts.webhook_url())
        tiny = alert_setup.overdue_automation(deployment_id, name, "0 0 * * * (UTC)", timedelta(seconds=10), block_id)
        assert alert_setup.ensure_automation(tiny) == "created"
        let_triggers_load()
        (message,) = discord_proxy.wait_for(lambda r: r["path"] == path and mentions(r, name), timeout=60)
        assert message["status"] == 204 and message["problems"] == []
        (embed,) = message["json"]["embeds"]
        assert embed["title"] == f"OSO overdue: {name}" and embed["color"] == discord.COLORS["overdue"]
        assert embed["url"].endswith(f"/deployments/deployment/{deployment_id}")
        assert fields(embed) == {"Deployment": name, "Schedule": "0 0 * * * (UTC)"}
        assert "within 10s" in embed["description"]
    finally:
        remove_alerting()
