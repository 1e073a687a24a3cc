"""Pagination of REST list endpoints: page number, offset/limit and next-link, yielding whole pages.

Each paginator is a generator of pages (lists of records), like a dlt resource yields pages, so a caller can
stream pages into a frame builder or stop early. Where the records sit in a payload is a dotted path
(``"data.items"``; ``"$"`` for a payload that is itself the list) or a function. Every paginator ends on an
empty page, on a page shorter than the page size, on a declared total, or at ``max_pages``; a next-link that
points back at a page already read is an error rather than an endless loop.

How a response becomes a page is the paginator's ``read`` (a :data:`PageReader`): by default ``json.loads`` and
the records at ``records``; ``oso_core.transport.json_frames.FrameDecoder.read`` decodes the bytes natively into a typed
frame instead (the REST engine's path), handing the paginator only the parts of the payload it reads (the total,
the next link) in a :class:`Page`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from oso_core.errors import PayloadError
from oso_core.transport.http import HttpClient, StatusAction

T = TypeVar("T")

RecordsSelector = str | Callable[[Any], Any]
NextLink = Callable[[httpx.Response, Any], str | None]


@dataclass(frozen=True)
class Page:
    """One page as a paginator reads it: its ``records`` (a list, or a frame), their ``count``, and the ``payload``
    the total and the next link are read from (the whole payload, or a stand-in holding just those paths)."""

    records: Any
    count: int
    payload: Any


PageReader = Callable[[HttpClient, str, httpx.Response, int], Page]
"""``read(http, endpoint, response, start)``: one response as a :class:`Page`; ``start`` is the number of records
of the pages before it (errors number records from it), ``endpoint`` what errors name."""


def records_reader(records: RecordsSelector) -> PageReader:
    """The default reader: the JSON payload (``http.decode_json``) and its records at ``records``."""

    def read(http: HttpClient, endpoint: str, response: httpx.Response, start: int) -> Page:
        payload = http.decode_json(endpoint, response)
        page = page_records(http, endpoint, payload, records)
        return Page(page, len(page), payload)

    return read


def select(payload: Any, path: str) -> Any:
    """The value at dotted ``path`` in ``payload`` (``"$"`` or ``""`` is the payload itself); ``KeyError`` if absent."""
    if path in ("$", ""):
        return payload
    value = payload
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise KeyError(path)
    return value


def page_records(http: HttpClient, endpoint: str, payload: Any, records: RecordsSelector) -> list[Any]:
    """The records of one page's payload, as ``records`` selects them; a payload without them is an error naming
    the endpoint (``http.error``)."""
    if callable(records):
        page = records(payload)
        where = getattr(records, "__name__", "records")
    else:
        where = records
        try:
            page = select(payload, records)
        except KeyError:
            raise http.error(endpoint, f"field {records!r} is missing from the response", PayloadError) from None
    if page is None:
        return []
    if not isinstance(page, list):
        problem = f"field {where!r} should be a list of records, got {type(page).__name__}"
        raise http.error(endpoint, problem, PayloadError)
    return page


def paginate_offset(
    http: HttpClient,
    path: str,
    *,
    limit: int,
    records: RecordsSelector = "$",
    offset_param: str = "offset",
    limit_param: str = "limit",
    start: int = 0,
    total: str | Callable[[Any], int | None] | None = None,
    params: Mapping[str, Any] | None = None,
    max_pages: int | None = None,
    on_status: Mapping[int, StatusAction] | None = None,
    parallel: int = 1,
    read: PageReader | None = None,
) -> Iterator[Any]:
    """Pages of ``GET path?offset=N&limit=L`` until a short or empty page, the ``total`` count, or ``max_pages``.

    With a ``total`` and ``parallel`` > 1, up to ``parallel`` pages are fetched at once (see ``offset_pages``),
    each read (``read``, default: the records at ``records``) in its fetching thread."""
    reader = read or records_reader(records)

    def fetch(offset: int) -> tuple[Page, int, int | None]:
        query = {**(params or {}), offset_param: offset, limit_param: limit}
        response = http.request("GET", path, params=query, on_status=on_status)
        page = reader(http, path, response, offset - start)
        return page, page.count, payload_total(http, path, page.payload, total)

    for page, _ in offset_pages(fetch, limit=limit, start=start, max_pages=max_pages, parallel=parallel):
        if page.count:
            yield page.records


DEFAULT_PARALLEL = 4
"""Offset pages fetched at once by the REST engine unless the source's ``parallel_pages`` setting says."""


def parallel_pages_setting(source: str, default: int = DEFAULT_PARALLEL) -> int:
    """The source's ``parallel_pages`` setting (env ``DAGSTER__<SOURCE>__PARALLEL_PAGES``), else ``default``."""
    from oso_core.config import settings

    value = settings.source(source).parallel_pages
    return default if value is None else value


def offset_pages(
    fetch: Callable[[int], tuple[T, int, int | None]],
    *,
    limit: int,
    start: int = 0,
    max_pages: int | None = None,
    parallel: int = 1,
) -> Iterator[tuple[T, int]]:
    """``(page, offset)`` for ``fetch(offset)`` → ``(page, record count, total or None)`` at ``start``,
    ``start + limit``, … until a short or empty page, the total, or ``max_pages``: the end rule of every offset
    paginator here.

    Sequential until a page states the total; then, with ``parallel`` > 1, a bounded thread pool fetches the next
    pages ahead (each through the shared client, so its retries, ``Retry-After`` and rate limit apply per request
    as before) and they are yielded in page order. A page's error is raised when its turn comes (the pages before
    it are yielded first); requests sent ahead past an end found meanwhile are cancelled or discarded.
    """
    if parallel < 1:
        raise ValueError("parallel must be at least 1")
    offset, pages = start, 0
    known_total: int | None = None
    while max_pages is None or pages < max_pages:
        if parallel > 1 and known_total is not None:
            yield from _offset_pages_ahead(fetch, limit, offset, pages, known_total, max_pages, parallel)
            return
        page, count, known_total = fetch(offset)
        pages += 1
        yield page, offset
        offset += count
        if count < limit or (known_total is not None and offset >= known_total):
            return


def _offset_pages_ahead(
    fetch: Callable[[int], tuple[T, int, int | None]],
    limit: int,
    offset: int,
    pages: int,
    total: int,
    max_pages: int | None,
    parallel: int,
) -> Iterator[tuple[T, int]]:
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    ahead = 2 * parallel
    pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="offset-pages")
    pending: deque[tuple[Future, int]] = deque()
    next_offset, scheduled = offset, pages
    known_total: int | None = total
    try:
        while True:
            # a page without a total leaves the end to a short page, as in the sequential loop
            while (
                len(pending) < ahead
                and (known_total is None or next_offset < known_total)
                and (max_pages is None or scheduled < max_pages)
            ):
                pending.append((pool.submit(fetch, next_offset), next_offset))
                next_offset += limit
                scheduled += 1
            if not pending:
                return
            future, page_offset = pending.popleft()
            page, count, known_total = future.result()
            yield page, page_offset
            if count < limit or (known_total is not None and page_offset + count >= known_total):
                return
    finally:
        for future, _ in pending:
            future.cancel()
        pool.shutdown(wait=True)


def paginate_pages(
    http: HttpClient,
    path: str,
    *,
    records: RecordsSelector = "$",
    page_param: str = "page",
    first_page: int = 1,
    size: int | None = None,
    size_param: str | None = None,
    total_pages: str | Callable[[Any], int | None] | None = None,
    params: Mapping[str, Any] | None = None,
    max_pages: int | None = None,
    on_status: Mapping[int, StatusAction] | None = None,
    read: PageReader | None = None,
) -> Iterator[Any]:
    """Pages of ``GET path?page=N`` until an empty page, a page shorter than ``size``, or ``total_pages``."""
    reader = read or records_reader(records)
    number, pages, seen = first_page, 0, 0
    while max_pages is None or pages < max_pages:
        query = {**(params or {}), page_param: number}
        if size is not None and size_param:
            query[size_param] = size
        response = http.request("GET", path, params=query, on_status=on_status)
        page = reader(http, path, response, seen)
        pages += 1
        if not page.count:
            return
        seen += page.count
        yield page.records
        known_pages = payload_total(http, path, page.payload, total_pages)
        if (size is not None and page.count < size) or (known_pages is not None and pages >= known_pages):
            return
        number += 1


def link_header_next(response: httpx.Response, payload: Any) -> str | None:
    """The ``rel="next"`` URL of an RFC 8288 ``Link`` header (GitHub, GitLab and most REST APIs)."""
    return response.links.get("next", {}).get("url")


def json_next(path: str) -> NextLink:
    """A next-link read from the payload at dotted ``path`` (``"next"``, ``"links.next"``, ``"paging.next"``)."""

    def next_from_payload(response: httpx.Response, payload: Any) -> str | None:
        try:
            value = select(payload, path)
        except KeyError:
            return None
        return value or None

    next_from_payload.__name__ = f"json_next({path})"
    return next_from_payload


def paginate_next_link(
    http: HttpClient,
    path: str,
    *,
    records: RecordsSelector = "$",
    next_link: NextLink = link_header_next,
    params: Mapping[str, Any] | None = None,
    max_pages: int | None = None,
    on_status: Mapping[int, StatusAction] | None = None,
    read: PageReader | None = None,
) -> Iterator[Any]:
    """Pages following each response's next link (absolute or relative to the base URL) until there is none."""
    reader = read or records_reader(records)
    url: str | None = path
    query: Mapping[str, Any] | None = params
    seen: set[str] = set()
    pages = records_seen = 0
    while url and (max_pages is None or pages < max_pages):
        response = http.request("GET", url, params=query, on_status=on_status)
        page = reader(http, url, response, records_seen)
        pages += 1
        records_seen += page.count
        seen.add(str(response.request.url))
        if page.count:
            yield page.records
        url, query = next_link(response, page.payload), None  # a next link carries its own query
        if url and str(response.request.url.join(url)) in seen:
            raise http.error(path, f"next link {url} points back at a page already read", PayloadError)


def payload_total(
    http: HttpClient, endpoint: str, payload: Any, total: str | Callable[[Any], int | None] | None
) -> int | None:
    """The record (or page) count a payload declares at ``total``; ``None`` without a ``total`` or when it is null."""
    if total is None:
        return None
    if callable(total):
        return total(payload)
    try:
        value = select(payload, total)
    except KeyError:
        raise http.error(endpoint, f"field {total!r} is missing from the response", PayloadError) from None
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise http.error(endpoint, f"field {total!r} should be an integer, got {value!r}", PayloadError)
    return value
