"""Helpers for the alert tests: a unique fake webhook per test, a clean slate of our automations, message lookup."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest

from oso_core import alerts


def use_webhook(monkeypatch: pytest.MonkeyPatch) -> str:
    """Set ``(discord, webhook_url)`` to a fresh fake webhook; returns the request path Discord would get."""
    webhook_id = str(secrets.randbelow(10**17) + 10**17)
    token = secrets.token_urlsafe(24)
    monkeypatch.setenv("DAGSTER__DISCORD__WEBHOOK_URL", f"https://discord.com/api/webhooks/{webhook_id}/{token}")
    return f"/api/webhooks/{webhook_id}/{token}"


def remove_alerting() -> None:
    """Delete our automations and block from the session server, so a test starts from nothing."""
    from prefect.automations import Automation
    from prefect.blocks.notifications import DiscordWebhook
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        topology = ("oso-crash-unresponsive-runs", "oso-weekly-part-crashed")  # blocks.setup.setup_topology's
        for name in (alerts.FAILURE_AUTOMATION, alerts.RECOVERY_AUTOMATION, *topology):
            for automation in client.read_automations_by_name(name):
                Automation.read(id=automation.id).delete()
        try:
            block = DiscordWebhook.load(alerts.BLOCK_NAME)
        except ValueError:
            return
        client.delete_block_document(block._block_document_id)


def let_triggers_load() -> None:
    """The server's triggers service picks up new automations right after the API commits them; allow for it."""
    time.sleep(2)


def contents(requests: list[dict[str, Any]]) -> list[str]:
    return [r["json"]["content"] for r in requests]
