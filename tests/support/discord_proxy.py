"""A local stand-in for Discord: an HTTPS CONNECT proxy that terminates TLS for ``discord.com`` with a test CA.

Apprise's Discord plugin hard-codes ``https://discord.com/api/webhooks``, so the only way to test the real
``DiscordWebhook`` block offline, from the Prefect *server* process that runs automation actions, is to give that
process ``HTTPS_PROXY`` pointing here and ``REQUESTS_CA_BUNDLE`` pointing at this proxy's CA. Every webhook
request is appended to a JSONL file (method, path, headers, JSON body) so tests in any process can read it.
Like Discord, content over 2,000 characters or an embed over Discord's limits (title 256, description 4,096,
25 fields, field name 256 / value 1,024, footer 2,048, 6,000 in all, at most 10 embeds) is answered with HTTP 400;
otherwise 204 No Content. ``SSL_CERT_FILE`` in ``env`` makes httpx (the webhook block) trust the proxy's CA too.
"""

from __future__ import annotations

import json
import socket
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme

DISCORD_HOST = "discord.com"
DISCORD_CONTENT_LIMIT = 2000
EMBED_LIMITS = {
    "title": 256,
    "description": 4096,
    "fields": 25,
    "name": 256,
    "value": 1024,
    "footer": 2048,
    "all": 6000,
}


def embed_problems(payload: Any) -> list[str]:
    """What Discord would refuse in a webhook body's embeds (empty when it would accept them)."""
    if not isinstance(payload, dict):
        return []
    embeds = payload.get("embeds") or []
    problems = ["more than 10 embeds"] if len(embeds) > 10 else []
    total = 0
    for number, embed in enumerate(embeds):
        title, description = embed.get("title") or "", embed.get("description") or ""
        footer = (embed.get("footer") or {}).get("text") or ""
        fields = embed.get("fields") or []
        total += len(title) + len(description) + len(footer)
        for part, text in (("title", title), ("description", description), ("footer", footer)):
            if len(text) > EMBED_LIMITS[part]:
                problems.append(f"embed {number} {part} is {len(text)} long")
        if len(fields) > EMBED_LIMITS["fields"]:
            problems.append(f"embed {number} has {len(fields)} fields")
        for field in fields:
            name, value = field.get("name") or "", field.get("value") or ""
            total += len(name) + len(value)
            if not name or not value:
                problems.append(f"embed {number} has an empty field name or value")
            if len(name) > EMBED_LIMITS["name"] or len(value) > EMBED_LIMITS["value"]:
                problems.append(f"embed {number} field {name[:20]!r} is too long")
    if total > EMBED_LIMITS["all"]:
        problems.append(f"embeds total {total} characters")
    return problems


@dataclass
class DiscordProxy:
    """A running proxy: ``url`` for HTTPS_PROXY, ``ca_path`` for REQUESTS_CA_BUNDLE, ``log_path`` of requests."""

    url: str
    ca_path: Path
    log_path: Path
    _server: socketserver.ThreadingTCPServer
    _thread: threading.Thread

    @property
    def env(self) -> dict[str, str]:
        """What a process needs so its ``requests`` calls to discord.com reach this proxy and trust it."""
        return {
            "HTTPS_PROXY": self.url,
            "https_proxy": self.url,
            "REQUESTS_CA_BUNDLE": str(self.ca_path),
            "SSL_CERT_FILE": str(self.ca_path),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }

    def requests(self) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]

    def clear(self) -> None:
        self.log_path.write_text("")

    def wait_for(self, predicate, timeout: float = 20.0, interval: float = 0.05) -> list[dict[str, Any]]:
        """Poll the log until some recorded requests satisfy ``predicate``; return those requests."""
        deadline = time.monotonic() + timeout
        while True:
            matching = [r for r in self.requests() if predicate(r)]
            if matching or time.monotonic() > deadline:
                return matching
            time.sleep(interval)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _read_http_request(stream) -> tuple[str, str, dict[str, str], bytes]:
    request_line = stream.readline().decode("latin-1").strip()
    headers: dict[str, str] = {}
    while True:
        line = stream.readline().decode("latin-1")
        if line in ("\r\n", "\n", ""):
            break
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = stream.read(int(headers.get("content-length") or 0))
    method, path, _ = (request_line.split(" ", 2) + ["", ""])[:3]
    return method, path, headers, body


def start_discord_proxy(directory: Path) -> DiscordProxy:
    """Start the proxy on a free loopback port; writes ``ca.pem`` and ``requests.jsonl`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    ca_path = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(DISCORD_HOST).configure_cert(server_context)
    log_path = directory / "requests.jsonl"
    log_path.touch()
    lock = threading.Lock()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            method, target, _, _ = _read_http_request(self.rfile)
            if method != "CONNECT" or target.split(":")[0] != DISCORD_HOST:
                self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            try:
                tls = server_context.wrap_socket(self.connection, server_side=True)
            except (ssl.SSLError, OSError):
                return
            with tls, tls.makefile("rb") as reader:
                method, path, headers, body = _read_http_request(reader)
                try:
                    payload: Any = json.loads(body) if body else None
                except ValueError:
                    payload = body.decode("utf-8", "replace")
                content = payload.get("content", "") if isinstance(payload, dict) else ""
                too_long = len(content) > DISCORD_CONTENT_LIMIT or bool(embed_problems(payload))
                record = {
                    "method": method,
                    "path": path,
                    "host": headers.get("host"),
                    "user_agent": headers.get("user-agent"),
                    "json": payload,
                    "problems": embed_problems(payload),
                    "status": 400 if too_long else 204,
                    "received": time.time(),
                }
                with lock, log_path.open("a") as handle:
                    handle.write(json.dumps(record) + "\n")
                if too_long:
                    error = json.dumps({"content": ["Must be 2000 or fewer in length."], "code": 50035}).encode()
                    head = f"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {len(error)}"
                    tls.sendall(head.encode() + b"\r\nConnection: close\r\n\r\n" + error)
                else:
                    tls.sendall(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    thread = threading.Thread(target=server.serve_forever, name="discord-proxy", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    return DiscordProxy(f"http://{host}:{port}", ca_path, log_path, server, thread)
