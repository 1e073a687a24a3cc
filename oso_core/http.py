"""HTTP extraction shared by every REST source: retries, ``Retry-After``, bounded waits, clear errors.

Built on httpx and tenacity. A source gets an ``HttpClient`` bound to its base URL (a setting, so replay
servers and production use the same code) and asks for JSON; what to do with odd statuses is declared per
call (``on_status={404: "skip"}``) rather than coded in loops.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_after_delay

StatusAction = Literal["skip", "raise"]
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class SourceError(Exception):
    """A source could not get or understand its data; names the source, the endpoint and what was wrong."""

    def __init__(self, source: str, endpoint: str, problem: str):
        self.source, self.endpoint, self.problem = source, endpoint, problem
        super().__init__(f"{source}: {endpoint}: {problem}")


class RetryableStatus(Exception):
    def __init__(self, response: httpx.Response):
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


class Skipped(Exception):
    """Raised for a status the caller declared as ``skip`` (e.g. defillama's 404 for a retired slug)."""

    def __init__(self, endpoint: str, status: int):
        self.endpoint, self.status = endpoint, status
        super().__init__(f"{endpoint}: HTTP {status} (skipped)")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying: attempts, exponential backoff with jitter, a cap per wait and in total."""

    attempts: int = 6
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    total_wait: float = 300.0
    jitter: float = 0.25


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds, whether given as a number or an HTTP date."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        if parsed is None:
            return None
        return max(0.0, (parsed - datetime.now(UTC)).total_seconds())


class HttpClient:
    """A per-source httpx client with retries; ``mask`` strings (keys in URLs) never reach errors or logs."""

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        min_interval: float = 0.0,
        mask: tuple[str, ...] = (),
    ):
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.min_interval = min_interval
        self.mask = tuple(m for m in mask if m)
        self._last_request = 0.0
        self._client = httpx.Client(
            base_url=self.base_url, headers=dict(headers or {}), timeout=timeout, follow_redirects=True
        )

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def masked(self, text: str) -> str:
        for secret in self.mask:
            text = text.replace(secret, "***")
        return text

    def error(self, endpoint: str, problem: str) -> SourceError:
        return SourceError(self.source, self.masked(endpoint), self.masked(problem))

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableStatus):
            hinted = retry_after_seconds(exc.response)
            if hinted is not None:
                return min(hinted, self.retry.backoff_max)
        base = min(self.retry.backoff_initial * 2 ** (state.attempt_number - 1), self.retry.backoff_max)
        return base * (1 + random.uniform(0, self.retry.jitter))

    def _throttle(self) -> None:
        if self.min_interval:
            delay = self._last_request + self.min_interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._last_request = time.monotonic()

    def request(
        self,
        method: str,
        path: str,
        *,
        on_status: Mapping[int, StatusAction] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with retries on connection errors, 429 and 5xx; other statuses follow ``on_status`` or raise."""
        actions = dict(on_status or {})

        def once() -> httpx.Response:
            self._throttle()
            response = self._client.request(method, path, **kwargs)
            if response.status_code in RETRYABLE_STATUS:
                raise RetryableStatus(response)
            return response

        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, (RetryableStatus, httpx.TransportError))),
            stop=stop_after_attempt(self.retry.attempts) | stop_after_delay(self.retry.total_wait),
            wait=self._wait,
            reraise=True,
        )
        try:
            response = retrying(once)
        except RetryableStatus as exc:
            response = exc.response
            if actions.get(response.status_code) == "skip":
                raise Skipped(path, response.status_code) from None
            raise self.error(path, f"HTTP {response.status_code} after {self.retry.attempts} attempts") from None
        except httpx.TransportError as exc:
            raise self.error(path, f"{type(exc).__name__}: {exc}") from None
        if response.is_success:
            return response
        if actions.get(response.status_code) == "skip":
            raise Skipped(path, response.status_code)
        raise self.error(path, f"HTTP {response.status_code}: {response.text[:200]}")

    def get_json(self, path: str, **kwargs: Any) -> Any:
        response = self.request("GET", path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise self.error(path, f"malformed JSON ({exc})") from None

    def post_json(self, path: str, json: Any, **kwargs: Any) -> Any:
        response = self.request("POST", path, json=json, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise self.error(path, f"malformed JSON ({exc})") from None
