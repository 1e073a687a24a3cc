"""Streaming downloads of bulk files (archives, parquet exports) to a temporary file, in bounded chunks.

OSO's ``archive2bq`` read the whole response into memory (``response.read()``); the crates.io dump is over a
gigabyte, so here the body goes to disk chunk by chunk and memory stays at one chunk. The requests go through an
``HttpClient`` and its one retry loop: connection errors, 429 and 5xx are retried within the policy's bounds
(backoff with jitter, ``Retry-After``, the source's rate limiter). What is particular to downloads is the
attempt: a body cut short is resumed with an HTTP ``Range`` request when the server supports it (guarded by
``If-Range`` so a file that changed in between is fetched again whole), else the download restarts from zero.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from oso_core.errors import RateLimited, RequestError
from oso_core.transport.http import HttpClient, Retryable, RetryableStatus, RetryPolicy

DEFAULT_CHUNK = 1 << 20


@dataclass
class Download:
    """A file fetched to local disk: where it is, how big, and how much retrying it took."""

    url: str
    path: Path
    bytes: int = 0
    attempts: int = 0
    resumed: int = 0
    restarted: int = 0
    etag: str | None = None
    content_type: str | None = None
    notes: list[str] = field(default_factory=list)


def file_name_of(url: str) -> str:
    """The last path segment of ``url`` (``db-dump.tar.gz``), which is also how archive2bq named its temp file."""
    name = Path(urlsplit(url).path).name
    return name or "download"


def download_file(
    source: str,
    url: str,
    dest: Path,
    *,
    headers: Mapping[str, str] | None = None,
    retry: RetryPolicy | None = None,
    timeout: float = 60.0,
    chunk_size: int = DEFAULT_CHUNK,
    mask: tuple[str, ...] = (),
    client: HttpClient | None = None,
) -> Download:
    """Stream ``url`` into ``dest`` with retries and resume; raise a ``RequestError`` naming the source and URL.

    ``client`` (its retry policy, rate limiter and masks) is used when given; otherwise one is made from
    ``headers``, ``retry``, ``timeout`` and ``mask``.
    """
    result = Download(url=url, path=dest)
    http = client or HttpClient(source, "", headers=headers, timeout=timeout, retry=retry, mask=mask)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(b"")
    state: dict[str, str | bool | None] = {"validator": None, "ranges": False}

    def attempt() -> None:
        result.attempts += 1
        have = dest.stat().st_size
        request_headers = {"Accept-Encoding": "identity"}
        resuming = have > 0 and bool(state["ranges"])
        if resuming:
            request_headers["Range"] = f"bytes={have}-"
            if state["validator"]:
                request_headers["If-Range"] = str(state["validator"])
        with http.stream("GET", url, headers=request_headers) as response:
            status = response.status_code
            if status == 416 and resuming:
                dest.write_bytes(b"")
                result.restarted += 1
                raise Retryable("HTTP 416 for a resume; starting over")
            if not response.is_success:
                response.read()
                problem = f"HTTP {status}: {http.body_excerpt(response)}"
                raise http.error(url, problem, RequestError, retryable=False, status=status)
            if status == 206 and resuming:
                start = _content_range_start(response)
                if start != have:
                    raise http.error(url, f"server resumed at byte {start}, expected {have}")
                mode, offset = "ab", have
                result.resumed += 1
            else:
                if have:
                    result.restarted += 1
                mode, offset = "wb", 0
            state["validator"] = response.headers.get("ETag") or response.headers.get("Last-Modified")
            encoded = response.headers.get("Content-Encoding", "identity") != "identity"
            ranges_ok = response.headers.get("Accept-Ranges", "").lower() == "bytes" or status == 206
            state["ranges"] = ranges_ok and not encoded
            result.etag = response.headers.get("ETag")
            result.content_type = response.headers.get("Content-Type")
            length = response.headers.get("Content-Length")
            expected = offset + int(length) if length and length.isdigit() and not encoded else None
            # Write each network read as it arrives (buffered to ``chunk_size``): asking httpx for fixed-size
            # chunks would hold back a partial chunk and lose it when the connection drops, defeating resume.
            with dest.open(mode, buffering=chunk_size) as handle:
                for chunk in response.iter_bytes():
                    handle.write(chunk)
            received = offset + response.num_bytes_downloaded
            if expected is not None and received < expected:
                raise Retryable(f"body cut short at {received} of {expected} bytes")
            result.bytes = dest.stat().st_size

    try:
        http.retrying(attempt)
    except Retryable as exc:
        problem = f"{exc.problem} after {result.attempts} attempts"
        if isinstance(exc, RetryableStatus) and exc.response.status_code == 429:
            raise http.error(url, problem, RateLimited, wait=http.wait_hint(exc.response)) from None
        status = exc.response.status_code if isinstance(exc, RetryableStatus) else None
        raise http.error(url, problem, RequestError, retryable=True, status=status) from None
    except httpx.TransportError as exc:
        problem = f"{type(exc).__name__}: {exc} after {result.attempts} attempts"
        raise http.error(url, problem, RequestError, retryable=True) from None
    finally:
        if client is None:
            http.close()
    if result.resumed:
        result.notes.append(f"{file_name_of(url)}: resumed {result.resumed} time(s)")
    if result.restarted:
        result.notes.append(f"{file_name_of(url)}: restarted {result.restarted} time(s)")
    return result


def _content_range_start(response: httpx.Response) -> int:
    """Start byte of ``Content-Range: bytes 100-199/200``."""
    value = response.headers.get("Content-Range", "")
    try:
        return int(value.split(" ", 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return -1


@contextmanager
def downloaded(
    source: str,
    url: str,
    *,
    directory: Path | None = None,
    **kwargs: object,
) -> Iterator[Download]:
    """Download ``url`` into a fresh temporary directory and remove it when the block ends (even on failure)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"oso-{source}-", dir=directory))
    try:
        yield download_file(source, url, workdir / file_name_of(url), **kwargs)  # type: ignore[arg-type]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
