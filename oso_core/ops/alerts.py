"""Alerts as Discord embeds, as OSO's were: failure, crash, time-out, recovery, overdue, freshness, quality gate.

Each alert is one embed (``oso_core.ops.discord``): a title linking the run in the Prefect UI, a colour by kind, fields
for flow/deployment/run, failed task runs, failed sources or tables and the first error line, all within Discord's
limits. They reach Discord two ways, always through the same ``CustomWebhookNotificationBlock`` posting raw JSON:

* **The server** (main path): automations made by ``python -m blocks.setup`` render ``FAILURE_BODY`` /
  ``RECOVERY_BODY`` (Jinja producing the embed JSON, rendered by the Prefect server with the ``flow_run``, ``flow``
  and ``deployment`` of the triggering event) on every flow run entering Failed, Crashed or TimedOut, and when a
  deployment that last failed completes. Crashes skip in-process code, so only the server sees them all. A
  proactive automation per scheduled deployment posts ``overdue_embed`` when no run completed in time.
* **In-process** (``alert_on_failure`` hook for local ``python`` runs where no server automation exists; the
  freshness flow; the quality gate): the same embed built in Python and sent through the same block type when
  ``(discord, webhook_url)`` is set, logged otherwise; the hook never sends twice for one run nor when a server
  automation will already send it.

Which deployments alert is setting ``alerts.deployments``: ``all`` (default) or ``tagged`` (only runs tagged
``alerts``: ``prefect.yaml`` tags every scheduled deployment so), as OSO limited its failure sensor to chosen jobs.

The failed-task-run count: the Jinja context has no task runs, so the server can only show a count a flow put in
its own final state message. ``failure_state_message(n, first_error, failed)`` writes it as ``"N failed task runs;
failed: a, b; first error: ..."`` and the templates read it back (the weekly flow ends that way). The hook counts
task runs through the API instead.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from oso_core.config.secrets import SecretInaccessibleError, SecretReference, SecretResolver, default_resolver
from oso_core.ops import discord
from oso_core.ops.discord import parse_webhook_url

logger = logging.getLogger("oso.alerts")

__all__ = ["parse_webhook_url"]

WEBHOOK_SECRET = SecretReference(
    "discord",
    "webhook_url",
    "Discord webhook of #alerts, https://discord.com/api/webhooks/<id>/<token> (unset: alerts go to the log)",
)
BLOCK_NAME = "oso-discord-alerts"
FAILURE_AUTOMATION = "oso-flow-run-failed"
RECOVERY_AUTOMATION = "oso-deployment-recovered"
OVERDUE_AUTOMATION_PREFIX = "oso-overdue-"
# A source's flow run inside the weekly run is named with this prefix. The failure automation skips such runs:
# the weekly run's own alert already names the failed source and its first error, so one broken source sends
# one message, not two. A source run on its own (deployment or ``python flows/<source>.py``) still alerts.
WEEKLY_PART_PREFIX = "weekly-part-"
ALERTED_TAG = "oso-alert-sent"
ALERTS_TAG = "alerts"
FAILURE_STATES = ("Failed", "Crashed", "TimedOut")

_MARKER = " failed task runs; "
_NAMES = "failed: "
_ERROR = "first error: "
_EXCEPTION_PREFIX = "Flow run encountered an exception: "
ERROR_CHARS = 1000
NAME_CHARS = 100
NAMES_CHARS = 1000


def webhook_url(resolver: SecretResolver | None = None) -> str | None:
    """The configured Discord webhook URL, or ``None`` when none is set (alerts then go to the log)."""
    try:
        return (resolver or default_resolver()).resolve_as_str(WEBHOOK_SECRET).strip() or None
    except SecretInaccessibleError:
        return None


def alert_scope() -> str:
    """Setting ``alerts.deployments`` (typed: ``oso_core.config.settings.AlertsSettings``): ``all`` runs alert, or only
    ``tagged`` ones (tag ``alerts``)."""
    from oso_core.config import settings

    return settings.alerts().deployments


def alerts_for(tags: Iterable[str], scope: str | None = None) -> bool:
    """Whether a run with these tags alerts under the scope."""
    return (scope or alert_scope()) == "all" or ALERTS_TAG in set(tags)


def _cap(text: str, limit: int) -> str:
    return discord.cap(text, limit)


def _first_line(message: str | None) -> str:
    lines = (message or "").strip().splitlines()
    return lines[0].strip().replace(_EXCEPTION_PREFIX, "") if lines else "no error message"


def first_error_line(message: str | None) -> str:
    """The first line of a state message, without Prefect's generic exception prefix, capped."""
    return _cap(_first_line(message), ERROR_CHARS)


def failure_state_message(failed_task_runs: int, first_error: str, failed: Iterable[str] = ()) -> str:
    """A final state message the server templates read the failed count, names and first error from."""
    names = ", ".join(failed)
    return f"{failed_task_runs}{_MARKER}{_NAMES + names + '; ' if names else ''}{_ERROR}{first_error_line(first_error)}"


def parse_state_message(message: str | None) -> tuple[str, str, str]:
    """``(failed task runs, failed names, first error)`` from a state message (``failure_state_message`` or any)."""
    first, failed, names = _first_line(message), "not reported", ""
    if _MARKER in first:
        failed, rest = first.split(_MARKER, 1)
        if rest.startswith(_NAMES) and "; " + _ERROR in rest:
            names, first = rest[len(_NAMES) :].split("; " + _ERROR, 1)
        else:
            first = rest[len(_ERROR) :] if rest.startswith(_ERROR) else rest
    return failed, names, first


@dataclass(frozen=True)
class FailureReport:
    """Everything an alert says about one run; ``embed()`` is the Discord embed, exactly as the server renders it."""

    flow: str
    state: str
    flow_run: str
    url: str | None
    deployment: str | None = None
    failed_task_runs: int | None = None
    first_error: str = "no error message"

    @property
    def title(self) -> str:
        title = f"OSO {self.state}: {_cap(self.flow, NAME_CHARS)}"
        return title + (f" / {_cap(self.deployment, NAME_CHARS)}" if self.deployment else "")

    def embed(self) -> dict[str, Any]:
        failed, names, error = parse_state_message(self.first_error)
        if self.failed_task_runs is not None and failed == "not reported":
            failed = str(self.failed_task_runs)
        fields: list[tuple[str, str] | tuple[str, str, bool]] = [("Flow", _cap(self.flow, NAME_CHARS), True)]
        if self.deployment:
            fields.append(("Deployment", _cap(self.deployment, NAME_CHARS), True))
        fields += [("Run", _cap(self.flow_run, NAME_CHARS), True), ("Failed task runs", failed, True)]
        if names:
            fields.append(("Failed sources or tables", _cap(names, NAMES_CHARS)))
        fields.append(("First error", _cap(error, ERROR_CHARS)))
        return discord.embed(self.title, kind=self.state, url=self.url, fields=fields)

    def message(self) -> dict[str, Any]:
        return discord.message(self.embed())


# Jinja rendered by the Prefect server (SendNotification body → the block's raw JSON body). It must give exactly
# the JSON of FailureReport.message(): tests compare them. Every part is capped so the embed fits Discord's limits.
def _truncate(limit: int) -> str:
    return f"truncate({limit}, True, '{discord.ELLIPSIS}', 0)"


_PARSE = (
    "{%- set message = ((flow_run.state.message if flow_run.state else '') or '') -%}"
    "{%- set lines = message.strip().splitlines() -%}"
    "{%- set first = (lines[0].strip() if lines else 'no error message') -%}"
    "{%- set first = first | replace('" + _EXCEPTION_PREFIX + "', '') -%}"
    "{%- set failed = 'not reported' -%}{%- set names = '' -%}"
    "{%- if '" + _MARKER + "' in first -%}"
    "{%- set parts = first.split('" + _MARKER + "', 1) -%}{%- set failed = parts[0] -%}{%- set rest = parts[1] -%}"
    "{%- if rest.startswith('" + _NAMES + "') and '; " + _ERROR + "' in rest -%}"
    "{%- set more = rest[" + str(len(_NAMES)) + ":].split('; " + _ERROR + "', 1) -%}"
    "{%- set names = more[0] -%}{%- set first = more[1] -%}"
    "{%- elif rest.startswith('" + _ERROR + "') -%}{%- set first = rest[" + str(len(_ERROR)) + ":] -%}"
    "{%- else -%}{%- set first = rest -%}{%- endif -%}"
    "{%- endif -%}"
    "{%- set state = flow_run.state.name if flow_run.state else 'Failed' -%}"
    "{%- set url = flow_run | ui_url -%}"
)
_FLOW_TITLE = (
    "{{ flow.name | " + _truncate(NAME_CHARS) + " }}"
    "{% if deployment %} / {{ deployment.name | " + _truncate(NAME_CHARS) + " }}{% endif %}"
)
_COLORS = "{{ " + json.dumps(discord.COLORS) + ".get(state, " + str(discord.COLORS["Failed"]) + ") }}"
_IDENTITY_FIELDS = (
    '{"name": "Flow", "value": {{ flow.name | ' + _truncate(NAME_CHARS) + ' | tojson }}, "inline": true}, '
    '{% if deployment %}{"name": "Deployment", "value": {{ deployment.name | '
    + _truncate(NAME_CHARS)
    + ' | tojson }}, "inline": true}, {% endif %}'
    '{"name": "Run", "value": {{ flow_run.name | ' + _truncate(NAME_CHARS) + ' | tojson }}, "inline": true}'
)
FAILURE_BODY = (
    _PARSE
    + "{%- set title -%}OSO {{ state }}: "
    + _FLOW_TITLE
    + "{%- endset -%}"
    + '{"username": "'
    + discord.USERNAME
    + '", "embeds": [{"title": {{ title | tojson }}, "color": '
    + _COLORS
    + ', {% if url %}"url": {{ url | tojson }}, {% endif %}"fields": ['
    + _IDENTITY_FIELDS
    + ', {"name": "Failed task runs", "value": {{ failed | tojson }}, "inline": true}'
    + '{% if names %}, {"name": "Failed sources or tables", "value": {{ names | '
    + _truncate(NAMES_CHARS)
    + " | tojson }}}{% endif %}"
    + ', {"name": "First error", "value": {{ first | '
    + _truncate(ERROR_CHARS)
    + " | tojson }}}]}]}"
)
FAILURE_SUBJECT = "OSO {{ flow_run.state.name }}: " + _FLOW_TITLE  # Prefect requires a subject; the body is the JSON
RECOVERY_DESCRIPTION = "Completed again after a failed run."
RECOVERY_BODY = (
    "{%- set url = flow_run | ui_url -%}{%- set title -%}OSO recovered: "
    + _FLOW_TITLE
    + "{%- endset -%}"
    + '{"username": "'
    + discord.USERNAME
    + '", "embeds": [{"title": {{ title | tojson }}, "color": '
    + str(discord.COLORS["recovered"])
    + ', {% if url %}"url": {{ url | tojson }}, {% endif %}"description": "'
    + RECOVERY_DESCRIPTION
    + '", "fields": ['
    + _IDENTITY_FIELDS
    + "]}]}"
)
RECOVERY_SUBJECT = "OSO recovered: " + _FLOW_TITLE


def recovery_message(flow: str, flow_run: str, url: str | None, deployment: str | None = None) -> dict[str, Any]:
    """What the recovery automation posts, built in Python (tests compare the server's rendering with it)."""
    title = f"OSO recovered: {_cap(flow, NAME_CHARS)}" + (f" / {_cap(deployment, NAME_CHARS)}" if deployment else "")
    fields: list[tuple[str, str] | tuple[str, str, bool]] = [("Flow", _cap(flow, NAME_CHARS), True)]
    if deployment:
        fields.append(("Deployment", _cap(deployment, NAME_CHARS), True))
    fields.append(("Run", _cap(flow_run, NAME_CHARS), True))
    return discord.message(
        discord.embed(title, kind="recovered", url=url, description=RECOVERY_DESCRIPTION, fields=fields)
    )


def overdue_message(deployment: str, url: str | None, within: str, schedule: str) -> dict[str, Any]:
    """The proactive automation's alert: no run of a scheduled deployment completed within cadence + grace."""
    return discord.message(
        discord.embed(
            f"OSO overdue: {_cap(deployment, 2 * NAME_CHARS)}",
            kind="overdue",
            url=url,
            description=f"No run of {deployment} completed within {within}: is its schedule, work pool or worker "
            "still running?",
            fields=[("Deployment", _cap(deployment, 2 * NAME_CHARS), True), ("Schedule", schedule, True)],
        )
    )


def freshness_message(stale: list[dict[str, str]], checked: int, url: str | None = None) -> dict[str, Any]:
    """OSO's "Asset Freshness Summary": one field per stale or missing table (last load, age, expected)."""
    fields = [
        (row["table"], f"last load {row['last_load']}, age {row['age']}, expected within {row['expected']}")
        for row in stale
    ]
    return discord.message(
        discord.embed(
            "Asset Freshness Summary",
            kind="freshness",
            url=url,
            description=f"{len(stale)} of {checked} tables are stale or missing.",
            fields=fields,
        )
    )


def quality_gate_message(
    table: str, check: str, detail: str, *, flow: str = "", flow_run: str = "", url: str | None = None
) -> dict[str, Any]:
    """A refused commit (data-quality gate): the table stays at its previous snapshot. For the warehouse's gate."""
    fields: list[tuple[str, str] | tuple[str, str, bool]] = [("Table", table, True), ("Check", check, True)]
    if flow:
        fields.append(("Flow", _cap(flow, NAME_CHARS), True))
    if flow_run:
        fields.append(("Run", _cap(flow_run, NAME_CHARS), True))
    fields.append(("Detail", _cap(first_error_line(detail), ERROR_CHARS)))
    return discord.message(
        discord.embed(f"OSO quality gate: {table} not committed", kind="quality", url=url, fields=fields)
    )


def send_alert(payload: dict[str, Any], resolver: SecretResolver | None = None) -> bool:
    """Post an alert built here to the configured webhook; log it when none is set or sending fails.

    Returns whether Discord accepted it. Never raises: an alert must not mask what it reports.
    """
    url = webhook_url(resolver)
    summary = "; ".join(e.get("title", "") for e in payload.get("embeds", []))
    if url is None:
        logger.warning("no Discord webhook configured (setting discord.webhook_url): alert logged only: %s", summary)
        return False
    try:
        discord.send(url, payload)
    except Exception as exc:  # noqa: BLE001
        logger.error("Discord alert %r failed: %s", summary, type(exc).__name__)
        return False
    return True


# --- in-process hook -------------------------------------------------------------------------------------------

_sent_runs: set[str] = set()
_sent_lock = threading.Lock()


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

    Order of checks: one alert per run (in this process and, through a run tag, across processes); a run outside
    the ``alerts.deployments`` scope does not alert; if the server has an enabled failure automation, it sends
    (and sees crashes we can't), so the hook only logs; with no webhook configured the message goes to the log;
    otherwise the embed is posted.
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
        if not alerts_for(current_tags):
            logger.info("run %s is not tagged %r: no alert (alerts.deployments=tagged)", flow_run.name, ALERTS_TAG)
            return
        report = build_report(client, flow, flow_run, state)
        logger.error("%s\n%s", report.title, json.dumps(report.embed()["fields"], ensure_ascii=False))
        if server_automation_active(client):
            logger.info("server automation %s sends this alert; the hook does not", FAILURE_AUTOMATION)
            return
        url = webhook_url()
        if url is None:
            logger.warning("no Discord webhook configured (setting discord.webhook_url): alert logged only")
            return
        try:
            discord.send(url, report.message())
        except Exception as exc:  # noqa: BLE001 - an alert that cannot be sent must not mask the run's failure
            logger.error("Discord alert for run %s failed: %s", flow_run.name, type(exc).__name__)
            return
        with contextlib.suppress(Exception):  # the in-process guard above still holds
            client.update_flow_run(flow_run.id, tags=[*current_tags, ALERTED_TAG])
