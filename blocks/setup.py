"""``python -m blocks.setup``: the Discord notification block and the alert automations, idempotently.

The Prefect server, not our code, runs an automation's action, so the notification block must be one the server
can load: Prefect's Apprise-based ``DiscordWebhook``. Its id and token come from the webhook URL resolved as the
secret ``(discord, webhook_url)`` (``DAGSTER__DISCORD__WEBHOOK_URL``, a Prefect Secret block or GCP, per the
resolver chain). Two automations use it:

* ``oso-flow-run-failed``: any flow run entering Failed, Crashed or TimedOut → the failure message of
  ``oso_core.alerts`` (flow and deployment, state, failed task runs, first error line, UI link);
* ``oso-deployment-recovered``: a flow run of a deployment completes after that deployment's last run failed.

Every run prints what it created, updated or found unchanged. With no webhook configured it says so, creates
nothing and exits 0: flows then log their alerts (``oso_core.alerts.alert_on_failure``).
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any
from uuid import UUID

from prefect.automations import Automation, EventTrigger, Posture
from prefect.blocks.notifications import DiscordWebhook
from prefect.events.actions import SendNotification

from oso_core import alerts
from oso_core.secrets import SecretResolver, default_resolver

FAILED_EVENTS = {f"prefect.flow-run.{state}" for state in alerts.FAILURE_STATES}
RECOVERY_WINDOW = timedelta(days=90)
NOT_A_WEEKLY_PART = f"!{alerts.WEEKLY_PART_PREFIX}*"
WEEKLY_PART = f"{alerts.WEEKLY_PART_PREFIX}*"  # negated glob: the weekly run alerts for its sources


def failure_automation(block_document_id: UUID) -> Automation:
    return Automation(
        name=alerts.FAILURE_AUTOMATION,
        description="Discord alert when a flow run fails, crashes or times out (OSO's run-failure sensor); "
        "sources inside the weekly run are reported by the weekly run's own alert.",
        enabled=True,
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*", "prefect.resource.name": NOT_A_WEEKLY_PART},
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


def recovery_automation(block_document_id: UUID) -> Automation:
    """Fires on a deployment's first Completed run after a failed one (bucketed per deployment)."""
    return Automation(
        name=alerts.RECOVERY_AUTOMATION,
        description="Discord message when a deployment whose last run failed completes again.",
        enabled=True,
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "deployment"},
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


def _comparable(value: Any) -> Any:
    """An automation's content without server-assigned ids, for the unchanged check."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if k not in {"id", "created", "updated"}}
    if isinstance(value, list):
        items = [_comparable(v) for v in value]
        return sorted(items) if all(isinstance(v, str) for v in items) else items  # sets dump in any order
    return value


def ensure_block(url: str) -> tuple[UUID, str]:
    """Create or update the DiscordWebhook block; returns its document id and created/updated/unchanged."""
    webhook_id, token = alerts.parse_webhook_url(url)
    try:
        existing = DiscordWebhook.load(alerts.BLOCK_NAME)
    except ValueError:
        existing = None
    if existing is not None and (
        existing.webhook_id.get_secret_value() == webhook_id and existing.webhook_token.get_secret_value() == token
    ):
        return existing._block_document_id, "unchanged"
    block_id = DiscordWebhook(webhook_id=webhook_id, webhook_token=token).save(alerts.BLOCK_NAME, overwrite=True)
    return block_id, "updated" if existing is not None else "created"


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


def setup_alerts(resolver: SecretResolver | None = None) -> dict[str, str]:
    """Make the block and both automations; returns ``{name: created|updated|unchanged}``, empty with no webhook."""
    url = alerts.webhook_url(resolver)
    if url is None:
        return {}
    block_id, block_status = ensure_block(url)
    results = {f"block discord-webhook/{alerts.BLOCK_NAME}": block_status}
    for automation in (failure_automation(block_id), recovery_automation(block_id)):
        results[f"automation {automation.name}"] = ensure_automation(automation)
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
    from oso_core.api_limits import declared_apis, ensure_api_limits
    from oso_core.sources import discover_sources

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
