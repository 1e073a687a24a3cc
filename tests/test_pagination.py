"""Page, offset and next-link pagination and parent→child fan-out, to the end, against local servers."""

from __future__ import annotations

import json
import random
import threading
import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from oso_core.errors import Skipped, SourceError
from oso_core.transport.fanout import fan_out
from oso_core.transport.http import HttpClient, RetryPolicy
from oso_core.transport.pagination import json_next, paginate_next_link, paginate_offset, paginate_pages
from oso_dev.replay import ReplayServer, Route

ITEMS = [{"id": i} for i in range(23)]
FAST = RetryPolicy(attempts=3, backoff_initial=0.01, jitter=0)


def json_response(payload: object, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload), content_type="application/json", headers=headers)


@pytest.fixture
def http(httpserver: HTTPServer):
    with HttpClient("demo", httpserver.url_for(""), retry=FAST) as client:
        yield client


def offset_api(items: list[dict], with_total: bool):
    def handler(request: Request) -> Response:
        offset, limit = int(request.args["offset"]), int(request.args["limit"])
        body: dict = {"data": {"items": items[offset : offset + limit]}}
        if with_total:
            body["data"]["totalCount"] = len(items)
        return json_response(body)

    return handler


def test_offset_pagination_to_a_short_last_page(httpserver: HTTPServer, http: HttpClient) -> None:
    httpserver.expect_request("/list").respond_with_handler(offset_api(ITEMS, with_total=False))
    pages = list(paginate_offset(http, "/list", limit=10, records="data.items", params={"q": "x"}))
    assert [len(p) for p in pages] == [10, 10, 3]
    assert [r["id"] for p in pages for r in p] == list(range(23))
    assert [dict(r.args) for r, _ in httpserver.log] == [
        {"q": "x", "offset": "0", "limit": "10"},
        {"q": "x", "offset": "10", "limit": "10"},
        {"q": "x", "offset": "20", "limit": "10"},
    ]


def test_offset_pagination_stops_at_the_total_without_an_empty_request(
    httpserver: HTTPServer, http: HttpClient
) -> None:
    httpserver.expect_request("/list").respond_with_handler(offset_api(ITEMS[:20], with_total=True))
    pages = list(paginate_offset(http, "/list", limit=10, records="data.items", total="data.totalCount"))
    assert [len(p) for p in pages] == [10, 10]
    assert len(httpserver.log) == 2


def test_offset_pagination_exact_multiple_without_total_ends_on_empty_page(
    httpserver: HTTPServer, http: HttpClient
) -> None:
    httpserver.expect_request("/list").respond_with_handler(offset_api(ITEMS[:20], with_total=False))
    assert sum(len(p) for p in paginate_offset(http, "/list", limit=10, records="data.items")) == 20
    assert len(httpserver.log) == 3


def test_page_number_pagination(httpserver: HTTPServer, http: HttpClient) -> None:
    def handler(request: Request) -> Response:
        page, size = int(request.args["page"]), int(request.args["per_page"])
        return json_response(ITEMS[(page - 1) * size : page * size])

    httpserver.expect_request("/pages").respond_with_handler(handler)
    pages = list(paginate_pages(http, "/pages", size=5, size_param="per_page"))
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    capped = list(paginate_pages(http, "/pages", size=5, size_param="per_page", max_pages=2))
    assert len(capped) == 2


def test_page_number_pagination_with_total_pages(httpserver: HTTPServer, http: HttpClient) -> None:
    def handler(request: Request) -> Response:
        page = int(request.args["p"])
        return json_response({"results": ITEMS[page * 8 : (page + 1) * 8], "pages": 3})

    httpserver.expect_request("/p").respond_with_handler(handler)
    pages = list(paginate_pages(http, "/p", records="results", page_param="p", first_page=0, total_pages="pages"))
    assert [len(p) for p in pages] == [8, 8, 7]
    assert len(httpserver.log) == 3


def test_next_link_from_link_header_relative_and_absolute(httpserver: HTTPServer, http: HttpClient) -> None:
    base = httpserver.url_for("")

    def handler(request: Request) -> Response:
        cursor = int(request.args.get("cursor", 0))
        headers = {}
        if cursor + 10 < len(ITEMS):
            nxt = f"/feed?cursor={cursor + 10}" if cursor == 0 else f"{base}/feed?cursor={cursor + 10}"
            headers["Link"] = f'<{nxt}>; rel="next", <{base}/feed>; rel="first"'
        return json_response(ITEMS[cursor : cursor + 10], headers)

    httpserver.expect_request("/feed").respond_with_handler(handler)
    pages = list(paginate_next_link(http, "/feed"))
    assert [r["id"] for p in pages for r in p] == list(range(23))
    assert [r.args.get("cursor") for r, _ in httpserver.log] == [None, "10", "20"]


def test_next_link_from_the_payload_and_loop_detection(httpserver: HTTPServer, http: HttpClient) -> None:
    httpserver.expect_request("/a").respond_with_json({"items": [1, 2], "links": {"next": "/b"}})
    httpserver.expect_request("/b").respond_with_json({"items": [3], "links": {"next": None}})
    httpserver.expect_request("/loop").respond_with_json({"items": [1], "links": {"next": "/loop"}})
    pages = list(paginate_next_link(http, "/a", records="items", next_link=json_next("links.next")))
    assert pages == [[1, 2], [3]]
    with pytest.raises(SourceError, match="points back at a page already read"):
        list(paginate_next_link(http, "/loop", records="items", next_link=json_next("links.next")))


def test_pagination_errors_name_the_field(httpserver: HTTPServer, http: HttpClient) -> None:
    httpserver.expect_request("/nolist").respond_with_json({"data": {"items": {"id": 1}}})
    httpserver.expect_request("/nofield").respond_with_json({"data": {}})
    with pytest.raises(SourceError, match="demo: /nolist: field 'data.items' should be a list of records, got dict"):
        list(paginate_offset(http, "/nolist", limit=10, records="data.items"))
    with pytest.raises(SourceError, match="demo: /nofield: field 'data.items' is missing"):
        list(paginate_offset(http, "/nofield", limit=10, records="data.items"))


def test_fan_out_keeps_input_order_bounds_concurrency_and_sorts_outcomes() -> None:
    in_flight, peak = 0, 0
    lock = threading.Lock()

    def fetch(n: int) -> int:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(random.uniform(0, 0.02))
        with lock:
            in_flight -= 1
        if n % 10 == 3:
            raise Skipped(f"/item/{n}", 404)
        if n == 17:
            raise ValueError("bad item")
        return n * n

    consumed: list[int] = []

    def items():
        for n in range(40):
            consumed.append(n)
            yield n

    result = fan_out(items(), fetch, max_workers=3)
    assert peak <= 3
    assert [n for n, _ in result.results] == [n for n in range(40) if n % 10 != 3 and n != 17]
    assert result.values()[:3] == [0, 1, 4]
    assert result.skipped == [(3, "HTTP 404"), (13, "HTTP 404"), (23, "HTTP 404"), (33, "HTTP 404")]
    assert [(n, str(e)) for n, e in result.errors] == [(17, "bad item")]
    assert consumed == list(range(40))
    with pytest.raises(SourceError, match=r"demo: /item/\{n\}: 1 item\(s\) failed: 17: bad item"):
        result.raise_for_errors("demo", "/item/{n}")


def test_fan_out_fail_fast_stops_submitting() -> None:
    def fetch(n: int) -> int:
        if n == 2:
            raise RuntimeError("boom")
        time.sleep(0.01)
        return n

    result = fan_out(range(100), fetch, max_workers=2, fail_fast=True)
    assert len(result.errors) == 1
    assert result.cancelled > 80
    assert len(result.results) + len(result.errors) + result.cancelled == 100


def test_parent_to_child_fan_out_over_http() -> None:
    routes = [
        Route("/parents", json={"children": ["a", "b", "gone", "c"]}),
        Route("/child/gone", status=404),
        Route("/child/b", status=503, times=1),
        Route("/child/*", json={"value": 1}),
    ]
    with ReplayServer(routes) as server, HttpClient("demo", server.url, retry=FAST) as http:
        parents = http.get_json("/parents")["children"]
        result = fan_out(parents, lambda c: http.get_json(f"/child/{c}", on_status={404: "skip"}), max_workers=2)
    assert [c for c, _ in result.results] == ["a", "b", "c"]
    assert result.skipped_labels() == ["gone (HTTP 404)"]
    assert not result.errors
    with pytest.raises(ValueError):
        fan_out([], lambda x: x, max_workers=0)
