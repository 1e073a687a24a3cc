"""``python -m blocks.setup``: the Discord notification block and the alert automations, idempotently.

The Prefect server, not our code, runs an automation's action, so the notification block must be one the server
can load: Prefect's ``CustomWebhookNotificationBlock``, posting the raw JSON body an action renders (a Discord
embed, see ``oso_core.ops.discord`` for why not Apprise's ``DiscordWebhook``). Its webhook id and token come from the
URL resolved as the secret ``(discord, webhook_url)`` (``DAGSTER__DISCORD__WEBHOOK_URL``, a Prefect Secret block or
GCP, per the resolver chain) and are kept as the block's secrets. The automations:

* ``oso-flow-run-failed``: any flow run entering Failed, Crashed or TimedOut → the failure embed of
  ``oso_core.ops.alerts`` (flow and deployment, state, failed task runs and sources, first error line, UI link);
* ``oso-deployment-recovered``: a flow run of a deployment completes after that deployment's last run failed;
* ``oso-overdue-<flow>/<deployment>``, one per deployment with an active schedule: a *proactive* trigger expecting
  ``prefect.flow-run.Completed`` of that deployment within its cadence plus grace (weekly → 8 days, daily → 36
  hours, ``oso_core.base.cadence``), so a schedule that silently stops running is caught even when the freshness flow
  itself is down. Automations of deployments no longer scheduled are removed.

With setting ``alerts.deployments`` = ``tagged``, the failure and recovery automations match only runs tagged
``alerts``. Every run prints what it created, updated, removed or found unchanged. With no webhook configured it
says so, creates nothing and exits 0: flows then log their alerts (``oso_core.ops.alerts.alert_on_failure``).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from typing import Any
from uuid import UUID

if __name__ == "__main__":  # a command line picks its Prefect API (analytics off) before Prefect is imported
    from oso_core.engine.prefect_api import use_local_server_as_command

    use_local_server_as_command()

from prefect.automations import Automation, EventTrigger, Posture
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.events.actions import SendNotification

from oso_core.base import cadence as cadences
from oso_core.config.secrets import SecretResolver, default_resolver
from oso_core.ops import alerts, discord

FAILED_EVENTS = {f"prefect.flow-run.{state}" for state in alerts.FAILURE_STATES}
RECOVERY_WINDOW = timedelta(days=90)
BLOCK_TYPE = "custom-webhook"
NOT_A_WEEKLY_PART = f"!{alerts.WEEKLY_PART_PREFIX}*"  # negated glob: the weekly run alerts for its sources
WEEKLY_PART = f"{alerts.WEEKLY_PART_PREFIX}*"
TAGGED = {"prefect.resource.role": "tag", "prefect.resource.id": f"prefect.tag.{alerts.ALERTS_TAG}"}


def _scoped(related: list[dict[str, str]], scope: str) -> list[dict[str, str]] | dict[str, str]:
    """``match_related`` for the scope: with ``tagged`` the run must also carry the ``alerts`` tag."""
    wanted = related + ([TAGGED] if scope == "tagged" else [])
    return wanted[0] if len(wanted) == 1 else wanted if wanted else {}


def failure_automation(block_document_id: UUID, scope: str = "all") -> Automation:
    return Automation(
        name=alerts.FAILURE_AUTOMATION,
        description="Discord alert when a flow run fails, crashes or times out (OSO's run-failure sensor); "
        "sources inside the weekly run are reported by the weekly run's own alert.",
        enabled=True,
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*", "prefect.resource.name": NOT_A_WEEKLY_PART},
            match_related=_scoped([], scope),
            expect=FAILED_EVENTS,
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[
            SendNotification(
                block_document_id=block_document_id, subject=alerts.FAILURE_SUBJECT, body=alerts.FAILURE_BODY
            )
        ],
    )


def recovery_automation(block_document_id: UUID, scope: str = "all") -> Automation:
    """Fires on a deployment's first Completed run after a failed one (bucketed per deployment)."""
    return Automation(
        name=alerts.RECOVERY_AUTOMATION,
        description="Discord message when a deployment whose last run failed completes again.",
        enabled=True,
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related=_scoped([{"prefect.resource.role": "deployment"}], scope),
            after=FAILED_EVENTS,
            expect={"prefect.flow-run.Completed"},
            for_each={"related:deployment:prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
            within=RECOVERY_WINDOW,
        ),
        actions=[
            SendNotification(
                block_document_id=block_document_id, subject=alerts.RECOVERY_SUBJECT, body=alerts.RECOVERY_BODY
            )
        ],
    )


def schedule_max_age(schedules: list[Any]) -> timedelta | None:
    """Cadence plus grace of a deployment's active schedules (the most frequent one wins); ``None`` if none."""
    ages: list[timedelta] = []
    for entry in schedules or []:
        if not getattr(entry, "active", True):
            continue
        schedule = entry.schedule
        if getattr(schedule, "cron", None):
            ages.append(cadences.max_age(schedule.cron))
        elif getattr(schedule, "interval", None):
            interval = schedule.interval
            ages.append(interval + min(interval / 2, cadences.MAX_GRACE))
    return min(ages) if ages else None


def _schedule_text(schedules: list[Any]) -> str:
    parts = []
    for entry in schedules or []:
        if getattr(entry, "active", True):
            schedule = entry.schedule
            cron = getattr(schedule, "cron", None)
            parts.append(f"{cron} ({schedule.timezone or 'UTC'})" if cron else f"every {schedule.interval}")
    return ", ".join(parts) or "-"


def overdue_automation(
    deployment_id: UUID, full_name: str, schedule: str, within: timedelta, block_document_id: UUID
) -> Automation:
    """Proactive: alert when no run of the deployment reached Completed within ``within`` (cadence + grace).

    The message is fixed when the automation is made (a proactive firing has no event to template from)."""
    from prefect.utilities.urls import url_for

    url = url_for("deployment", obj_id=deployment_id)
    payload = alerts.overdue_message(full_name, url, cadences.describe(within), schedule)
    return Automation(
        name=f"{alerts.OVERDUE_AUTOMATION_PREFIX}{full_name}",
        description=f"Discord alert when no run of {full_name} completed within {cadences.describe(within)} "
        "(its schedule's interval plus grace): a schedule that silently stopped.",
        enabled=True,
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.id": f"prefect.deployment.{deployment_id}"},
            expect={"prefect.flow-run.Completed"},
            posture=Posture.Proactive,
            threshold=1,
            within=within,
        ),
        actions=[
            SendNotification(
                block_document_id=block_document_id,
                subject=f"OSO overdue: {full_name}",
                body="{% raw %}" + json.dumps(payload, ensure_ascii=False) + "{% endraw %}",
            )
        ],
    )


def scheduled_deployments() -> list[tuple[UUID, str, str, timedelta]]:
    """``(id, flow/deployment, schedule text, cadence + grace)`` of every deployment with an active schedule."""
    from prefect.client.orchestration import get_client

    found = []
    with get_client(sync_client=True) as client:
        flows = {flow.id: flow.name for flow in client.read_flows()}
        for deployment in client.read_deployments():
            within = schedule_max_age(deployment.schedules)
            if within is None or getattr(deployment, "paused", False):
                continue
            name = f"{flows.get(deployment.flow_id, deployment.flow_id)}/{deployment.name}"
            found.append((deployment.id, name, _schedule_text(deployment.schedules), within))
    return sorted(found, key=lambda d: d[1])


def _comparable(value: Any) -> Any:
    """An automation's content without server-assigned ids, for the unchanged check."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if k not in {"id", "created", "updated"}}
    if isinstance(value, list):
        items = [_comparable(v) for v in value]
        return sorted(items) if all(isinstance(v, str) for v in items) else items  # sets dump in any order
    return value


def ensure_block(url: str) -> tuple[UUID, str]:
    """Create or update the webhook block; returns its document id and created/updated/unchanged."""
    desired = discord.webhook_block(url)
    try:
        existing = CustomWebhookNotificationBlock.load(alerts.BLOCK_NAME)
    except (ValueError, TypeError, KeyError):  # none yet, or an older block type under this name
        existing = None
    if existing is not None and (
        existing.secrets.get_secret_value() == desired.secrets.get_secret_value()
        and (existing.url, existing.form_data, existing.headers) == (desired.url, desired.form_data, desired.headers)
    ):
        return existing._block_document_id, "unchanged"
    if existing is None:
        _delete_block_named(alerts.BLOCK_NAME)  # e.g. the DiscordWebhook block of an earlier version
    block_id = desired.save(alerts.BLOCK_NAME, overwrite=True)
    return block_id, "updated" if existing is not None else "created"


def _delete_block_named(name: str) -> None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for document in client.read_block_documents():
            if document.name == name:
                client.delete_block_document(document.id)


def ensure_automation(desired: Automation) -> str:
    """Create the automation, update it when it differs, or leave it; duplicates by name are removed."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        found = client.read_automations_by_name(desired.name)
    if not found:
        desired.create()
        return "created"
    current, *duplicates = found
    for duplicate in duplicates:
        Automation.read(id=duplicate.id).delete()
    want = _comparable(desired.model_dump(mode="json", exclude={"id"}))
    have = _comparable(Automation.read(id=current.id).model_dump(mode="json", exclude={"id"}))
    have = {k: v for k, v in have.items() if k in want}
    if want == have and not duplicates:
        return "unchanged"
    desired.id = current.id
    desired.update()
    return "updated"


def remove_stale_overdue(keep: set[str]) -> list[str]:
    """Delete overdue automations whose deployment is no longer scheduled; returns their names."""
    from prefect.client.orchestration import get_client

    removed = []
    with get_client(sync_client=True) as client:
        for automation in client.read_automations():
            if automation.name.startswith(alerts.OVERDUE_AUTOMATION_PREFIX) and automation.name not in keep:
                Automation.read(id=automation.id).delete()
                removed.append(automation.name)
    return sorted(removed)


def setup_alerts(resolver: SecretResolver | None = None) -> dict[str, str]:
    """Make the block and the automations; returns ``{name: created|updated|unchanged|removed}``, empty with no
    webhook."""
    url = alerts.webhook_url(resolver)
    if url is None:
        return {}
    scope = alerts.alert_scope()
    block_id, block_status = ensure_block(url)
    results = {f"block {BLOCK_TYPE}/{alerts.BLOCK_NAME}": block_status}
    wanted = [failure_automation(block_id, scope), recovery_automation(block_id, scope)]
    wanted += [overdue_automation(*deployment, block_id) for deployment in scheduled_deployments()]
    for automation in wanted:
        results[f"automation {automation.name}"] = ensure_automation(automation)
    for name in remove_stale_overdue({a.name for a in wanted}):
        results[f"automation {name}"] = "removed"
    return results


# --- production topology: dead workers and shared API limits (independent of the Discord webhook) -------------

ZOMBIE_AUTOMATION = "oso-crash-unresponsive-runs"
WEEKLY_PART_CRASHED_AUTOMATION = "oso-weekly-part-crashed"
_FINAL_EVENTS = {f"prefect.flow-run.{state}" for state in ("Completed", "Failed", "Cancelled", "Crashed", "TimedOut")}


def heartbeat_grace() -> timedelta:
    """How long a run may go without a heartbeat before it is declared Crashed: two heartbeat periods and a bit.

    Runs of deployments send ``prefect.flow-run.heartbeat`` every ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` seconds
    (set it on the workers; Prefect's minimum is 30).
    """
    from prefect.settings import get_current_settings

    frequency = get_current_settings().flows.heartbeat_frequency or 180
    return timedelta(seconds=2 * frequency + 15)


def zombie_automation(grace: timedelta | None = None) -> Automation:
    """Prefect's documented zombie-run detector: a run whose heartbeats stop (its worker or node died, SIGKILL,
    spot eviction) is set Crashed, which frees its concurrency slots and lets the weekly run resubmit it."""
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState

    return Automation(
        name=ZOMBIE_AUTOMATION,
        description="Mark a flow run Crashed when its heartbeats stop (its worker died).",
        enabled=True,
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "deployment"},  # runs on workers; a local run has its caller
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", *_FINAL_EVENTS},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=grace or heartbeat_grace(),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED, name="Crashed", message="Flow run stopped sending heartbeats: its worker died"
            )
        ],
    )


def weekly_part_crashed_automation(block_document_id: UUID) -> Automation:
    """A source run of the deployed weekly run that crashes alerts once, even though the weekly run resubmits it
    (and so may itself complete): the failure automation skips weekly parts, this one sends their crashes."""
    return Automation(
        name=WEEKLY_PART_CRASHED_AUTOMATION,
        description="Discord alert when a source run started by the weekly run crashes (it is resubmitted).",
        enabled=True,
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*", "prefect.resource.name": WEEKLY_PART},
            expect={"prefect.flow-run.Crashed"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[
            SendNotification(
                block_document_id=block_document_id, subject=alerts.FAILURE_SUBJECT, body=alerts.FAILURE_BODY
            )
        ],
    )


def setup_topology(resolver: SecretResolver | None = None) -> dict[str, str]:
    """The zombie-run detector, one global concurrency limit per declared API and, with a webhook, the crash alert
    of weekly parts; returns ``{name: created|updated|unchanged}``."""
    from oso_core.engine.api_limits import declared_apis, ensure_api_limits
    from oso_core.model.sources import discover_sources

    results = {f"concurrency limit {name}": status for name, status in
               ensure_api_limits(declared_apis(discover_sources().values())).items()}  # fmt: skip
    results[f"automation {ZOMBIE_AUTOMATION}"] = ensure_automation(zombie_automation())
    url = alerts.webhook_url(resolver)
    if url is not None:
        block_id, _ = ensure_block(url)
        results[f"automation {WEEKLY_PART_CRASHED_AUTOMATION}"] = ensure_automation(
            weekly_part_crashed_automation(block_id)
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m blocks.setup", description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    resolver = default_resolver()
    results = setup_alerts(resolver)
    if not results:
        where = resolver.describe(alerts.WEBHOOK_SECRET)
        print(
            f"no Discord webhook configured (setting discord.webhook_url; looked in: {where}).\n"
            "Nothing created: failed runs log their alert instead. Set the webhook and run this again."
        )
    for name, status in {**results, **setup_topology(resolver)}.items():
        print(f"{name}: {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
