"""Failure and recovery alerts, built like OSO's run-failure sensor ("N failed steps in run (link)").

Two paths send the same text to Discord through Prefect's Apprise-based ``DiscordWebhook`` block:

* **The server** (main path): automations made by ``python -m blocks.setup`` render ``FAILURE_SUBJECT`` /
  ``FAILURE_BODY`` (Jinja, rendered by the Prefect server with the ``flow_run``, ``flow`` and ``deployment`` of the
  triggering event) on every flow run entering Failed, Crashed or TimedOut, and ``RECOVERY_*`` when a deployment
  that last failed completes. Crashes skip in-process code, so only the server sees them all.
* **The flow's own hook** (``alert_on_failure``, for local ``python`` runs where no server automation exists):
  builds the message in Python, sends it through the same block type when ``(discord, webhook_url)`` is set,
  logs it otherwise, and never sends twice for one run nor when a server automation will already send it.

The failed-task-run count: the Jinja context has no task runs, so the server can only show a count a flow put in
its own final state message. ``failure_state_message(n, first_error)`` writes it as ``"N failed task runs; first
error: ..."`` and the templates read it back (the weekly flow ends that way). The hook counts task runs through
the API instead. Discord refuses content over 2,000 characters, so every part is capped.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

from oso_core.secrets import SecretInaccessibleError, SecretReference, SecretResolver, default_resolver

logger = logging.getLogger("oso.alerts")

DISCORD_LIMIT = 2000
WEBHOOK_SECRET = SecretReference(
    "discord", "webhook_url", "Discord webhook of #alerts, https://discord.com/api/webhooks/<id>/<token> "
    "(unset: alerts go to the log)"
)
BLOCK_NAME = "oso-discord-alerts"
FAILURE_AUTOMATION = "oso-flow-run-failed"
RECOVERY_AUTOMATION = "oso-deployment-recovered"
# A source's flow run inside the weekly run is named with this prefix. The failure automation skips such runs:
# the weekly run's own alert already names the failed source and its first error, so one broken source sends
# one message, not two. A source run on its own (deployment or ``python flows/<source>.py``) still alerts.
WEEKLY_PART_PREFIX = "weekly-part-"
ALERTED_TAG = "oso-alert-sent"
FAILURE_STATES = ("Failed", "Crashed", "TimedOut")

_MARKER = " failed task runs; first error: "
_EXCEPTION_PREFIX = "Flow run encountered an exception: "
ERROR_CHARS = 300
NAME_CHARS = 100

_WEBHOOK_URL = re.compile(r"^https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/(\d+)/([\w-]+)/?$")


def parse_webhook_url(url: str) -> tuple[str, str]:
    """``https://discord.com/api/webhooks/<id>/<token>`` → ``(id, token)``; the error never echoes the token."""
    match = _WEBHOOK_URL.match(url.strip())
    if not match:
        raise ValueError(
            "setting discord.webhook_url is not a Discord webhook URL "
            "(expected https://discord.com/api/webhooks/<id>/<token>)"
        )
    return match.group(1), match.group(2)


def webhook_url(resolver: SecretResolver | None = None) -> str | None:
    """The configured Discord webhook URL, or ``None`` when none is set (alerts then go to the log)."""
    try:
        return (resolver or default_resolver()).resolve_as_str(WEBHOOK_SECRET).strip() or None
    except SecretInaccessibleError:
        return None


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_line(message: str | None) -> str:
    lines = (message or "").strip().splitlines()
    return lines[0].strip().replace(_EXCEPTION_PREFIX, "") if lines else "no error message"


def first_error_line(message: str | None) -> str:
    """The first line of a state message, without Prefect's generic exception prefix, capped."""
    return _cap(_first_line(message), ERROR_CHARS)


def failure_state_message(failed_task_runs: int, first_error: str) -> str:
    """A final state message the server templates can read the failed count and first error from."""
    return f"{failed_task_runs}{_MARKER}{first_error_line(first_error)}"


@dataclass(frozen=True)
class FailureReport:
    """Everything an alert says about one run; ``render()`` gives (subject, body) within Discord's limit."""

    flow: str
    state: str
    flow_run: str
    url: str | None
    deployment: str | None = None
    failed_task_runs: int | None = None
    first_error: str = "no error message"

    def render(self) -> tuple[str, str]:
        subject = f"OSO {self.state}: {_cap(self.flow, NAME_CHARS)}"
        if self.deployment:
            subject += f" / {_cap(self.deployment, NAME_CHARS)}"
        error = _first_line(self.first_error)
        failed: str = "not reported" if self.failed_task_runs is None else str(self.failed_task_runs)
        if _MARKER in error:  # a flow that already carried the count in its state message
            failed, error = error.split(_MARKER, 1)
        body = "\n".join(
            [
                f"Run: {_cap(self.flow_run, NAME_CHARS)}",
                f"Failed task runs: {failed}",
                f"First error: {_cap(error, ERROR_CHARS)}",
                self.url or "(no UI link: PREFECT_UI_URL is not set)",
            ]
        )
        return fit_discord(subject, body)


def fit_discord(subject: str, body: str) -> tuple[str, str]:
    """Cut the body so Apprise's ``subject + "\\r\\n" + body`` stays within Discord's 2,000 characters."""
    room = DISCORD_LIMIT - len(subject) - 2
    if len(body) > room:
        body = body[: max(room - 3, 0)] + "..."
    return subject, body


# Jinja rendered by the Prefect server (SendNotification). Keep the text identical to FailureReport.render().
_FIRST_LINE = (
    "{%- set message = ((flow_run.state.message if flow_run.state else '') or '') -%}"
    "{%- set lines = message.strip().splitlines() -%}"
    "{%- set first = (lines[0].strip() if lines else 'no error message') -%}"
    "{%- set first = first | replace('" + _EXCEPTION_PREFIX + "', '') -%}"
    "{%- set failed = 'not reported' -%}"
    "{%- if '" + _MARKER + "' in first -%}"
    "{%- set parts = first.split('" + _MARKER + "', 1) -%}{%- set failed = parts[0] -%}{%- set first = parts[1] -%}"
    "{%- endif -%}"
)
FAILURE_SUBJECT = (
    "OSO {{ flow_run.state.name }}: {{ flow.name | truncate(" + str(NAME_CHARS) + ", True, '...', 0) }}"
    "{% if deployment %} / {{ deployment.name | truncate(" + str(NAME_CHARS) + ", True, '...', 0) }}{% endif %}"
)
FAILURE_BODY = (
    _FIRST_LINE + "Run: {{ flow_run.name }}\n"
    "Failed task runs: {{ failed }}\n"
    "First error: {{ first | truncate(" + str(ERROR_CHARS) + ", True, '...', 0) }}\n"
    "{{ flow_run | ui_url }}"
)
RECOVERY_SUBJECT = (
    "OSO recovered: {{ flow.name | truncate(" + str(NAME_CHARS) + ", True, '...', 0) }}"
    "{% if deployment %} / {{ deployment.name | truncate(" + str(NAME_CHARS) + ", True, '...', 0) }}{% endif %}"
)
RECOVERY_BODY = "Run: {{ flow_run.name }}\nCompleted again after a failed run.\n{{ flow_run | ui_url }}"


# --- in-process hook -------------------------------------------------------------------------------------------

_sent_runs: set[str] = set()
_sent_lock = threading.Lock()


def discord_block(url: str):
    """The Prefect ``DiscordWebhook`` block for a webhook URL (the same block type the server uses)."""
    from prefect.blocks.notifications import DiscordWebhook

    webhook_id, token = parse_webhook_url(url)
    return DiscordWebhook(webhook_id=webhook_id, webhook_token=token)


def send_discord(url: str, subject: str, body: str) -> None:
    """Send one message through Apprise; raises ``NotificationError`` when Discord refuses it."""
    block = discord_block(url)
    with block.raise_on_failure():
        block.notify(body=body, subject=subject)


def _count_failed_task_runs(client: Any, flow_run_id: Any) -> int | None:
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        TaskRunFilter,
        TaskRunFilterState,
        TaskRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    try:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id={"any_": [flow_run_id]}),
            task_run_filter=TaskRunFilter(
                state=TaskRunFilterState(type=TaskRunFilterStateType(any_=[StateType.FAILED, StateType.CRASHED]))
            ),
        )
    except Exception:  # noqa: BLE001 - a count is nice to have, never a reason to lose the alert
        return None
    return len(runs)


def server_automation_active(client: Any) -> bool:
    """Whether the server's failure automation exists and is enabled (then it, not the hook, alerts)."""
    try:
        automations = client.read_automations_by_name(FAILURE_AUTOMATION)
    except Exception:  # noqa: BLE001 - no automations API (e.g. ephemeral server trouble): the hook alerts
        return False
    return any(a.enabled for a in automations)


def build_report(client: Any, flow: Any, flow_run: Any, state: Any) -> FailureReport:
    from prefect.utilities.urls import url_for

    deployment = None
    if getattr(flow_run, "deployment_id", None):
        try:
            deployment = client.read_deployment(flow_run.deployment_id).name
        except Exception:  # noqa: BLE001
            deployment = str(flow_run.deployment_id)
    return FailureReport(
        flow=flow.name,
        state=state.name or str(state.type.value).title(),
        flow_run=flow_run.name,
        url=url_for("flow-run", obj_id=flow_run.id),
        deployment=deployment,
        failed_task_runs=_count_failed_task_runs(client, flow_run.id),
        first_error=state.message or "",
    )


def alert_on_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """``on_failure`` / ``on_crashed`` hook: alert once for this run unless the server automation will.

    Order of checks: one alert per run (in this process and, through a run tag, across processes); if the
    server has an enabled failure automation, it sends (and sees crashes we can't), so the hook only logs;
    with no webhook configured the message goes to the log; otherwise it is sent through Apprise.
    """
    from prefect.client.orchestration import get_client

    run_id = str(flow_run.id)
    with _sent_lock:
        if run_id in _sent_runs:
            return
        _sent_runs.add(run_id)
    with get_client(sync_client=True) as client:
        current_tags = list(getattr(flow_run, "tags", None) or [])
        with contextlib.suppress(Exception):
            current_tags = list(client.read_flow_run(flow_run.id).tags or [])
        if ALERTED_TAG in current_tags:
            return
        subject, body = build_report(client, flow, flow_run, state).render()
        logger.error("%s\n%s", subject, body)
        if server_automation_active(client):
            logger.info("server automation %s sends this alert; the hook does not", FAILURE_AUTOMATION)
            return
        url = webhook_url()
        if url is None:
            logger.warning("no Discord webhook configured (setting discord.webhook_url): alert logged only")
            return
        try:
            send_discord(url, subject, body)
        except Exception as exc:  # noqa: BLE001 - an alert that cannot be sent must not mask the run's failure
            logger.error("Discord alert for run %s failed: %s", flow_run.name, type(exc).__name__)
            return
        with contextlib.suppress(Exception):  # the in-process guard above still holds
            client.update_flow_run(flow_run.id, tags=[*current_tags, ALERTED_TAG])
