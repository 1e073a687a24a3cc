"""Settings every source test wants: no waiting between retries or pages, a small bounded number of attempts."""

from __future__ import annotations

import pytest


def no_retry_waits(monkeypatch: pytest.MonkeyPatch, source: str, attempts: int = 3) -> None:
    """The source's HTTP client retries at once (no back-off, no rate-limit pause), at most ``attempts`` times."""
    group = f"DAGSTER__{source.upper()}__"
    monkeypatch.setenv(f"{group}RATE_LIMIT_WAIT", "0")
    monkeypatch.setenv(f"{group}RETRY_BACKOFF", "0")
    monkeypatch.setenv(f"{group}RETRY_ATTEMPTS", str(attempts))
