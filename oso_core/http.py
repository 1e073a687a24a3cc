"""HTTP extraction shared by every REST source: retries, ``Retry-After``, bounded waits, rate limits, clear errors.

Built on httpx and tenacity. A source gets an ``HttpClient`` bound to its base URL (a setting, so replay
servers and production use the same code) and asks for JSON; what to do with odd statuses is declared per
call (``on_status={404: "skip"}``) rather than coded in loops, like dlt's ``response_actions``:

* ``"raise"`` (the default for any non-2xx status): fail with a ``SourceError`` naming source and endpoint;
* ``"skip"`` / ``"ignore"``: give up on this one request by raising ``Skipped``, which fan-outs record as a
  skipped item. On a retryable status (429, 5xx) that happens only *after* the retries are spent, which is
  what OSO's l2beat does for 429 ("ignore after retries"); defillama skips a retired slug's 404 at once;
* ``"retry"``: treat a status that is normally final (e.g. a 403 rate-limit answer) as retryable.

Every wait is bounded: attempts, the exponential backoff (with jitter) per wait, and the total time spent
waiting for one request, including what ``Retry-After`` asks for. A server asking for more than the remaining
budget makes the request fail at once rather than stall a run for an hour.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from oso_core.masking import mask_secrets, masked_excerpt

StatusAction = Literal["skip", "ignore", "raise", "retry"]
STATUS_ACTIONS: tuple[str, ...] = ("skip", "ignore", "raise", "retry")
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class SourceError(Exception):
    """A source could not get or understand its data; names the source, the endpoint and what was wrong."""

    def __init__(self, source: str, endpoint: str, problem: str):
        self.source, self.endpoint, self.problem = source, endpoint, problem
        super().__init__(f"{source}: {endpoint}: {problem}")

    def __reduce__(self) -> tuple:
        # Prefect pickles a failed run's exception; keyword-only subclasses cannot be rebuilt from ``args``.
        return (_restore_error, (type(self), self.args, self.__dict__))


def _restore_error(cls: type[Exception], args: tuple, state: dict) -> Exception:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class RetryableStatus(Exception):
    def __init__(self, response: httpx.Response):
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


class Skipped(Exception):
    """Raised for a status the caller declared as ``skip``/``ignore`` (e.g. defillama's 404 for a retired slug)."""

    def __init__(self, endpoint: str, status: int):
        self.endpoint, self.status = endpoint, status
        super().__init__(f"{endpoint}: HTTP {status} (skipped)")

    def __reduce__(self) -> tuple:
        return (Skipped, (self.endpoint, self.status))


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying: attempts, exponential backoff with jitter, a cap per wait and on the total wait.

    ``total_wait`` bounds the seconds slept between attempts of one request (backoff and ``Retry-After``
    alike); a wait that would exceed it ends the retries.
    """

    attempts: int = 6
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    total_wait: float = 300.0
    jitter: float = 0.25

    def backoff(self, attempt_number: int) -> float:
        """The wait after failed attempt ``attempt_number`` (1-based) when the server gives no hint."""
        base = min(self.backoff_initial * 2 ** (attempt_number - 1), self.backoff_max)
        return base * (1 + random.uniform(0, self.jitter))


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds, whether given as a number or an HTTP date."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if parsed is None:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return max(0.0, (parsed - datetime.now(UTC)).total_seconds())


class RateLimiter:
    """At most one request start per ``min_interval`` seconds, across every thread sharing the limiter.

    OSO's l2beat sleeps five seconds after each chart; a limiter shared by a fan-out's workers keeps that
    politeness while the waiting overlaps with other requests' transfer time.
    """

    def __init__(self, min_interval: float = 0.0):
        if min_interval < 0:
            raise ValueError("min_interval must be >= 0")
        self.min_interval = min_interval
        self._next_start = 0.0
        self._lock = threading.Lock()

    @classmethod
    def per_second(cls, requests_per_second: float) -> RateLimiter:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be > 0")
        return cls(1.0 / requests_per_second)

    def acquire(self) -> float:
        """Block until the next request may start; returns the seconds waited."""
        if not self.min_interval:
            return 0.0
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self.min_interval
        delay = start - now
        if delay > 0:
            time.sleep(delay)
        return max(delay, 0.0)


@dataclass
class HttpStats:
    """What a client did: requests sent, retries, seconds slept for retries and for the rate limit."""

    requests: int = 0
    retries: int = 0
    retry_wait_s: float = 0.0
    throttle_wait_s: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)


class HttpClient:
    """A per-source httpx client with retries; ``mask`` strings (keys in URLs) never reach errors or logs.

    Thread-safe: fan-outs share one client (one connection pool, one rate limiter) across their workers.
    ``rate_limiter`` may be shared between clients of one source; otherwise ``min_interval`` makes one.
    """

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
        rate_limiter: RateLimiter | None = None,
        max_connections: int = 16,
    ):
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.limiter = rate_limiter or RateLimiter(min_interval)
        self.mask = tuple(m for m in mask if m)
        self.stats = HttpStats()
        self._stats_lock = threading.Lock()
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=dict(headers or {}),
            timeout=timeout,
            follow_redirects=True,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    @property
    def min_interval(self) -> float:
        return self.limiter.min_interval

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def masked(self, text: str) -> str:
        return mask_secrets(text, self.mask)

    def body_excerpt(self, response: httpx.Response) -> str:
        """The start of a response body for an error: masked whole first, then cut (never the other way)."""
        return masked_excerpt(response.text, self.mask)

    def error(self, endpoint: str, problem: str) -> SourceError:
        return SourceError(self.source, self.masked(endpoint), self.masked(problem))

    def _count(self, **increments: float) -> None:
        with self._stats_lock:
            for name, value in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)

    def wait_hint(self, response: httpx.Response) -> float | None:
        """Seconds the server asks us to wait before retrying ``response`` (``Retry-After``); APIs with their
        own rate-limit headers (GitHub's ``x-ratelimit-reset``) override this."""
        return retry_after_seconds(response)

    def should_retry(self, response: httpx.Response) -> bool:
        """Whether a response outside the retryable statuses is still a retry (e.g. GitHub's rate-limit 403)."""
        return False

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableStatus):
            hinted = self.wait_hint(exc.response)
            if hinted is not None:
                return hinted
        return self.retry.backoff(state.attempt_number)

    def _stop(self, state: RetryCallState) -> bool:
        """Stop when attempts are spent or the next wait would overrun the total wait budget."""
        if stop_after_attempt(self.retry.attempts)(state):
            return True
        return state.idle_for + state.upcoming_sleep > self.retry.total_wait

    def _before_sleep(self, state: RetryCallState) -> None:
        self._count(retries=1, retry_wait_s=state.upcoming_sleep)

    def request(
        self,
        method: str,
        path: str,
        *,
        on_status: Mapping[int, StatusAction] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with retries on connection errors, 429 and 5xx; other statuses follow ``on_status`` or raise.

        Raises:
            Skipped: the final status was declared ``skip``/``ignore``.
            SourceError: any other failure, naming the source, the endpoint and the status or error.
        """
        actions = dict(on_status or {})
        unknown = {a for a in actions.values() if a not in STATUS_ACTIONS}
        if unknown:
            raise ValueError(f"unknown status action(s) {sorted(unknown)}; one of {STATUS_ACTIONS}")
        retryable = RETRYABLE_STATUS | {status for status, action in actions.items() if action == "retry"}

        attempts = 0

        def once() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            self._count(throttle_wait_s=self.limiter.acquire(), requests=1)
            response = self._client.request(method, path, **kwargs)
            with self._stats_lock:
                self.stats.statuses[response.status_code] = self.stats.statuses.get(response.status_code, 0) + 1
            if response.status_code in retryable or self.should_retry(response):
                raise RetryableStatus(response)
            return response

        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, (RetryableStatus, httpx.TransportError))),
            stop=self._stop,
            wait=self._wait,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            response = retrying(once)
        except RetryableStatus as exc:
            response = exc.response
            status = response.status_code
            if actions.get(status) in ("skip", "ignore"):
                raise Skipped(path, status) from None
            hinted = self.wait_hint(response)
            detail = f"HTTP {status} after {attempts} attempt(s)"
            if hinted is not None and hinted > self.retry.total_wait:
                detail += f"; Retry-After {hinted:g}s exceeds the {self.retry.total_wait:g}s wait budget"
            raise self.error(path, detail) from None
        except httpx.TransportError as exc:
            raise self.error(path, f"{type(exc).__name__}: {exc}") from None
        if response.is_success:
            return response
        if actions.get(response.status_code) in ("skip", "ignore"):
            raise Skipped(path, response.status_code)
        raise self.error(path, f"HTTP {response.status_code}: {self.body_excerpt(response)}")

    def get_json(self, path: str, **kwargs: Any) -> Any:
        response = self.request("GET", path, **kwargs)
        return self.decode_json(path, response)

    def post_json(self, path: str, json: Any, **kwargs: Any) -> Any:
        response = self.request("POST", path, json=json, **kwargs)
        return self.decode_json(path, response)

    def decode_json(self, path: str, response: httpx.Response) -> Any:
        """The JSON body of ``response``, or a ``SourceError`` naming the endpoint if it is not JSON."""
        try:
            return response.json()
        except ValueError as exc:
            raise self.error(path, f"malformed JSON ({exc})") from None


def min_interval_setting(source: str, default: float = 0.0) -> float:
    """The source's rate limit as seconds between requests: setting ``<source>.min_interval`` (env
    ``DAGSTER__<SOURCE>__MIN_INTERVAL``), else ``default``."""
    from oso_core.secrets import resolve_setting

    raw = resolve_setting(source, "min_interval", None)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"setting {source}.min_interval must be a number of seconds, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"setting {source}.min_interval must be >= 0, got {value}")
    return value
