"""GraphQL extraction shared by every GraphQL source: one request, page retries, and the three paginations.

OSO ran gql plus two retry loops (``utils.common.query_with_retry`` and ``factories.graphql``); both come down
to the same rules, kept here once:

* a page that fails with a server error, a transport error or a GraphQL ``errors`` array is retried with a
  smaller page (×``shrink``, never below ``min_page_size``): big pages are what time out on these APIs;
* a 429 waits long (``Retry-After`` when the server says, else ``rate_limit_wait``; OSO waits 65 s) and retries
  the same page without shrinking it;
* attempts are bounded; a page that keeps failing raises :class:`PageFailed`, which a windowed load records as
  a faulty window instead of failing the other windows;
* a response of the wrong shape (``data`` missing, the node list missing or not a list) is not retried: it
  raises :class:`MalformedResponse` naming the source, the endpoint and the field;
* secrets carried in the endpoint URL (The Graph puts its API key in the path) or headers are masked as
  ``***`` in every message this module produces.

The requests go through ``oso_core.transport.http.HttpClient`` (its rate limiter, statuses, masking) and the retries
through its one loop (``RetryPolicy.run``): :class:`PageRetry` is a ``RetryPolicy`` with the page rules, and shrinking
the page is the hook that runs before each retry. The errors are the kinds of ``oso_core.errors``.

Pagination styles (all yield pages, i.e. lists of node dicts, as dlt resources do):

* :func:`paginate_graphql_offset`: ``limit``/``offset`` (Open Collective) or ``take``/``skip`` (EAS, Giveth), stopping
  at ``totalCount`` when the API gives it, else at an empty or short page;
* :func:`paginate_graphql_keyset`: ``first`` + ``where: {id_gt: <last id>}`` with ``orderBy: id`` (The Graph), which
  does not shift when rows are added during the load.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from oso_core.base.masking import masked_excerpt
from oso_core.errors import GraphQLErrors, GraphQLRequestError, MalformedResponse, PageFailed, RateLimited
from oso_core.transport.http import HttpClient, RetryableStatus, RetryPolicy
from oso_core.transport.json_codec import loads

logger = logging.getLogger(__name__)

Node = dict[str, Any]
Page = list[Node]


@dataclass(frozen=True)
class PageRetry(RetryPolicy):
    """How hard to try one page: the shared retry bounds plus page shrinking and the long wait on 429.

    Defaults follow OSO's ``RetryConfig`` (10 attempts, 1→5 s ×1.5 with jitter, page size ×0.6) and its
    65 s rate-limit wait; tests pass ``rate_limit_wait=0`` and ``backoff_initial=0``. ``total_wait`` is large
    enough for every attempt to wait out a rate limit: the attempts are the bound that matters here.
    """

    attempts: int = 10
    backoff_initial: float = 1.0
    backoff_max: float = 5.0
    total_wait: float = 3600.0
    jitter: float = 0.1
    backoff_multiplier: float = 1.5
    shrink: float = 0.6
    min_page_size: int = 10
    rate_limit_wait: float = 65.0
    rate_limit_max_wait: float = 300.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.shrink < 1:
            raise ValueError("PageRetry.shrink must be between 0 and 1 (OSO uses 0.5-0.6)")
        if self.min_page_size < 1:
            raise ValueError("PageRetry.min_page_size must be at least 1")

    def smaller(self, size: int) -> int:
        """The next page size: ×shrink, never below the floor, and never larger than the page that failed."""
        return max(min(self.min_page_size, size), int(size * self.shrink))

    def rate_limited_wait(self, asked: float | None) -> float:
        """The wait after a 429: what the server asked (else ``rate_limit_wait``), at most ``rate_limit_max_wait``."""
        return min(max(asked if asked is not None else self.rate_limit_wait, 0.0), self.rate_limit_max_wait)


def dig(data: Any, dotted: str) -> Any:
    """``data["a"]["b"]`` for ``"a.b"``; raises ``KeyError(dotted)`` naming the first missing part."""
    value = data
    walked: list[str] = []
    for part in dotted.split("."):
        walked.append(part)
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(".".join(walked))
        value = value[part]
    return value


_OPERATION_NAME = re.compile(r"^\s*(?:query|mutation)\s+([_A-Za-z][_0-9A-Za-z]*)")


def request_body(query: str, variables: Mapping[str, Any] | None) -> dict[str, Any]:
    """The POST body; a named operation also goes as ``operationName``, as GraphQL clients send it."""
    body: dict[str, Any] = {"query": query, "variables": dict(variables or {})}
    named = _OPERATION_NAME.match(query)
    if named:
        body["operationName"] = named.group(1)
    return body


def split_endpoint(endpoint: str) -> tuple[str, str]:
    """``https://host/api/k/subgraphs/x`` → (``https://host``, ``/api/k/subgraphs/x``), so the path is posted as is."""
    url = httpx.URL(endpoint)
    base = f"{url.scheme}://{url.netloc.decode()}"
    path = url.raw_path.decode() or "/"
    return base, path


class GraphQLClient:
    """Posts GraphQL documents to one endpoint with retries; never lets ``mask`` values into a message.

    Args:
        source: source name, the first word of every error.
        endpoint: full GraphQL URL (may contain a key, e.g. The Graph's ``/api/<key>/subgraphs/id/<id>``).
        headers: extra headers (e.g. Open Collective's ``Personal-Token``).
        mask: secret strings to replace by ``***`` in logs and errors (keys, tokens).
        retry: per-page retry policy.
        min_interval: seconds between requests (OSO waits 1–2 s between pages on public APIs); the source's
            shared rate limiter.
    """

    def __init__(
        self,
        source: str,
        endpoint: str,
        *,
        headers: Mapping[str, str] | None = None,
        mask: tuple[str, ...] = (),
        retry: PageRetry | None = None,
        timeout: float = 120.0,
        min_interval: float = 0.0,
    ):
        self.source = source
        self.endpoint = endpoint
        self.retry = retry or PageRetry()
        base, self._path = split_endpoint(endpoint)
        self.http = HttpClient(
            source,
            base,
            headers={"Content-Type": "application/json", **dict(headers or {})},
            timeout=timeout,
            retry=self.retry,
            min_interval=min_interval,
            mask=mask,
        )
        self.mask = self.http.mask

    def __enter__(self) -> GraphQLClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    @property
    def requests(self) -> int:
        return self.http.stats.requests

    @property
    def min_interval(self) -> float:
        return self.http.min_interval

    def masked(self, text: str) -> str:
        return self.http.masked(text)

    @property
    def masked_endpoint(self) -> str:
        return self.masked(self.endpoint)

    def malformed(self, problem: str) -> MalformedResponse:
        """A response not shaped like the API's (not retried); ``problem`` must not quote secrets unmasked."""
        return MalformedResponse(self.source, self.masked_endpoint, problem)

    def _error(self, problem: str, **kwargs: Any) -> GraphQLRequestError:
        return GraphQLRequestError(self.source, self.masked_endpoint, self.masked(problem), **kwargs)

    def execute(self, query: str, variables: Mapping[str, Any] | None = None, *, operation: str = "query") -> Any:
        """One attempt: POST ``{query, variables}``, return ``data``; raise a typed, masked error otherwise."""
        try:
            response = self.http.send("POST", self._path, json=request_body(query, variables))
        except RetryableStatus as exc:
            status = exc.response.status_code
            if status == 429:
                raise RateLimited(self.source, self.masked_endpoint, wait=self.http.wait_hint(exc.response)) from None
            raise self._error(f"{operation}: HTTP {status}", retryable=True, status=status) from None
        except httpx.TransportError as exc:
            raise self._error(f"{operation}: {type(exc).__name__}: {exc}", retryable=True) from None
        try:
            payload = loads(response.content)
        except ValueError:
            if not response.is_success:
                raise self._error(
                    f"{operation}: HTTP {response.status_code}: {self.http.body_excerpt(response)}",
                    retryable=False,
                    status=response.status_code,
                ) from None
            raise self._error(
                f"{operation}: response is not JSON: {self.http.body_excerpt(response, 120)!r}", retryable=True
            ) from None
        errors = payload.get("errors") if isinstance(payload, dict) else None
        if errors:
            messages = [self.masked(str(e.get("message", e)) if isinstance(e, dict) else str(e)) for e in errors]
            # 200 with errors: execution failed (timeouts, "too complex", indexer errors): a smaller page may pass.
            # 4xx with errors: the query or the key is wrong (validation, auth): no retry fixes that.
            raise GraphQLErrors(
                self.source,
                self.masked_endpoint,
                operation,
                messages,
                retryable=response.is_success,
                status=response.status_code,
            )
        if not response.is_success:
            raise self._error(
                f"{operation}: HTTP {response.status_code}: {self.http.body_excerpt(response)}",
                retryable=False,
                status=response.status_code,
            )
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
            raise self.malformed(f"{operation}: response has no 'data' object")
        return payload["data"]

    def query(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        operation: str = "query",
        page_size: int | None = None,
        size_variable: str | None = None,
    ) -> tuple[Any, int | None]:
        """Execute with the page retry policy; returns ``(data, page size that worked)``.

        When ``page_size``/``size_variable`` are given, each failed attempt (other than a 429) retries with a
        smaller page; the size that finally worked is returned so paging continues with it.
        """
        policy = self.retry
        size = page_size
        attempts = 0

        def attempt() -> tuple[Any, int | None]:
            nonlocal attempts
            attempts += 1
            sent = dict(variables or {})
            if size_variable is not None and size is not None:
                sent[size_variable] = size
            return self.execute(query, sent, operation=operation), size

        def shrink_page(exc: BaseException, number: int, wait: float) -> None:
            nonlocal size
            if isinstance(exc, RateLimited):  # the page size is not the problem: wait, then ask the same
                logger.warning("%s: %s: rate limited; waiting %.0fs (attempt %d)", self.source, operation, wait, number)
                return
            if size is not None:
                size = policy.smaller(size)
            problem = exc.problem if isinstance(exc, GraphQLRequestError) else str(exc)
            shown = f" with page size {size}" if size is not None else ""
            logger.warning(
                "%s: %s failed (%s); retry %d/%d in %.1fs%s",
                self.source,
                operation,
                problem,
                number,
                policy.attempts,
                wait,
                shown,
            )

        try:
            return self.http.retrying(
                attempt,
                retryable=lambda exc: isinstance(exc, GraphQLRequestError) and exc.retryable,
                wait_hint=lambda exc: policy.rate_limited_wait(exc.wait) if isinstance(exc, RateLimited) else None,
                on_retry=shrink_page,
            )
        except GraphQLRequestError as exc:
            if not exc.retryable:
                raise
            tried = {k: v for k, v in (variables or {}).items() if not isinstance(v, (dict, list))}
            if size_variable is not None:
                tried[size_variable] = size
            problem = f"{operation} {tried} failed after {attempts} attempts: {exc.problem}"
            raise PageFailed(self.source, self.masked_endpoint, problem, tried) from None


# Paginations -------------------------------------------------------------------------------------------------


def _field(client: GraphQLClient, data: Any, path: str, operation: str) -> Any:
    try:
        return dig(data, path)
    except KeyError as exc:
        raise client.malformed(f"{operation}: response has no field data.{exc.args[0]}") from None


def _nodes(client: GraphQLClient, data: Any, path: str, operation: str) -> Page:
    nodes = _field(client, data, path, operation)
    if not isinstance(nodes, list) or not all(isinstance(n, dict) for n in nodes):
        raise client.malformed(f"{operation}: data.{path} is not a list of objects")
    return nodes


def _count(client: GraphQLClient, data: Any, path: str, operation: str) -> int:
    value = _field(client, data, path, operation)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise client.malformed(
            f"{operation}: data.{path} is not a count: {masked_excerpt(repr(value), client.mask, 120)}"
        )
    return value


def fetch_count(
    client: GraphQLClient, query: str, variables: Mapping[str, Any], *, count_path: str, operation: str = "count"
) -> int:
    """A count query (``transactions{totalCount}``, ``aggregateAttestation{_count{_all}}``) with retries."""
    data, _ = client.query(query, variables, operation=operation)
    return _count(client, data, count_path, operation)


def paginate_graphql_offset(
    client: GraphQLClient,
    query: str,
    variables: Mapping[str, Any],
    *,
    nodes_path: str,
    page_size: int,
    total_path: str | None = None,
    total: int | None = None,
    offset_variable: str = "offset",
    limit_variable: str = "limit",
    operation: str = "query",
) -> Iterator[Page]:
    """Offset/limit (or skip/take) pages until the known total, an empty page, or a short page.

    ``total`` (from a separate count query) or ``total_path`` (``totalCount`` in each page) make the stop exact
    even when the server caps the page below what was asked; without either a short page ends the load.
    """
    offset, size = 0, page_size
    while True:
        data, size = client.query(
            query,
            {**variables, offset_variable: offset},
            operation=f"{operation} {offset_variable}={offset}",
            page_size=size,
            size_variable=limit_variable,
        )
        nodes = _nodes(client, data, nodes_path, operation)
        if total_path is not None:
            total = _count(client, data, total_path, operation)
        if nodes:
            yield nodes
        offset += len(nodes)
        if not nodes or (total is not None and offset >= total):
            return
        if total is None and len(nodes) < (size or 0):
            return


def paginate_graphql_keyset(
    client: GraphQLClient,
    query: str,
    variables: Mapping[str, Any],
    *,
    nodes_path: str,
    page_size: int,
    key: str = "id",
    start_after: str = "",
    first_variable: str = "first",
    where_variable: str = "where",
    gt_filter: str | None = None,
    operation: str = "query",
    on_page: Callable[[str], None] | None = None,
) -> Iterator[Page]:
    """Keyset pages: ``first`` rows with ``key > last`` in ``key`` order, until an empty or short page.

    The query must order by ``key`` ascending (``orderBy: id, orderDirection: asc``) and take
    ``$where`` with ``<key>_gt``; ``on_page(last_key)`` lets a caller checkpoint.
    """
    gt_filter = gt_filter or f"{key}_gt"
    last = start_after
    size = page_size
    base_where = dict(variables.get(where_variable) or {})
    while True:
        data, size = client.query(
            query,
            {**variables, where_variable: {**base_where, gt_filter: last}},
            operation=f"{operation} {gt_filter}={last!r}",
            page_size=size,
            size_variable=first_variable,
        )
        nodes = _nodes(client, data, nodes_path, operation)
        if not nodes:
            return
        keys = [n.get(key) for n in nodes]
        if any(k is None for k in keys):
            raise client.malformed(f"{operation}: a node has no {key!r}")
        newest = max(keys)
        if newest <= last:
            raise client.malformed(
                f"{operation}: keyset did not advance past {last!r} (is the query ordered by {key}?)"
            )
        yield nodes
        last = newest
        if on_page is not None:
            on_page(last)
        if len(nodes) < (size or 0):
            return


# Settings ----------------------------------------------------------------------------------------------------


def configured_retry(
    source: str, default: PageRetry | None = None, page_interval: float = 0.0
) -> tuple[PageRetry, float]:
    """The page retry policy and the pause between pages, with per-deployment overrides as settings.

    ``(source, rate_limit_wait)``, ``(source, retry_attempts)``, ``(source, retry_backoff)`` and
    ``(source, page_interval)`` (env ``DAGSTER__<SOURCE>__RATE_LIMIT_WAIT`` …): production keeps OSO's long
    waits, tests and replays set them to 0.
    """
    from oso_core.config import settings

    configured = settings.source(source)
    changes = {
        attribute: value
        for attribute, value in (
            ("rate_limit_wait", configured.rate_limit_wait),
            ("attempts", configured.retry_attempts),
            ("backoff_initial", configured.retry_backoff),
        )
        if value is not None
    }
    pause = configured.page_interval
    return dataclasses.replace(default or PageRetry(), **changes), pause if pause is not None else page_interval
