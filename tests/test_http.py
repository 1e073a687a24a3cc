"""HttpClient against real local servers: retries, Retry-After, the wait bounds, status actions, rate limits."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from oso_core.transport.fanout import fan_out
from oso_core.transport.http import (
    HttpClient,
    RateLimiter,
    RetryPolicy,
    Skipped,
    SourceError,
    min_interval_setting,
    retry_after_seconds,
)
from oso_dev.replay import SHUTDOWN_POLL_S, ReplayServer, Route
from tests.support.ports import free_port

FAST = RetryPolicy(attempts=4, backoff_initial=0.01, backoff_max=0.05, total_wait=10, jitter=0)


def client(url: str, **kwargs) -> HttpClient:
    kwargs.setdefault("retry", FAST)
    return HttpClient("demo", url, **kwargs)


def test_429_with_retry_after_then_success_honours_the_hint() -> None:
    routes = [
        Route("/items", status=429, headers={"Retry-After": "1"}, times=1),
        Route("/items", json=[{"id": 1}]),
    ]
    with ReplayServer(routes) as server, client(server.url) as http:
        started = time.monotonic()
        assert http.get_json("/items") == [{"id": 1}]
        elapsed = time.monotonic() - started
    assert len(server.requests) == 2
    assert elapsed >= 0.95, "Retry-After: 1 must be waited out, not the 10 ms backoff"
    assert http.stats.retries == 1 and http.stats.retry_wait_s == pytest.approx(1.0)
    assert http.stats.statuses == {429: 1, 200: 1}


def test_flaky_5xx_then_success() -> None:
    routes = [Route("/items", status=503, times=1), Route("/items", status=502, times=1), Route("/items", json=[1])]
    with ReplayServer(routes) as server, client(server.url) as http:
        assert http.get_json("/items") == [1]
    assert [r.path for r in server.requests] == ["/items"] * 3


def test_persistent_5xx_fails_after_the_attempt_bound_naming_source_and_endpoint() -> None:
    with (
        ReplayServer([Route("/items", status=500)]) as server,
        client(server.url) as http,
        pytest.raises(SourceError) as caught,
    ):
        http.get_json("/items")
    assert str(caught.value) == "demo: /items: HTTP 500 after 4 attempt(s)"
    assert len(server.requests) == 4


def test_retry_after_beyond_the_wait_budget_fails_at_once() -> None:
    policy = RetryPolicy(attempts=5, backoff_initial=0.01, total_wait=5, jitter=0)
    routes = [Route("/slow", status=429, headers={"Retry-After": "120"})]
    with ReplayServer(routes) as server, client(server.url, retry=policy) as http:
        started = time.monotonic()
        with pytest.raises(SourceError, match="Retry-After 120s exceeds the 5s wait budget"):
            http.get_json("/slow")
        assert time.monotonic() - started < 2
    assert len(server.requests) == 1


def test_backoff_grows_exponentially_and_is_capped(httpserver: HTTPServer) -> None:
    stamps: list[float] = []

    def always_503(request: Request) -> Response:
        stamps.append(time.monotonic())
        return Response("busy", status=503)

    httpserver.expect_request("/busy").respond_with_handler(always_503)
    policy = RetryPolicy(attempts=6, backoff_initial=0.05, backoff_max=0.2, total_wait=10, jitter=0)
    with client(httpserver.url_for(""), retry=policy) as http, pytest.raises(SourceError):
        http.get_json("/busy")
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert len(gaps) == 5
    # planned: 0.05, 0.1, 0.2, then capped at 0.2 (exactly, in the stats); each gap is at least its wait, and the
    # upper margin only absorbs a loaded machine's request round trip
    planned = [0.05, 0.1, 0.2, 0.2, 0.2]
    assert http.stats.retry_wait_s == pytest.approx(sum(planned))
    assert all(wait - 0.01 <= gap < wait + 0.15 for wait, gap in zip(planned, gaps, strict=True)), gaps


def test_total_wait_bounds_the_sum_of_backoffs(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/busy").respond_with_data("busy", status=503)
    policy = RetryPolicy(attempts=50, backoff_initial=0.1, backoff_max=0.1, total_wait=0.35, jitter=0)
    with client(httpserver.url_for(""), retry=policy) as http:
        started = time.monotonic()
        with pytest.raises(SourceError, match="HTTP 503 after 4 attempt"):
            http.get_json("/busy")
        assert time.monotonic() - started < 2.5  # 49 uncapped backoffs would be 4.9 s
    assert http.stats.retry_wait_s <= 0.35


def test_status_actions_skip_ignore_after_retries_and_retry() -> None:
    routes = [
        Route("/gone", status=404),
        Route("/limited", status=429, headers={"Retry-After": "0"}),
        Route("/forbidden-once", status=403, times=1),
        Route("/forbidden-once", json={"ok": True}),
    ]
    with ReplayServer(routes) as server, client(server.url) as http:
        with pytest.raises(Skipped) as skipped:
            http.get_json("/gone", on_status={404: "skip"})
        assert skipped.value.status == 404
        with pytest.raises(SourceError, match="demo: /gone: HTTP 404"):
            http.get_json("/gone")
        # l2beat: 429 is retried first, then ignored
        with pytest.raises(Skipped):
            http.get_json("/limited", on_status={429: "ignore"})
        assert http.get_json("/forbidden-once", on_status={403: "retry"}) == {"ok": True}
        with pytest.raises(ValueError, match="unknown status action"):
            http.get_json("/gone", on_status={404: "shrug"})  # type: ignore[dict-item]
    paths = [r.path for r in server.requests]
    assert paths.count("/gone") == 2, "a 404 is final: never retried"
    assert paths.count("/limited") == FAST.attempts
    assert paths.count("/forbidden-once") == 2


def test_malformed_json_and_masked_secrets() -> None:
    routes = [Route("/k/*/data", text="<html>oops</html>")]
    with (
        ReplayServer(routes) as server,
        client(server.url, mask=("s3cret",)) as http,
        pytest.raises(SourceError) as caught,
    ):
        http.get_json("/k/s3cret/data")
    assert "malformed JSON" in str(caught.value)
    assert "s3cret" not in str(caught.value) and "/k/***/data" in str(caught.value)


def test_connection_errors_are_retried_then_reported() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    policy = RetryPolicy(attempts=2, backoff_initial=0.01, jitter=0)
    with client(url, retry=policy) as http, pytest.raises(SourceError, match="demo: /x: ConnectError"):
        http.get_json("/x")
    assert http.stats.requests == 2


def test_retry_after_http_date_and_garbage() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < retry_after_seconds(httpx.Response(429, headers={"Retry-After": later})) <= 30
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert retry_after_seconds(httpx.Response(429)) is None


def test_rate_limit_spaces_request_starts_across_threads(httpserver: HTTPServer) -> None:
    stamps: list[float] = []
    lock = threading.Lock()

    def record(request: Request) -> Response:
        with lock:
            stamps.append(time.monotonic())
        return Response('{"ok": true}', content_type="application/json")

    httpserver.expect_request("/ping").respond_with_handler(record)
    with client(httpserver.url_for(""), min_interval=0.1) as http:
        started = time.monotonic()
        result = fan_out(range(6), lambda _: http.get_json("/ping"), max_workers=4)
    assert len(result.results) == 6
    # The limiter spaces the requests' starts: the i-th request to arrive cannot have started (so cannot arrive)
    # before i intervals after the first could. Arrival gaps themselves are not the guarantee: on a loaded machine
    # one request's transit can be delayed and the next arrive 0.04 s after it although their starts were 0.1 s apart.
    since_start = [stamp - started for stamp in sorted(stamps)]
    assert all(elapsed >= 0.1 * i - 0.005 for i, elapsed in enumerate(since_start)), since_start
    assert http.stats.throttle_wait_s >= 0.4


def test_rate_limiter_shared_by_two_clients_and_per_second() -> None:
    limiter = RateLimiter.per_second(20)
    assert limiter.min_interval == pytest.approx(0.05)
    routes = [Route("/*", json=[])]
    with (
        ReplayServer(routes) as server,
        client(server.url, rate_limiter=limiter) as a,
        client(server.url, rate_limiter=limiter) as b,
    ):
        started = time.monotonic()
        for http in (a, b, a, b, a):
            http.get_json("/x")
        assert time.monotonic() - started >= 0.19
    with pytest.raises(ValueError):
        RateLimiter(-1)


def test_min_interval_setting(monkeypatch: pytest.MonkeyPatch, oso_home) -> None:
    assert min_interval_setting("demo", 5.0) == 5.0
    monkeypatch.setenv("DAGSTER__DEMO__MIN_INTERVAL", "0.25")
    assert min_interval_setting("demo", 5.0) == 0.25
    monkeypatch.setenv("DAGSTER__DEMO__MIN_INTERVAL", "fast")
    with pytest.raises(ValueError, match="demo.min_interval"):
        min_interval_setting("demo")


def test_source_errors_survive_pickling_as_prefect_stores_them() -> None:
    import pickle

    from oso_core.errors import BadFileError, RecordError, Skipped, SourceError

    errors = [
        SourceError("defillama", "/protocols", "HTTP 500 after 6 attempts"),
        RecordError("defillama", "/protocol/x", "expected a number", record="#3", field="tvl"),
        BadFileError("crates", "db-dump.tar.gz", "bad quote", member="data/crates.csv", line=7, field="id"),
        Skipped("/protocol/gone", 404),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error) and copy.__dict__ == error.__dict__


def test_an_idle_connection_is_kept_past_httpx_default_expiry() -> None:
    """httpx drops a pooled connection idle for 5 s; its pool can then close a connection already handed to another
    fan-out thread, under that thread's request, which fails or waits for its read timeout (encode/httpcore#1110).
    A connection idle for longer than 5 s is reused instead of expired."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    ports: list[int] = []

    class KeepAlive(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            return

        def do_GET(self) -> None:
            ports.append(self.client_address[1])
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S}, daemon=True).start()
    try:
        with client(f"http://127.0.0.1:{server.server_address[1]}") as http:
            http.get_json("/first")
            time.sleep(5.5)
            http.get_json("/second")
    finally:
        server.shutdown()
        server.server_close()
    assert len(ports) == 2 and ports[0] == ports[1], ports


def test_the_replay_server_records_each_concurrent_requests_own_headers() -> None:
    """A fan-out's requests arrive at once; each record keeps the headers that came with it (the handler set them
    on ``requests[-1]`` after the lock, which could be another thread's record by then)."""
    routes = [Route(f"/item/{i}", json={"i": i}) for i in range(16)]
    with ReplayServer(routes) as server:

        def fetch(i: int) -> None:
            with httpx.Client(base_url=server.url) as http:
                for _ in range(25):
                    http.get(f"/item/{i}", headers={"X-Item": str(i)}).raise_for_status()

        threads = [threading.Thread(target=fetch, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert len(server.requests) == 16 * 25
    mislabelled = [r.path for r in server.requests if r.path != f"/item/{r.headers.get('X-Item')}"]
    assert not mislabelled, mislabelled[:5]
