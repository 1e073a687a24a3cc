"""``--record``: run a source against its live API through a local recording proxy and save the answers as fixtures.

``python -m flows <source> --record`` starts a loopback HTTP server that forwards every request of the flow to the
live API (``--base-url``, else the setting ``<source>.base_url``, else the declared URL) and keeps each answer.
When the load succeeds, the answers become the source's ``fixtures/``: one file per response plus a
``routes.json`` in the replay format of :mod:`oso_dev.replay`, so ``--replay`` and the source's tests then run
the same code offline. A failed load writes nothing (the previous fixtures stay).

What is written is safe to commit and small:

* **Secrets are masked** in paths, queries, request-body matches, kept headers and response bodies. The values of
  the source's declared secrets become the stand-ins that :mod:`oso_dev.replay_secrets` gives the flow during a
  replay (``replay-ens-api-key``), so a key in the URL path still matches when replayed; anything else that looks
  like a key (a ``token=``/``api_key=`` query value, a bearer token, a GitHub/AWS/Google key, a JWT...) becomes
  ``***``, and a key-like query parameter is left out of the route's match.
* **Long lists are cut** to ``max_items`` (``--record-max-items``, default 5), at any depth of a JSON body, and the
  cut is noted in the route (``"note": "cut from 1,234 to 5 items at data.domains"``).
* **Paging ends**: after ``max_pages`` successful answers to the same request shape (method, path and GraphQL
  operation), the next answers have their lists emptied, which ends any pager (also noted).

The proxy hands the flow exactly what it records (cut, emptied and masked), so the recorded session is the one a
replay makes, and no echoed key reaches the lake either. A source's own ``replay.py`` may pass other parameters
in a replay (ens: pages of 2): recording runs the flow with those same parameters (all but pauses such as
``page_interval``), with the URL parameter aimed at the proxy.
Sources whose replay is not a recorded HTTP API (ossd replays a directory; the SQL sources seed a PostgreSQL from
``fixtures/seed.sql``) refuse ``--record`` with a message saying so.
"""

from __future__ import annotations

import inspect
import json
import mimetypes
import os
import re
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from oso_core.base.masking import MASK, secret_forms
from oso_core.base.sensitive import is_sensitive_name
from oso_core.model.secret_params import _KNOWN_FORMATS
from oso_core.model.sources import Source
from oso_dev.replay import SHUTDOWN_POLL_S

DEFAULT_MAX_ITEMS = 5
DEFAULT_MAX_PAGES = 3
# Response headers worth replaying (a rate-limit wait); the replay server derives Content-Type from the file name.
KEPT_HEADERS = ("retry-after",)
# Request headers the proxy does not pass on: hop-by-hop, or set again by the forwarding client.
DROPPED_REQUEST_HEADERS = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding", "keep-alive"}
DROPPED_RESPONSE_HEADERS = {"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"}
_REPLAY_URL = re.compile(r"^http://127\.0\.0\.1:\d+")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>\\]+")


class RecordNotApplicable(ValueError):
    """The source's replay is not a recorded HTTP API, so there is nothing for ``--record`` to write."""


# --- masking -----------------------------------------------------------------------------------------------------


class Masker:
    """Replaces secrets in recorded text: declared secrets by their replay stand-ins, other key-like values by ***."""

    def __init__(self, stand_ins: Mapping[str, str]):
        forms: dict[str, str] = {}
        for secret, stand_in in stand_ins.items():
            for form in secret_forms(secret):
                forms.setdefault(form, stand_in)
        self._forms = sorted(forms.items(), key=lambda item: len(item[0]), reverse=True)  # longest first
        self._stand_ins = {MASK, *stand_ins.values()}

    def declared(self, text: str) -> str:
        for form, stand_in in self._forms:
            text = text.replace(form, stand_in)
        return text

    def text(self, text: str) -> str:
        """``text`` with declared secrets replaced by their stand-ins and anything else key-like by ``***``."""
        text = self.declared(text)
        for _reason, pattern in _KNOWN_FORMATS:
            text = pattern.sub(MASK, text)
        return _URL.sub(lambda match: _mask_url_query(match.group(0), self._stand_ins), text)

    def query(self, pairs: list[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
        """The query to match on (masked) and the names of key-like parameters left out of the match."""
        kept: dict[str, str] = {}
        dropped: list[str] = []
        for name, value in pairs:
            masked = self.declared(value)
            if masked == value and is_sensitive_name(name) and value:
                dropped.append(name)  # an undeclared key: a replay could not send the same value
                continue
            kept[name] = self.text(masked)
        return kept, dropped

    def value(self, value: Any) -> Any:
        """A JSON value with every string masked (request-body matches)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value


def _mask_url_query(url: str, stand_ins: set[str]) -> str:
    """A URL found in a body with the values of key-like query parameters replaced by ``***`` (stand-ins stay)."""

    def replace(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        keep = not value or value in stand_ins or not is_sensitive_name(name)
        return match.group(0) if keep else f"{name}={MASK}"

    head, sep, rest = url.partition("?")
    return head + sep + re.sub(r"([^=&#]+)=([^&#]*)", replace, rest) if sep else url


# --- shaping: cut long lists, end paging ----------------------------------------------------------------------------


def cut_lists(value: Any, max_items: int, where: str = "") -> tuple[Any, list[tuple[str, int]]]:
    """``value`` with every list longer than ``max_items`` cut to its first items; returns (cut value, cuts)."""
    cuts: list[tuple[str, int]] = []
    if isinstance(value, list):
        if len(value) > max_items:
            cuts.append((where, len(value)))
            value = value[:max_items]
        items = []
        for item in value:
            shaped, inner = cut_lists(item, max_items, where + "[]")
            items.append(shaped)
            cuts.extend(inner)
        return items, cuts
    if isinstance(value, dict):
        shaped_dict = {}
        for key, item in value.items():
            shaped_dict[key], inner = cut_lists(item, max_items, f"{where}.{key}" if where else str(key))
            cuts.extend(inner)
        return shaped_dict, cuts
    return value, cuts


def empty_lists(value: Any) -> Any:
    """``value`` with every list emptied (a last page: pagers stop on an empty page)."""
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        return {key: empty_lists(item) for key, item in value.items()}
    return value


def cut_note(cuts: list[tuple[str, int]], max_items: int) -> str | None:
    if not cuts:
        return None
    where, before = max(cuts, key=lambda cut: cut[1])
    note = f"cut from {before:,} to {max_items} items" + (f" at {where}" if where else "")
    return note + (f" (and {len(cuts) - 1} more list(s))" if len(cuts) > 1 else "")


# --- the proxy -----------------------------------------------------------------------------------------------------


@dataclass
class Exchange:
    """One request of the flow and the answer it got (already cut or emptied, not yet masked)."""

    method: str
    path: str
    query: list[tuple[str, str]]
    body: Any
    status: int
    headers: dict[str, str]
    content: bytes
    parsed: Any = None
    is_json: bool = False
    note: str | None = None


def _operation(body: Any) -> str | None:
    return body.get("operationName") if isinstance(body, dict) and isinstance(body.get("operationName"), str) else None


@dataclass
class RecordingProxy:
    """A loopback server forwarding each request to ``upstream`` + its path and keeping what came back."""

    upstream: str
    masker: Masker = field(default_factory=lambda: Masker({}))
    max_items: int = DEFAULT_MAX_ITEMS
    max_pages: int = DEFAULT_MAX_PAGES
    timeout: float = 300.0
    exchanges: list[Exchange] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._pages: dict[tuple[str, str, str | None], int] = {}
        self._client = httpx.Client(timeout=self.timeout, follow_redirects=True)
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("recording proxy is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def forward(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Exchange:
        parts = urlsplit(target)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        sent = {k: v for k, v in headers.items() if k.lower() not in DROPPED_REQUEST_HEADERS}
        sent["Accept-Encoding"] = "identity"
        response = self._client.request(method, self.upstream.rstrip("/") + target, headers=sent, content=raw or None)
        kept = {k: v for k, v in response.headers.items() if k.lower() not in DROPPED_RESPONSE_HEADERS}
        exchange = Exchange(
            method, parts.path, parse_qsl(parts.query, keep_blank_values=True), body, response.status_code, kept,
            response.content,
        )  # fmt: skip
        self._shape(exchange, response.headers.get("content-type", ""))
        with self._lock:
            self.exchanges.append(exchange)
        return exchange

    def _shape(self, exchange: Exchange, content_type: str) -> None:
        """Cut long lists (or empty them past the page limit) and mask secrets; the flow gets what is recorded."""
        exchange.headers = {k: self.masker.text(v) for k, v in exchange.headers.items()}
        if _is_text(exchange):
            exchange.content = self.masker.text(exchange.content.decode("utf-8")).encode()
        lead = exchange.content.lstrip()[:1]
        if "json" not in content_type.lower() and lead not in (b"{", b"["):
            return
        try:
            parsed = json.loads(exchange.content)
        except ValueError:
            return
        exchange.is_json = True
        if 200 <= exchange.status < 300:
            shape = (exchange.method, exchange.path, _operation(exchange.body))
            with self._lock:
                self._pages[shape] = page = self._pages.get(shape, 0) + 1
            if page > self.max_pages:
                shaped = empty_lists(parsed)
                if shaped != parsed:
                    op = f" {shape[2]}" if shape[2] else ""
                    exchange.note = (
                        f"lists emptied: answer {page} to {shape[0]} {self.masker.text(shape[1])}{op} is past "
                        f"--record-max-pages "
                        f"{self.max_pages}, so paging ends here"
                    )
                parsed = shaped
            else:
                parsed, cuts = cut_lists(parsed, self.max_items)
                exchange.note = cut_note(cuts, self.max_items)
        exchange.parsed = json.loads(self.masker.text(json.dumps(parsed, ensure_ascii=False)))
        exchange.content = json.dumps(exchange.parsed, ensure_ascii=False).encode()
        exchange.headers = {k: v for k, v in exchange.headers.items() if k.lower() != "content-type"}
        exchange.headers["Content-Type"] = "application/json"

    def start(self) -> RecordingProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # the URLs may hold keys: never print them
                return

            def _handle(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    exchange = proxy.forward(self.command, self.path, dict(self.headers.items()), raw)
                except httpx.HTTPError as exc:
                    payload = json.dumps({"error": f"recording proxy: {type(exc).__name__}"}).encode()
                    self.send_response(502)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                self.send_response(exchange.status)
                for key, value in exchange.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(exchange.content)))
                self.end_headers()
                self.wfile.write(exchange.content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S}, name="oso-record", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        self._client.close()

    def __enter__(self) -> RecordingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- writing the fixtures ------------------------------------------------------------------------------------------


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to the leaves of a JSON object (the replay's ``body`` match)."""
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value} if prefix else {}


def body_match(body: Any, masker: Masker) -> dict[str, Any]:
    """What a replay matches a JSON request body on: a GraphQL body by its operation and variables."""
    if not isinstance(body, dict):
        return {}
    if "query" in body and isinstance(body.get("query"), str):
        match: dict[str, Any] = {}
        if _operation(body):
            match["operationName"] = body["operationName"]
        match.update(_flatten(body.get("variables") or {}, "variables"))
    else:
        match = _flatten(body)
    return {key: masker.value(value) for key, value in match.items()}


def _file_name(exchange: Exchange, masked_path: str, taken: set[str]) -> str:
    operation = _operation(exchange.body)
    posix = PurePosixPath(masked_path)
    suffixes = [s for s in posix.suffixes[-2:] if 1 < len(s) <= 9]
    if exchange.is_json:
        extension = ".json"
    elif suffixes:
        extension = "".join(suffixes)
    else:
        content_type = next((v for k, v in exchange.headers.items() if k.lower() == "content-type"), "")
        guessed = mimetypes.guess_extension(content_type.split(";")[0].strip())
        extension = guessed or ".bin"
    if operation:
        stem = re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
    else:
        bare = masked_path.strip("/")
        for suffix in reversed(suffixes):
            bare = bare.removesuffix(suffix)
        stem = bare or "root"
    stem = re.sub(r"[^A-Za-z0-9.-]+", "_", stem).strip("_")[:60] or "response"
    name, n = stem + extension, 1
    while name in taken or name == "routes.json":
        n += 1
        name = f"{stem}_{n}{extension}"
    taken.add(name)
    return name


def _previous_files(directory: Path) -> list[Path]:
    routes_file = directory / "routes.json"
    if not routes_file.is_file():
        return []
    try:
        routes = json.loads(routes_file.read_text())
    except ValueError:
        return []
    files = [directory / r["file"] for r in routes if isinstance(r, dict) and isinstance(r.get("file"), str)]
    return [f for f in files if f.resolve().parent == directory.resolve() and f.is_file()]


def write_fixtures(exchanges: list[Exchange], directory: Path, masker: Masker) -> list[dict[str, Any]]:
    """Write one file per answer and ``routes.json`` (replacing the files the previous ``routes.json`` named)."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in _previous_files(directory):
        old.unlink()
    routes: list[dict[str, Any]] = []
    keys: list[str] = []
    taken: set[str] = set()
    for exchange in exchanges:
        path = masker.text(exchange.path)
        route: dict[str, Any] = {"method": exchange.method, "path": path}
        query, dropped = masker.query(exchange.query)
        if query:
            route["query"] = query
        body = body_match(exchange.body, masker)
        if body:
            route["body"] = body
        if exchange.status != 200:
            route["status"] = exchange.status
        headers = {_canonical(k): v for k, v in exchange.headers.items() if k.lower() in KEPT_HEADERS}
        if headers:
            route["headers"] = headers
        if exchange.content:
            name = _file_name(exchange, path, taken)
            if exchange.is_json:  # masked by the proxy already, as was any text
                (directory / name).write_text(json.dumps(exchange.parsed, indent=1, ensure_ascii=False) + "\n")
            else:
                (directory / name).write_bytes(exchange.content)
            route["file"] = name
        notes = [n for n in (exchange.note, dropped and f"key-like query parameter(s) not matched: {dropped}") if n]
        if notes:
            route["note"] = "; ".join(notes)
        routes.append(route)
        keys.append(json.dumps([route["method"], path, query, body], sort_keys=True))
    for i, key in enumerate(keys):
        if key in keys[i + 1 :]:
            routes[i]["times"] = 1  # a retried request: this answer first, then the next one
    # every part was masked on its own; masking the whole text again costs nothing and catches any slip
    (directory / "routes.json").write_text(masker.declared(json.dumps(routes, indent=1, ensure_ascii=False)) + "\n")
    return routes


def _canonical(header: str) -> str:
    """``retry-after`` → ``Retry-After`` (httpx gives header names in lower case)."""
    return "-".join(part.capitalize() for part in header.split("-"))


def _is_text(exchange: Exchange) -> bool:
    content_type = next((v for k, v in exchange.headers.items() if k.lower() == "content-type"), "").lower()
    if not (content_type.startswith("text/") or any(kind in content_type for kind in ("json", "xml", "csv"))):
        return False
    try:
        exchange.content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --- what a recording run is -------------------------------------------------------------------------------------


def _flow_parameters(source: Source) -> set[str]:
    return set(inspect.signature(source.load_flow()).parameters)


@contextmanager
def _probe_replay(source: Source) -> Iterator[dict[str, Any]]:
    """The parameters the source's replay would pass, learnt by starting it on an empty set of fixtures."""
    from oso_dev.replay import replay_parameters

    saved = os.environ.get("OSO_REPLAY_DIR")
    with tempfile.TemporaryDirectory(prefix="oso-record-probe-") as scratch:
        (Path(scratch) / source.name).mkdir()
        (Path(scratch) / source.name / "routes.json").write_text("[]")
        os.environ["OSO_REPLAY_DIR"] = scratch
        try:
            with replay_parameters(source) as params:
                probed = dict(params)
        finally:
            if saved is None:
                os.environ.pop("OSO_REPLAY_DIR", None)
            else:
                os.environ["OSO_REPLAY_DIR"] = saved
    yield probed


def recording_plan(source: Source) -> tuple[str, str, dict[str, Any]]:
    """(URL parameter, path the replay puts after its server URL, the replay's other parameters).

    Raises :class:`RecordNotApplicable` for sources whose replay is not a recorded HTTP API.
    """
    parameters = _flow_parameters(source)
    if "database_url" in parameters:
        raise RecordNotApplicable(
            f"--record does not apply to {source.name}: it replicates a SQL database, and its replay seeds a "
            f"temporary PostgreSQL from {source.name}/fixtures/seed.sql; edit that file to change what replays"
        )
    with _probe_replay(source) as probed:
        pass
    urls = {name: value for name, value in probed.items() if isinstance(value, str) and _REPLAY_URL.match(value)}
    if not urls:
        given = ", ".join(sorted(probed)) or "nothing"
        raise RecordNotApplicable(
            f"--record does not apply to {source.name}: its replay is custom (its replay.py passes {given}, no "
            "replay-server URL), so its fixtures are not recorded HTTP answers; update them by hand"
        )
    if len(urls) > 1:
        raise RecordNotApplicable(
            f"--record does not apply to {source.name}: its replay points {len(urls)} parameters "
            f"({', '.join(sorted(urls))}) at the replay server, and a recording forwards to one live API"
        )
    ((name, url),) = urls.items()
    suffix = _REPLAY_URL.sub("", url)
    others = {k: v for k, v in probed.items() if k not in urls and "interval" not in k}
    return name, suffix, others


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def secret_stand_ins(source: Source) -> dict[str, str]:
    """{resolved secret value: its replay stand-in} for the source's declared secrets that resolve."""
    from oso_dev.replay_secrets import replay_secret_value

    if not source.secrets:
        return {}
    try:
        from oso_core.config.secrets import default_resolver

        resolver = default_resolver()
    except Exception:  # noqa: BLE001 - an unusable resolver: the flow reports it in its own run
        return {}
    stand_ins = {}
    for ref in source.secrets:
        try:
            value = resolver.resolve_as_str(ref)
        except Exception:  # noqa: BLE001 - unset: it cannot be sent, so it cannot be recorded
            continue
        if value:
            stand_ins[value] = replay_secret_value(ref)
    return stand_ins


@contextmanager
def record_parameters(
    source: Source,
    base_url: str | None = None,
    *,
    max_items: int = DEFAULT_MAX_ITEMS,
    max_pages: int = DEFAULT_MAX_PAGES,
    directory: Path | None = None,
) -> Iterator[dict[str, Any]]:
    """Flow parameters that send ``source`` through a recording proxy to its live API; on success, the answers
    are written to ``directory`` (default: the source's fixtures directory, see ``oso_dev.replay.fixtures_dir``)."""
    from oso_dev.replay import fixtures_dir

    if max_items < 1 or max_pages < 1:
        raise ValueError("--record-max-items and --record-max-pages must be at least 1")
    name, suffix, others = recording_plan(source)
    live = source.resolve_base_url(base_url)
    # the replay puts the live path after its URL (ens: /api/{api_key}/subgraphs/...): forward to the live origin;
    # else the replay's URL is the base URL itself, and recorded paths are relative to the live base URL
    upstream = _origin(live) if suffix else live
    target = directory or fixtures_dir(source.name)
    masker = Masker(secret_stand_ins(source))
    with RecordingProxy(upstream, masker, max_items=max_items, max_pages=max_pages) as proxy:
        print(f"{source.name}: recording the live API at {masker.text(upstream)} through {proxy.url}")
        yield {**others, name: proxy.url + suffix}
    routes = write_fixtures(proxy.exchanges, target, masker)
    noted = [r for r in routes if r.get("note")]
    print(f"{source.name}: recorded {len(routes)} answer(s) into {target} (routes.json + files)")
    for route in noted:
        print(f"  {route['method']} {route['path']}: {route['note']}")
    print(f"next: python -m flows {source.name} --replay, then its tests (pytest on its folder)")
