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

This is the one transport of the library: GraphQL (``oso_core.transport.graphql``) and bulk downloads
(``oso_core.transport.download``) send through an ``HttpClient`` too, and retry with the same loop,
:meth:`RetryPolicy.run` (tenacity), through hooks for what differs: GraphQL shrinks the page before the next
attempt, a download resumes where the cut connection left it. Every client of a source in a process shares one
:class:`RateLimiter`; errors are the kinds of ``oso_core.errors``; secrets are masked by ``oso_core.base.masking``.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception

from oso_core.base.masking import DEFAULT_EXCERPT, mask_secrets, masked_excerpt
from oso_core.errors import OsoError, PayloadError, RateLimited, RequestError, Skipped, SourceError
from oso_core.transport.json_codec import loads

T = TypeVar("T")
StatusAction = Literal["skip", "ignore", "raise", "retry"]
STATUS_ACTIONS: tuple[str, ...] = ("skip", "ignore", "raise", "retry")
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# How long an idle pooled connection is kept. httpx's default (5 s) lies among ordinary gaps between one source's
# requests, and its pool (httpcore 1.0.9, encode/httpcore#1110) can close a connection that expires after being
# handed to one fan-out thread but before that thread starts on it: another thread's pass closes the socket under
# the request, which fails (EBADF) or waits for its read timeout. A stress of 8,000 requests on 16 threads with a
# 10 ms expiry hit it; with no expiry, never. 60 s is past the gaps between requests of a running load, and below
# the idle timeouts after which NAT gateways drop connections silently (AWS 350 s, GCP 1,200 s).
KEEPALIVE_EXPIRY_S = 60.0


class Retryable(OsoError):
    """An attempt that may succeed when repeated (a retryable status, a body cut short); ``response`` carries the
    server's wait hint when there is one."""

    def __init__(self, problem: str, response: httpx.Response | None = None):
        self.problem, self.response = problem, response
        super().__init__(problem)


class RetryableStatus(Retryable):
    def __init__(self, response: httpx.Response):
        super().__init__(f"HTTP {response.status_code}", response)


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
    backoff_multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"{type(self).__name__}.attempts must be at least 1")

    def backoff(self, attempt_number: int) -> float:
        """The wait after failed attempt ``attempt_number`` (1-based) when the server gives no hint."""
        base = min(self.backoff_initial * self.backoff_multiplier ** (attempt_number - 1), self.backoff_max)
        return base * (1 + random.uniform(0, self.jitter))

    def run(
        self,
        attempt: Callable[[], T],
        *,
        retryable: Callable[[BaseException], bool],
        wait_hint: Callable[[BaseException], float | None] = lambda exc: None,
        before_sleep: Callable[[BaseException, int, float], None] | None = None,
    ) -> T:
        """Call ``attempt`` until it returns, fails in a way ``retryable`` rejects, or the bounds are spent; then
        the last exception propagates.

        The hooks are what differs between callers: ``wait_hint(exc)`` is the wait the server asked for (else
        the backoff), ``before_sleep(exc, attempt_number, wait)`` runs before each wait (GraphQL shrinks its page
        there; HttpClient counts the retry).
        """

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            hinted = wait_hint(exc) if exc is not None else None
            return hinted if hinted is not None else self.backoff(state.attempt_number)

        def stop(state: RetryCallState) -> bool:
            return state.attempt_number >= self.attempts or state.idle_for + state.upcoming_sleep > self.total_wait

        def sleeping(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            if before_sleep is not None and exc is not None:
                before_sleep(exc, state.attempt_number, state.upcoming_sleep)

        retrying = Retrying(
            retry=retry_if_exception(retryable), stop=stop, wait=wait, before_sleep=sleeping, reraise=True
        )
        return retrying(attempt)


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

    _shared: ClassVar[dict[tuple[str, float], RateLimiter]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def for_source(cls, source: str, min_interval: float) -> RateLimiter:
        """The process-wide limiter of ``source`` at ``min_interval``: every client of a source (REST, GraphQL,
        downloads, one per fan-out worker or per host) draws from it, so the source's rate limit holds in total.
        """
        if not min_interval:
            return cls(0.0)
        with cls._shared_lock:
            return cls._shared.setdefault((source, min_interval), cls(min_interval))

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

    Thread-safe: fan-outs share one client (one connection pool) across their workers. Every client of a source
    shares the source's ``RateLimiter`` at ``min_interval`` unless given its own ``rate_limiter``.
    ``base_url`` may be empty for a client that is given absolute URLs (downloads).
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
        self.limiter = rate_limiter or RateLimiter.for_source(source, min_interval)
        self.mask = tuple(m for m in mask if m)
        self.stats = HttpStats()
        self._stats_lock = threading.Lock()
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=dict(headers or {}),
            timeout=timeout,
            follow_redirects=True,
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=KEEPALIVE_EXPIRY_S,
            ),
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

    def body_excerpt(self, response: httpx.Response, limit: int = DEFAULT_EXCERPT) -> str:
        """The start of a response body for an error: masked whole first, then cut (never the other way)."""
        return masked_excerpt(response.text, self.mask, limit)

    def error(self, endpoint: str, problem: str, kind: type[SourceError] = SourceError, **kw: Any) -> SourceError:
        """A ``kind`` of ``SourceError`` for ``endpoint``, endpoint and problem masked."""
        return kind(self.source, self.masked(endpoint), self.masked(problem), **kw)

    def _count(self, **increments: float) -> None:
        with self._stats_lock:
            for name, value in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)

    # Hooks for APIs with their own rules (GitHub) ----------------------------------------------------------

    def wait_hint(self, response: httpx.Response) -> float | None:
        """Seconds the server asks us to wait before retrying ``response`` (``Retry-After``); APIs with their
        own rate-limit headers (GitHub's ``x-ratelimit-reset``) override this."""
        return retry_after_seconds(response)

    def should_retry(self, response: httpx.Response) -> bool:
        """Whether a response outside the retryable statuses is still a retry (e.g. GitHub's rate-limit 403)."""
        return False

    # One attempt -------------------------------------------------------------------------------------------

    def _sending(self) -> None:
        self._count(throttle_wait_s=self.limiter.acquire(), requests=1)

    def _received(self, response: httpx.Response, retryable: frozenset[int]) -> None:
        with self._stats_lock:
            self.stats.statuses[response.status_code] = self.stats.statuses.get(response.status_code, 0) + 1
        if response.status_code in retryable or self.should_retry(response):
            raise RetryableStatus(response)

    def send(
        self, method: str, path: str, *, retryable: frozenset[int] = RETRYABLE_STATUS, **kwargs: Any
    ) -> httpx.Response:
        """One attempt, after the rate limiter: the response, or ``RetryableStatus`` for a status worth retrying."""
        self._sending()
        response = self._client.request(method, path, **kwargs)
        self._received(response, retryable)
        return response

    @contextmanager
    def stream(self, method: str, url: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """One streamed attempt (downloads), after the rate limiter; ``RetryableStatus`` as for :meth:`send`."""
        self._sending()
        with self._client.stream(method, url, **kwargs) as response:
            self._received(response, RETRYABLE_STATUS)
            yield response

    # Retrying ----------------------------------------------------------------------------------------------

    def retrying(
        self,
        attempt: Callable[[], T],
        *,
        retryable: Callable[[BaseException], bool] | None = None,
        wait_hint: Callable[[BaseException], float | None] | None = None,
        on_retry: Callable[[BaseException, int, float], None] | None = None,
    ) -> T:
        """``attempt`` under this client's retry policy, counting retries and their waits in ``stats``.

        By default a ``Retryable`` (status or cut body) or a connection error is retried after the server's
        ``wait_hint`` or the backoff; GraphQL passes its own predicate, hint and ``on_retry`` (page shrinking).
        """

        def counted(exc: BaseException, number: int, wait: float) -> None:
            self._count(retries=1, retry_wait_s=wait)
            if on_retry is not None:
                on_retry(exc, number, wait)

        return self.retry.run(
            attempt,
            retryable=retryable or (lambda exc: isinstance(exc, (Retryable, httpx.TransportError))),
            wait_hint=wait_hint or self._hinted_wait,
            before_sleep=counted,
        )

    def _hinted_wait(self, exc: BaseException) -> float | None:
        response = getattr(exc, "response", None)
        return self.wait_hint(response) if isinstance(response, httpx.Response) else None

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
            RequestError: the request failed (``RateLimited`` for a final 429), naming source, endpoint, status.
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
            return self.send(method, path, retryable=retryable, **kwargs)

        try:
            response = self.retrying(once)
        except RetryableStatus as exc:
            response = exc.response
            status = response.status_code
            if actions.get(status) in ("skip", "ignore"):
                raise Skipped(path, status) from None
            hinted = self.wait_hint(response)
            detail = f"HTTP {status} after {attempts} attempt(s)"
            if hinted is not None and hinted > self.retry.total_wait:
                detail += f"; Retry-After {hinted:g}s exceeds the {self.retry.total_wait:g}s wait budget"
            if status == 429:
                raise self.error(path, detail, RateLimited, wait=hinted) from None
            raise self.error(path, detail, RequestError, retryable=True, status=status) from None
        except httpx.TransportError as exc:
            raise self.error(path, f"{type(exc).__name__}: {exc}", RequestError, retryable=True) from None
        if response.is_success:
            return response
        if actions.get(response.status_code) in ("skip", "ignore"):
            raise Skipped(path, response.status_code)
        problem = f"HTTP {response.status_code}: {self.body_excerpt(response)}"
        raise self.error(path, problem, RequestError, retryable=False, status=response.status_code)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        response = self.request("GET", path, **kwargs)
        return self.decode_json(path, response)

    def post_json(self, path: str, json: Any, **kwargs: Any) -> Any:
        response = self.request("POST", path, json=json, **kwargs)
        return self.decode_json(path, response)

    def decode_json(self, path: str, response: httpx.Response) -> Any:
        """The JSON body of ``response``, or a ``PayloadError`` naming the endpoint if it is not JSON."""
        try:
            return loads(response.content)
        except ValueError as exc:
            raise self.error(path, f"malformed JSON ({exc})", PayloadError) from None


def min_interval_setting(source: str, default: float = 0.0) -> float:
    """The source's rate limit as seconds between requests: setting ``<source>.min_interval`` (env
    ``DAGSTER__<SOURCE>__MIN_INTERVAL``, typed and checked by ``oso_core.config.settings``), else ``default``."""
    from oso_core.config import settings

    value = settings.source(source).min_interval
    return default if value is None else value
