"""One way to keep secrets out of error texts: mask every known secret first, then cut the text short.

HTTP, GraphQL and SQL errors quote what the other side said (a response body, a driver message), and that text
may echo a key from the URL or a password from the connection string. Cutting it *before* masking can split a
key so that its first half no longer matches the whole key and escapes the mask; so every client builds its
error excerpts with :func:`masked_excerpt`, which masks the whole text and only then cuts it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote, unquote_plus

MASK = "***"
DEFAULT_EXCERPT = 200
ELLIPSIS = "…"


def secret_forms(secret: str) -> set[str]:
    """The ways ``secret`` can appear in a text: as is, URL-encoded (path or form style), URL-decoded, and
    JSON-escaped (a body that echoes the request quotes it)."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), unquote(secret), unquote_plus(secret)}
    forms.add(json.dumps(secret)[1:-1])
    return {form for form in forms if form}


def mask_secrets(text: str, secrets: Iterable[str | None], *, shortest: int = 1) -> str:
    """``text`` with every form of every non-empty secret replaced by ``***``.

    Longer forms are replaced first, so a secret that contains another one is masked whole rather than leaving
    the unmatched rest of the longer one behind. A secret shorter than ``shortest`` is left alone: a caller whose
    secrets may be tiny settings (an object store's region) masks only those long enough not to hit ordinary words.
    """
    forms: set[str] = set()
    for secret in secrets:
        if secret and len(secret) >= shortest:
            forms |= secret_forms(secret)
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    return text


def excerpt(text: str, limit: int = DEFAULT_EXCERPT) -> str:
    """At most ``limit`` characters of ``text`` (plus ``…`` when cut). Only ever apply to a masked text."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    return text if len(text) <= limit else text[:limit] + ELLIPSIS


def masked_excerpt(text: str, secrets: Iterable[str | None], limit: int = DEFAULT_EXCERPT) -> str:
    """Mask, then cut: the only safe order (a cut key no longer matches its mask)."""
    return excerpt(mask_secrets(text, secrets), limit)
