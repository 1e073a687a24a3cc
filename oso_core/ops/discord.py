"""Discord embeds within Discord's limits, and the one way we post them.

OSO's alerts were Discord embeds ("Failed Materialization" linking the run, "Asset Freshness Summary" with the
stale assets in fields). Discord refuses a whole message (HTTP 400) when any embed limit is exceeded: title 256,
description 4,096, 25 fields, field name 256, field value 1,024, footer 2,048, and 6,000 characters over all of
them together. ``embed()`` cuts every part to fit, with an ellipsis, so an alert about a run with a megabyte of
error text is still delivered.

Why not Apprise's ``discord://`` (Prefect's ``DiscordWebhook`` block): its plugin builds the embed itself (title,
body as description, a colour by notify type, no URL, fields only from markdown headings), so it can neither link
the run nor set our fields. We post the embed JSON ourselves through Prefect's ``CustomWebhookNotificationBlock``
with the raw body ``{{body}}``: the same block type works from the Prefect server (automations render the body
with Jinja into this JSON, see ``oso_core.ops.alerts``) and in-process (``send``), and it takes proxies and CA bundles
from the environment (httpx ``trust_env``).
"""

from __future__ import annotations

import json
import re
from typing import Any

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELDS_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
TOTAL_LIMIT = 6000
ELLIPSIS = "…"
USERNAME = "OSO Alerts"  # OSO's webhook user name

# colour by kind (Discord's palette), so a channel reads at a glance
COLORS = {
    "Failed": 0xE74C3C,
    "Crashed": 0x992D22,
    "TimedOut": 0xE67E22,
    "recovered": 0x2ECC71,
    "freshness": 0xF1C40F,
    "overdue": 0xE67E22,
    "quality": 0x9B59B6,
}

WEBHOOK_URL_TEMPLATE = "https://discord.com/api/webhooks/{{webhook_id}}/{{webhook_token}}"
_WEBHOOK_URL = re.compile(r"^https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/(\d+)/([\w-]+)/?$")


def cap(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the last one an ellipsis when cut (Jinja's ``truncate`` does the same
    with ``killwords=True, end='…', leeway=0``, so server and Python agree)."""
    return text if len(text) <= limit else text[: max(limit - len(ELLIPSIS), 0)] + ELLIPSIS


def _size(embed: dict[str, Any]) -> int:
    fields = embed.get("fields") or []
    return (
        len(embed.get("title") or "")
        + len(embed.get("description") or "")
        + len((embed.get("footer") or {}).get("text") or "")
        + sum(len(f["name"]) + len(f["value"]) for f in fields)
    )


def embed(
    title: str,
    *,
    kind: str,
    url: str | None = None,
    description: str = "",
    fields: list[tuple[str, str] | tuple[str, str, bool]] | None = None,
    footer: str = "",
) -> dict[str, Any]:
    """One embed cut to Discord's limits: each part to its own, at most 25 fields (the last says how many more),
    then the description and trailing fields shortened until the whole is within 6,000 characters."""
    result: dict[str, Any] = {"title": cap(title, TITLE_LIMIT) or "-", "color": COLORS.get(kind, COLORS["Failed"])}
    if url:
        result["url"] = url
    if description:
        result["description"] = cap(description, DESCRIPTION_LIMIT)
    out: list[dict[str, Any]] = []
    given = list(fields or [])
    for field in given:
        name, value, inline = field[0], field[1], len(field) > 2 and bool(field[2])  # type: ignore[misc]
        out.append({"name": cap(name or "-", FIELD_NAME_LIMIT), "value": cap(value or "-", FIELD_VALUE_LIMIT)})
        if inline:
            out[-1]["inline"] = True
    if len(out) > FIELDS_LIMIT:
        out = out[: FIELDS_LIMIT - 1] + [{"name": ELLIPSIS, "value": f"and {len(out) - FIELDS_LIMIT + 1} more"}]
    if out:
        result["fields"] = out
    if footer:
        result["footer"] = {"text": cap(footer, FOOTER_LIMIT)}
    _fit_total(result)
    return result


def _fit_total(result: dict[str, Any]) -> None:
    excess = _size(result) - TOTAL_LIMIT
    if excess > 0 and result.get("description"):
        keep = max(len(result["description"]) - excess, 1)
        result["description"] = cap(result["description"], keep)
        excess = _size(result) - TOTAL_LIMIT
    fields = result.get("fields") or []
    dropped = 0
    while excess > 0 and fields:
        last = fields[-1]
        room = len(last["value"]) - excess
        if room >= 16:  # shorten the last field's value when that is enough
            last["value"] = cap(last["value"], room)
        else:
            fields.pop()
            dropped += 1
            if fields:
                note = f"and {dropped} more"
                fields[-1] = {"name": ELLIPSIS, "value": note}
        excess = _size(result) - TOTAL_LIMIT
    if excess > 0:
        result["title"] = cap(result["title"], max(len(result["title"]) - excess, 1))


def message(*embeds: dict[str, Any]) -> dict[str, Any]:
    """The webhook body: our user name and the embeds (at most 10 per message, as Discord allows)."""
    return {"username": USERNAME, "embeds": list(embeds)[:10]}


def parse_webhook_url(url: str) -> tuple[str, str]:
    """``https://discord.com/api/webhooks/<id>/<token>`` → ``(id, token)``; the error never echoes the token."""
    match = _WEBHOOK_URL.match(url.strip())
    if not match:
        raise ValueError(
            "setting discord.webhook_url is not a Discord webhook URL "
            "(expected https://discord.com/api/webhooks/<id>/<token>)"
        )
    return match.group(1), match.group(2)


def webhook_block(url: str):
    """The notification block that posts a raw JSON body (``{{body}}``) to the webhook: the server's and ours."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    webhook_id, token = parse_webhook_url(url)
    return CustomWebhookNotificationBlock(
        name="Discord",
        url=WEBHOOK_URL_TEMPLATE,
        method="POST",
        headers={"Content-Type": "application/json"},
        form_data="{{body}}",  # a string: sent as the raw request body, the JSON the alert built
        secrets={"webhook_id": webhook_id, "webhook_token": token},
        timeout=30,
    )


def send(url: str, payload: dict[str, Any]) -> None:
    """Post one message (``message(...)``) to the webhook; raises ``httpx.HTTPStatusError`` when refused."""
    webhook_block(url).notify(body=json.dumps(payload, ensure_ascii=False), subject=None)
