"""Helpers for the alert tests: a unique fake webhook per test, a clean slate of our automations, message lookup."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest

from oso_core.ops import alerts


def use_webhook(monkeypatch: pytest.MonkeyPatch) -> str:
    """Set ``(discord, webhook_url)`` to a fresh fake webhook; returns the request path Discord would get."""
    webhook_id = str(secrets.randbelow(10**17) + 10**17)
    token = secrets.token_urlsafe(24)
    monkeypatch.setenv("DAGSTER__DISCORD__WEBHOOK_URL", f"https://discord.com/api/webhooks/{webhook_id}/{token}")
    return f"/api/webhooks/{webhook_id}/{token}"


def remove_alerting() -> None:
    """Delete our automations and block from the session server, so a test starts from nothing."""
    from prefect.automations import Automation
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        topology = ("oso-crash-unresponsive-runs", "oso-weekly-part-crashed")  # blocks.setup.setup_topology's
        for automation in client.read_automations():
            ours = automation.name in (alerts.FAILURE_AUTOMATION, alerts.RECOVERY_AUTOMATION, *topology)
            if ours or automation.name.startswith(alerts.OVERDUE_AUTOMATION_PREFIX):
                Automation.read(id=automation.id).delete()
        for document in client.read_block_documents():
            if document.name == alerts.BLOCK_NAME:
                client.delete_block_document(document.id)


def let_triggers_load() -> None:
    """The server's triggers service picks up new automations right after the API commits them; allow for it."""
    time.sleep(2)


def contents(requests: list[dict[str, Any]]) -> list[str]:
    return [r["json"]["content"] for r in requests]


def embeds(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The (single) embed of each recorded webhook request."""
    return [r["json"]["embeds"][0] for r in requests]


def mentions(request: dict[str, Any], text: str) -> bool:
    """Whether a recorded request's JSON (content or embeds) contains ``text``."""
    import json

    return text in json.dumps(request.get("json"), ensure_ascii=False)


def fields(embed: dict[str, Any]) -> dict[str, str]:
    return {field["name"]: field["value"] for field in embed.get("fields", [])}
