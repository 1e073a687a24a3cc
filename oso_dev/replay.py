"""Replay: serve a source's recorded API responses from a local HTTP server and point the source at it.

Every source's base URL is a setting, so replay changes nothing but the URL: the same extraction code runs
against ``tests/fixtures/<source>/`` offline, for the tests, for ``--replay`` on the command line and for the
README's main job. A fixture directory holds the response files and a ``routes.json`` that maps requests to
them, in order, first match wins::

    [
      {"method": "GET", "path": "/protocols", "file": "protocols.json"},
      {"method": "GET", "path": "/protocol/aave", "status": 429, "headers": {"Retry-After": "0"}, "times": 1},
      {"method": "GET", "path": "/protocol/*", "query": {"range": "max"}, "file": "protocol.json"},
      {"method": "POST", "path": "/graphql", "body": {"variables.offset": 0}, "file": "page0.json"}
    ]

``path`` may use ``*`` wildcards; ``query`` and ``body`` (dotted paths into a JSON body, numbers indexing arrays,
e.g. ``{"0.method": "eth_getLogs"}`` for a JSON-RPC batch) match as subsets;
``times`` serves a route only that many times, so ``429`` or ``503`` then success is two routes. A request that
matches nothing gets a 404 naming the request, which is also what a real API says about an unknown path.
``note`` is free text for people (``--record`` writes ``"cut from 1,234 to 5 items"`` there) and is ignored.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from oso_core.config.settings import PROJECT_ROOT

CHUNK = 1 << 16
# how often the serving thread looks for a stop: ``stop()`` waits up to this long (http.server's default is 0.5 s,
# paid once per replayed source run)
SHUTDOWN_POLL_S = 0.05


class ReplaySettings(BaseSettings):
    """Development settings of ``--replay`` / ``--record`` (environment only).

    Read on every call rather than once: ``--record`` points ``OSO_REPLAY_DIR`` at a scratch directory while it
    probes a source's replay (``oso_dev.record``)."""

    model_config = SettingsConfigDict(env_prefix="OSO_", env_ignore_empty=True, extra="ignore", env_file=None)
    section: ClassVar[str] = "development: --replay and --record (environment only)"

    replay_dir: Path | None = Field(
        default=None,
        description="Where --replay reads and --record writes recorded API responses, as <dir>/<source>/ "
        "(default: each source folder's fixtures/)",
    )


def fixtures_dir(source: str) -> Path:
    """Where a source's recorded responses live: ``<package>/<source>/fixtures/`` of the source package that
    holds its folder (``flows`` unless ``OSO_SOURCE_PACKAGES`` names others), or ``$OSO_REPLAY_DIR/<source>``
    when that variable is set, as for the test-only sources and recordings into a scratch directory."""
    root = ReplaySettings().replay_dir
    if root:
        return Path(root) / source
    from oso_core.model.sources import source_packages

    for package in source_packages():
        try:
            spec = importlib.util.find_spec(f"{package}.{source}")
        except ModuleNotFoundError:
            continue
        if spec is not None and spec.submodule_search_locations:
            return Path(next(iter(spec.submodule_search_locations))) / "fixtures"
    return PROJECT_ROOT / "flows" / source / "fixtures"


@dataclass
class Route:
    """One canned response and the requests it answers."""

    path: str
    method: str = "GET"
    status: int = 200
    file: str | None = None
    json: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    times: int | None = None
    note: str | None = None  # for people reading routes.json (what --record cut or emptied); never matched
    served: int = 0

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Route:
        known = {f for f in cls.__dataclass_fields__ if f != "served"}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"route {raw.get('path')!r}: unknown keys {sorted(unknown)}")
        return cls(**raw)

    def matches(self, method: str, path: str, query: dict[str, str], body: Any) -> bool:
        if self.times is not None and self.served >= self.times:
            return False
        if method != self.method.upper() or not fnmatch.fnmatchcase(path, self.path):
            return False
        if any(query.get(k) != str(v) for k, v in self.query.items()):
            return False
        return all(_dig(body, dotted) == expected for dotted, expected in self.body.items())


def _dig(body: Any, dotted: str) -> Any:
    """The value at ``dotted`` in a JSON body; a numeric part indexes a list (batched JSON-RPC bodies are arrays:
    ``0.method`` is the first call's method)."""
    value = body
    for part in dotted.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return _MISSING
    return value


_MISSING = object()


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class ReplayServer:
    """A threaded loopback server answering from ``routes``; ``requests`` records what it was asked."""

    def __init__(self, routes: list[Route], root: Path | None = None):
        self.routes = routes
        self.root = root or Path(".")
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def for_source(cls, source: str, *first: Route, root: Path | None = None) -> ReplayServer:
        """A server for the source's recorded fixtures; ``first`` routes (a test's 429, a malformed page) are
        matched before the recorded ones."""
        directory = root / source if root else fixtures_dir(source)
        if not (directory / "routes.json").is_file():
            raise FileNotFoundError(f"source {source} has no replay fixtures ({directory / 'routes.json'} is missing)")
        server = cls.from_directory(directory)
        server.routes[:0] = list(first)
        return server

    @classmethod
    def from_directory(cls, directory: Path) -> ReplayServer:
        """A server for the fixtures in ``directory`` (its ``routes.json`` and the files it names)."""
        routes_file = directory / "routes.json"
        routes = [Route.from_dict(r) for r in json.loads(routes_file.read_text())]
        return cls(routes, directory)

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("replay server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def route_for(
        self, method: str, path: str, query: dict[str, str], body: Any, headers: dict[str, str] | None = None
    ) -> Route | None:
        """Record the request and pick its route, under one lock: concurrent requests (a fan-out) each record their
        own headers (setting them on ``requests[-1]`` afterwards could label another thread's record)."""
        with self._lock:
            self.requests.append(RecordedRequest(method, path, query, dict(headers or {}), body))
            for route in self.routes:
                if route.matches(method, path, query, body):
                    route.served += 1
                    return route
        return None

    def start(self) -> ReplayServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output and flow logs quiet
                return

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                route = server.route_for(self.command, parts.path, query, body, dict(self.headers.items()))
                if route is None:
                    self._send(404, b'{"error": "no replay route for ' + parts.path.encode() + b'"}', {})
                    return
                headers = dict(route.headers)
                if route.file is not None:
                    self._send_file(route.status, server.root / route.file, headers)
                elif route.json is not None:
                    headers.setdefault("Content-Type", "application/json")
                    self._send(route.status, json.dumps(route.json).encode(), headers)
                else:
                    self._send(route.status, (route.text or "").encode(), headers)

            def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                headers.setdefault("Content-Type", "application/json")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _send_file(self, status: int, path: Path, headers: dict[str, str]) -> None:
                guessed, encoding = mimetypes.guess_type(path.name)
                if encoding == "gzip":
                    guessed = "application/gzip"
                headers.setdefault("Content-Type", guessed or "application/octet-stream")
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(path.stat().st_size))
                self.end_headers()
                with path.open("rb") as handle:
                    while chunk := handle.read(CHUNK):
                        self.wfile.write(chunk)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S}, name="oso-replay", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def replay_server(source: str, root: Path | None = None) -> Iterator[str]:
    """Serve ``<fixtures>/<source>/`` and yield its base URL for the duration of the block."""
    with ReplayServer.for_source(source, root=root) as server:
        yield server.url


@contextmanager
def replay_parameters(source: Any) -> Iterator[dict[str, Any]]:
    """Flow parameters that make ``source`` read its recorded fixtures instead of the live API.

    A source folder may hold a ``replay.py`` with its own ``replay_parameters()`` context manager (ossd replays a
    sample directory, the database sources a seeded PostgreSQL); otherwise the source's ``routes.json`` is
    served and ``base_url`` points at it.
    """
    import importlib
    import importlib.util

    from oso_core.model.sources import discover_sources

    module = source.module or discover_sources()[source.name].module  # a declaration not yet discovered
    folder, _, leaf = module.rpartition(".")
    custom = getattr(importlib.import_module(module), "replay_parameters", None)
    if leaf == "source" and importlib.util.find_spec(f"{folder}.replay") is not None:
        custom = importlib.import_module(f"{folder}.replay").replay_parameters
    if custom is not None:
        with custom() as params:
            yield params
        return
    with replay_server(source.name) as url:
        yield {"base_url": url}


@contextmanager
def replaying() -> Iterator[None]:
    """While the block runs, every source the weekly pipeline starts in this process loads its fixtures."""
    from oso_core.ops.pipeline import local_parameters

    with local_parameters(replay_parameters):
        yield
