"""Streaming downloads against a real local server that drops connections, refuses ranges, changes the file."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from oso_core.errors import SourceError
from oso_core.transport.download import download_file, downloaded
from oso_core.transport.http import RetryPolicy
from oso_dev.replay import SHUTDOWN_POLL_S
from tests.support.ports import free_port

FAST = RetryPolicy(attempts=4, backoff_initial=0.01, backoff_max=0.05, total_wait=5)


@dataclass
class FileServer:
    """Serves ``content`` at any path; ``cuts`` first responses stop halfway; optional ranges, ETag, statuses."""

    content: bytes
    etag: str = '"v1"'
    ranges: bool = True
    cuts: int = 0
    statuses: list[int] = field(default_factory=list)
    replace_after_first: bytes | None = None
    requests: list[dict[str, str]] = field(default_factory=list)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        self.requests.append(dict(handler.headers.items()))
        if self.statuses:
            status = self.statuses.pop(0)
            handler.send_response(status)
            handler.send_header("Retry-After", "0")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        body, status, extra = self.content, 200, {}
        wanted = handler.headers.get("Range")
        if_range = handler.headers.get("If-Range")
        if self.ranges and wanted and (if_range is None or if_range == self.etag):
            start = int(wanted.removeprefix("bytes=").split("-")[0])
            body, status = self.content[start:], 206
            extra["Content-Range"] = f"bytes {start}-{len(self.content) - 1}/{len(self.content)}"
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Content-Type", "application/gzip")
        handler.send_header("ETag", self.etag)
        if self.ranges:
            handler.send_header("Accept-Ranges", "bytes")
        for key, value in extra.items():
            handler.send_header(key, value)
        handler.end_headers()
        if self.cuts:
            self.cuts -= 1
            handler.wfile.write(body[: len(body) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            if self.replace_after_first is not None:
                self.content, self.etag = self.replace_after_first, '"v2"'
            return
        handler.wfile.write(body)


@pytest.fixture
def serve() -> Iterator:
    servers: list[ThreadingHTTPServer] = []

    def start(files: FileServer) -> str:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                files.handle(self)

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S}, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/db-dump.tar.gz"

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


CONTENT = hashlib.sha256(b"seed").digest() * 40_000  # 1.28 MB, several chunks


def test_whole_file_in_chunks(serve, tmp_path):
    result = download_file("crates", serve(FileServer(CONTENT)), tmp_path / "f", chunk_size=1 << 16, retry=FAST)
    assert (tmp_path / "f").read_bytes() == CONTENT
    assert (result.bytes, result.attempts, result.resumed, result.etag) == (len(CONTENT), 1, 0, '"v1"')


def test_cut_connection_resumes_with_range_and_if_range(serve, tmp_path):
    files = FileServer(CONTENT, cuts=1)
    result = download_file("crates", serve(files), tmp_path / "f", retry=FAST)
    assert (tmp_path / "f").read_bytes() == CONTENT
    assert (result.attempts, result.resumed, result.restarted) == (2, 1, 0)
    assert files.requests[1]["Range"] == f"bytes={len(CONTENT) // 2}-" and files.requests[1]["If-Range"] == '"v1"'
    assert result.notes == ["db-dump.tar.gz: resumed 1 time(s)"]


def test_server_without_ranges_restarts_from_zero(serve, tmp_path):
    files = FileServer(CONTENT, cuts=2, ranges=False)
    result = download_file("crates", serve(files), tmp_path / "f", retry=FAST)
    assert (tmp_path / "f").read_bytes() == CONTENT
    assert (result.attempts, result.resumed, result.restarted) == (3, 0, 2)
    assert all("Range" not in headers for headers in files.requests)


def test_file_changed_between_attempts_is_fetched_whole(serve, tmp_path):
    new = b"N" * len(CONTENT)
    files = FileServer(CONTENT, cuts=1, replace_after_first=new)
    result = download_file("crates", serve(files), tmp_path / "f", retry=FAST)
    assert (tmp_path / "f").read_bytes() == new  # not half old, half new
    assert (result.resumed, result.restarted, result.etag) == (0, 1, '"v2"')


def test_retryable_statuses_then_success(serve, tmp_path):
    files = FileServer(CONTENT, statuses=[503, 429, 502])
    result = download_file("crates", serve(files), tmp_path / "f", retry=FAST)
    assert result.attempts == 4 and (tmp_path / "f").read_bytes() == CONTENT


def test_client_errors_are_not_retried(serve, tmp_path):
    files = FileServer(CONTENT, statuses=[404])
    url = serve(files)
    with pytest.raises(SourceError) as caught:
        download_file("crates", url, tmp_path / "f", retry=FAST)
    assert caught.value.source == "crates" and caught.value.endpoint == url and "HTTP 404" in str(caught.value)
    assert len(files.requests) == 1


def test_gives_up_after_bounded_attempts(serve, tmp_path):
    files = FileServer(CONTENT, cuts=10, ranges=False)
    with pytest.raises(SourceError, match="after 4 attempts"):
        download_file("crates", serve(files), tmp_path / "f", retry=FAST)
    assert len(files.requests) == 4
    refused = f"http://127.0.0.1:{free_port()}/db-dump.tar.gz"
    with pytest.raises(SourceError, match="ConnectError"):
        download_file("crates", refused, tmp_path / "g", retry=FAST)


def test_downloaded_cleans_up_its_directory_even_on_failure(serve, tmp_path):
    url = serve(FileServer(CONTENT))
    with downloaded("crates", url, directory=tmp_path, retry=FAST) as result:
        assert result.path.name == "db-dump.tar.gz" and result.path.stat().st_size == len(CONTENT)
        folder = result.path.parent
    assert not folder.exists()
    with pytest.raises(RuntimeError), downloaded("crates", url, directory=tmp_path, retry=FAST) as result:
        folder = result.path.parent
        raise RuntimeError("load failed")
    assert not folder.exists() and list(Path(tmp_path).iterdir()) == []
