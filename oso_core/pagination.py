"""Pagination of REST list endpoints: page number, offset/limit and next-link, yielding whole pages.

Each paginator is a generator of pages (lists of records), like a dlt resource yields pages, so a caller can
stream pages into a frame builder or stop early. Where the records sit in a payload is a dotted path
(``"data.items"``; ``"$"`` for a payload that is itself the list) or a function. Every paginator ends on an
empty page, on a page shorter than the page size, on a declared total, or at ``max_pages``; a next-link that
points back at a page already read is an error rather than an endless loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from oso_core.errors import PayloadError
from oso_core.http import HttpClient, StatusAction

if TYPE_CHECKING:
    import polars as pl

    from oso_core.records import Where

T = TypeVar("T")

RecordsSelector = str | Callable[[Any], Any]
NextLink = Callable[[httpx.Response, Any], str | None]


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
) -> Iterator[list[Any]]:
    """Pages of ``GET path?offset=N&limit=L`` until a short or empty page, the ``total`` count, or ``max_pages``.

    With a ``total`` and ``parallel`` > 1, up to ``parallel`` pages are fetched at once (see ``offset_pages``)."""

    def fetch(offset: int) -> tuple[list[Any], int, int | None]:
        query = {**(params or {}), offset_param: offset, limit_param: limit}
        payload = http.get_json(path, params=query, on_status=on_status)
        page = page_records(http, path, payload, records)
        return page, len(page), payload_total(http, path, payload, total)

    for page, _ in offset_pages(fetch, limit=limit, start=start, max_pages=max_pages, parallel=parallel):
        if page:
            yield page


def paginate_offset_frames(
    http: HttpClient,
    path: str,
    *,
    limit: int,
    schema: Mapping[str, pl.DataType],
    where: Where | None = None,
    records: str = "$",
    total: str | None = None,
    required: Iterable[str] = (),
    record_id: str | Callable[[Mapping[str, Any]], object] | None = None,
    offset_param: str = "offset",
    limit_param: str = "limit",
    start: int = 0,
    params: Mapping[str, Any] | None = None,
    max_pages: int | None = None,
    on_status: Mapping[int, StatusAction] | None = None,
    parallel: int | None = None,
) -> Iterator[pl.DataFrame]:
    """``paginate_offset`` whose pages arrive as typed frames of ``schema``, decoded from the raw bytes in native
    code (``oso_core.json_frames``) in the fetching threads, as ``records_to_frame`` would build them (and with its
    errors, numbered by record offset, when a page is bad).

    ``parallel`` pages are fetched and decoded at once when ``total`` is known (default: the source's
    ``parallel_pages`` setting, else ``DEFAULT_PARALLEL``); frames come in page order and at most about twice
    ``parallel`` pages are held, so memory is bounded by the page size whatever the endpoint holds.
    """
    from oso_core.json_frames import FrameDecoder
    from oso_core.records import Where

    decoder = FrameDecoder(
        schema,
        where or Where(http.source, path),
        records=records,
        total=total,
        required=tuple(required),
        record_id=record_id,
    )
    if parallel is None:
        parallel = parallel_pages_setting(http.source)

    def fetch(offset: int) -> tuple[pl.DataFrame, int, int | None]:
        query = {**(params or {}), offset_param: offset, limit_param: limit}
        response = http.request("GET", path, params=query, on_status=on_status)
        page = decoder.decode(response.content, start=offset, http=http)
        return page.frame, page.frame.height, page.total

    for frame, _ in offset_pages(fetch, limit=limit, start=start, max_pages=max_pages, parallel=parallel):
        if frame.height:
            yield frame


DEFAULT_PARALLEL = 4
"""Offset pages fetched at once by ``paginate_offset_frames`` unless the call or the source's setting says."""


def parallel_pages_setting(source: str, default: int = DEFAULT_PARALLEL) -> int:
    """The source's ``parallel_pages`` setting (env ``DAGSTER__<SOURCE>__PARALLEL_PAGES``), else ``default``."""
    from oso_core import settings

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
) -> Iterator[list[Any]]:
    """Pages of ``GET path?page=N`` until an empty page, a page shorter than ``size``, or ``total_pages``."""
    number, pages = first_page, 0
    while max_pages is None or pages < max_pages:
        query = {**(params or {}), page_param: number}
        if size is not None and size_param:
            query[size_param] = size
        payload = http.get_json(path, params=query, on_status=on_status)
        page = page_records(http, path, payload, records)
        pages += 1
        if not page:
            return
        yield page
        known_pages = payload_total(http, path, payload, total_pages)
        if (size is not None and len(page) < size) or (known_pages is not None and pages >= known_pages):
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
) -> Iterator[list[Any]]:
    """Pages following each response's next link (absolute or relative to the base URL) until there is none."""
    url: str | None = path
    query: Mapping[str, Any] | None = params
    seen: set[str] = set()
    pages = 0
    while url and (max_pages is None or pages < max_pages):
        response = http.request("GET", url, params=query, on_status=on_status)
        payload = http.decode_json(url, response)
        page = page_records(http, url, payload, records)
        pages += 1
        seen.add(str(response.request.url))
        if page:
            yield page
        url, query = next_link(response, payload), None  # a next link carries its own query
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
