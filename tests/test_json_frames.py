"""Native JSON page decoding and concurrent offset pages: the same frames and the same errors as the slow path.

``FrameDecoder`` reads a page's bytes with Arrow into the declared schema; every page it cannot vouch for goes
through ``json.loads`` + ``records_to_frame``. These tests hold the two paths to each other (identical frames for
good pages, identical error text for bad records) and drive ``paginate_offset`` reading pages through
``FrameDecoder.read`` (the REST engine's path) against local servers:
page order under concurrency, 429 + ``Retry-After``, the bounded look-ahead, and a malformed record mid-stream
leaving the table at its previous snapshot.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from oso_core.errors import PayloadError, RateLimited, RecordError
from oso_core.transport.http import HttpClient, RetryPolicy
from oso_core.transport.json_frames import FrameDecoder
from oso_core.transport.pagination import json_next, offset_pages, paginate_offset, parallel_pages_setting
from oso_core.transport.records import Where, group_frames, records_to_frame

FAST = RetryPolicy(attempts=4, backoff_initial=0.01, jitter=0)
WHERE = Where("demo", "/items")
MONEY = pl.Struct({"value": pl.Float64, "currency": pl.String, "cents": pl.Int64})
SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "n": pl.Int64(),
    "small": pl.Int32(),
    "ratio": pl.Float64(),
    "weight": pl.Float32(),
    "ok": pl.Boolean(),
    "amount": MONEY,
    "account": pl.Struct({"slug": pl.String, "since": pl.Datetime("us", "UTC"), "tags": pl.List(pl.String)}),
    "tags": pl.List(pl.String),
    "scores": pl.List(pl.Int64),
    "history": pl.List(pl.Struct({"at": pl.Datetime("us", "UTC"), "day": pl.Date})),
    "createdAt": pl.Datetime("us", "UTC"),
    "day": pl.Date(),
}
REQUIRED = ("id", "createdAt")


def item(i: int) -> dict[str, Any]:
    """A good record; every third or so has nulls, missing fields, empty lists or null items somewhere."""
    rec: dict[str, Any] = {
        "id": f"r{i}",
        "n": i * 1_000_003,
        "small": i % 100,
        "ratio": i / 7 if i % 4 else i,  # integers are numbers too
        "weight": i / 3 + 1e-9,  # narrowed to 32 bits from the double, as Polars narrows Python's floats
        "ok": bool(i % 2),
        "amount": {"value": i / 100, "currency": "USD", "cents": i} if i % 5 else None,
        "account": {"slug": f"a{i}", "since": f"2024-02-{1 + i % 28:02d}T10:11:12.{i % 1000:03d}Z", "tags": ["x"]},
        "tags": [["open source", "python"], [], None, ["ü ünïcode", None]][i % 4],
        "scores": [i, -i] if i % 3 else None,
        "history": [{"at": "2024-01-01T00:00:00+02:00", "day": "2024-01-31"}, {"at": None, "day": None}],
        "createdAt": f"2024-01-01T00:{i % 60:02d}:00{'Z' if i % 2 else '-05:30'}",
        "day": f"2024-03-{1 + i % 28:02d}",
        "extra": {"ignored": [1, 2]},
    }
    if i % 3 == 0:
        del rec["small"]
        rec["account"] = {"slug": None, "since": None, "tags": None}
    if i % 7 == 0:
        rec["ok"] = None
        rec["history"] = None
    return rec


ITEMS = [item(i) for i in range(1, 58)]


def decoder(**kw: Any) -> FrameDecoder:
    options: dict[str, Any] = {"records": "data.items", "total": "data.total", "required": REQUIRED}
    options.update(kw)
    return FrameDecoder(SCHEMA, WHERE, record_id="id", **options)


def page_body(items: list[Any], total: int | None = None, **extra: Any) -> bytes:
    return json.dumps({"data": {"items": items, "total": len(items) if total is None else total}, **extra}).encode()


def slow_frame(items: list[Any], start: int = 0) -> pl.DataFrame:
    return records_to_frame(items, SCHEMA, where=WHERE, required=REQUIRED, record_id="id", start=start)


# -- one page ---------------------------------------------------------------------------------------------------------


def test_good_page_decodes_natively_to_the_slow_paths_frame() -> None:
    page = decoder().decode(page_body(ITEMS, total=1234))
    assert page.fast and page.total == 1234
    assert page.frame.schema == pl.Schema(SCHEMA)
    assert_frame_equal(page.frame, slow_frame(ITEMS))
    # nulls kept apart: a null struct, a struct of nulls, a null list, an empty list, a null item
    rows = page.frame.to_dicts()
    assert rows[4]["amount"] is None and rows[2]["account"] == {"slug": None, "since": None, "tags": None}
    assert [r["tags"] for r in rows[:4]] == [[], None, ["ü ünïcode", None], ["open source", "python"]]
    assert rows[1]["createdAt"].isoformat() == "2024-01-01T05:32:00+00:00"  # -05:30 read as UTC


def test_other_shapes_of_payload() -> None:
    """A bare list, a one-level path, pretty-printed JSON, an empty page and an empty schema struct all agree."""
    bare = FrameDecoder(SCHEMA, WHERE, records="$", required=REQUIRED).decode(json.dumps(ITEMS[:5]).encode())
    assert bare.fast and bare.total is None
    assert_frame_equal(bare.frame, slow_frame(ITEMS[:5]))
    pretty = json.dumps({"nodes": ITEMS[:5], "count": 5}, indent=2).encode()
    page = FrameDecoder(SCHEMA, WHERE, records="nodes", total="count").decode(pretty)
    assert page.fast and page.total == 5
    assert_frame_equal(page.frame, slow_frame(ITEMS[:5]))
    empty = decoder().decode(page_body([], total=0))
    assert empty.fast and empty.frame.height == 0 and empty.frame.schema == pl.Schema(SCHEMA)


@pytest.mark.parametrize(
    "change",
    [
        {"n": 3.0},  # a whole float for an integer: the slow path converts it
        {"createdAt": "2024-01-01"},  # a date alone: Python's parser takes it
        {"createdAt": "2024-01-01T00:00:00"},  # no zone: UTC
        {"n": 2**62},  # big but fits
    ],
)
def test_values_only_the_slow_path_converts_give_the_same_frame(change: dict) -> None:
    items = [*ITEMS[:3], {**ITEMS[3], **change}, *ITEMS[4:9]]
    page = decoder().decode(page_body(items))
    assert_frame_equal(page.frame, slow_frame(items))


BAD = [
    ({"n": "12"}, "field 'n': expected an integer, got str '12'"),
    ({"n": 1.5}, "field 'n': expected an integer, got float 1.5"),
    ({"n": True}, "field 'n': expected an integer, got bool True"),
    ({"n": 2**70}, "field 'n': expected an integer that fits Int64, got int 1180591620717411303424"),
    ({"small": 2**40}, "field 'small': expected an integer that fits Int32, got int 1099511627776"),
    ({"id": 12}, "record 12 #2005: field 'id': expected a string, got int 12"),
    ({"ratio": "0.5"}, "field 'ratio': expected a number, got str '0.5'"),
    ({"ok": 1}, "field 'ok': expected true/false, got int 1"),
    ({"amount": "12 USD"}, "field 'amount': expected an object, got str '12 USD'"),
    ({"amount": {"value": 1, "currency": 840, "cents": 1}}, "field 'amount': currency: expected a string, got int 840"),
    ({"tags": "python"}, "field 'tags': expected a list, got str 'python'"),
    ({"scores": [1, "2"]}, "field 'scores': item 1: expected an integer, got str '2'"),
    ({"createdAt": "yesterday"}, "field 'createdAt': expected an ISO timestamp, got str 'yesterday'"),
    ({"createdAt": None}, "field 'createdAt': is null"),
    ({"day": "31/01/2024"}, "field 'day': expected an ISO date"),
    ({"history": [{"at": 5}]}, "field 'history': item 0: at: expected a timestamp, got int 5"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_bad_record_gives_the_slow_paths_error_text(change: dict, message: str) -> None:
    items = [*ITEMS[:5], {**ITEMS[5], **change}, *ITEMS[6:10]]
    with pytest.raises(RecordError) as slow:
        slow_frame(items, start=2000)
    with pytest.raises(RecordError) as fast:
        decoder().decode(page_body(items), start=2000)
    assert str(fast.value) == str(slow.value)
    assert str(fast.value).startswith("demo: /items: record ") and " #2005: field " in str(fast.value)
    assert message in str(fast.value)


def test_missing_required_field_and_null_record_are_named_as_the_slow_path_names_them() -> None:
    without_id = [*ITEMS[:2], {k: v for k, v in ITEMS[2].items() if k != "id"}]
    with_null = [*ITEMS[:2], None, *ITEMS[3:4]]
    for items, text in ((without_id, "demo: /items: record #2: field 'id': missing"), (with_null, "record #2")):
        with pytest.raises(RecordError) as slow:
            slow_frame(items)
        with pytest.raises(RecordError) as fast:
            decoder().decode(page_body(items))
        assert str(fast.value) == str(slow.value)
        assert text in str(fast.value)


def test_payload_problems_are_named_like_the_paginators_name_them(httpserver: HTTPServer) -> None:
    with HttpClient("demo", httpserver.url_for(""), retry=FAST) as http:
        for body, problem in (
            (b"<html>", "malformed JSON"),
            (json.dumps({"data": {"total": 3}}).encode(), "field 'data.items' is missing from the response"),
            (json.dumps({"data": {"items": {}, "total": 1}}).encode(), "should be a list of records, got dict"),
            (json.dumps({"data": {"items": [], "total": "3"}}).encode(), "field 'data.total' should be an integer"),
        ):
            with pytest.raises(PayloadError, match=problem) as caught:
                decoder().decode(body, http=http)
            assert str(caught.value).startswith("demo: /items: ")
    # a null list of records is an empty page, a null total no total, as in paginate_offset
    page = decoder().decode(json.dumps({"data": {"items": None, "total": None}}).encode())
    assert page.frame.height == 0 and page.total is None


def test_schemas_arrow_cannot_read_go_the_slow_way_with_the_same_result() -> None:
    schema = {"id": pl.String(), "at": pl.Datetime("us"), "amount": pl.Decimal(10, 2)}
    rows = [{"id": "a", "at": "2024-01-01T00:00:00", "amount": 1.5}]
    assert not FrameDecoder(schema, WHERE).native
    page = FrameDecoder(schema, WHERE).decode(json.dumps(rows).encode())
    assert not page.fast
    assert_frame_equal(page.frame, records_to_frame(rows, schema, where=WHERE))


# -- pages over HTTP --------------------------------------------------------------------------------------------------


class ItemsApi:
    """``/items?offset=&limit=`` over ``items``; ``hooks[offset]`` may answer instead (a 429, a slow page)."""

    def __init__(self, items: list[Any], total: int | None = None):
        self.items, self.total = items, len(items) if total is None else total
        self.offsets: list[int] = []
        self.hooks: dict[int, Any] = {}
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        offset, limit = int(request.args["offset"]), int(request.args["limit"])
        with self.lock:
            self.offsets.append(offset)
        hook = self.hooks.get(offset)
        if hook is not None:
            answer = hook(request)
            if answer is not None:
                return answer
        body = page_body(self.items[offset : offset + limit], total=self.total)
        return Response(body, content_type="application/json")


@pytest.fixture
def http(httpserver: HTTPServer):
    with HttpClient("demo", httpserver.url_for(""), retry=FAST) as client:
        yield client


def frame_pages(http: HttpClient, parallel: int = 4, **kw: Any) -> Iterator[pl.DataFrame]:
    """Offset pages of ``/items`` decoded natively, ``parallel`` at a time, as the REST engine reads them."""
    read = FrameDecoder(SCHEMA, WHERE, records="data.items", total="data.total", required=REQUIRED, record_id="id")
    return paginate_offset(http, "/items", limit=10, total="data.total", read=read.read, parallel=parallel, **kw)


def frames(http: HttpClient, **kw: Any) -> list[pl.DataFrame]:
    return list(frame_pages(http, **kw))


def test_pages_fetched_in_parallel_arrive_in_order(httpserver: HTTPServer, http: HttpClient) -> None:
    api = ItemsApi(ITEMS)
    # early pages answer last: order must come from the offsets, not from arrival
    api.hooks = {o: (lambda r, d=(60 - o) / 600: time.sleep(d)) for o in range(10, 60, 10)}
    httpserver.expect_request("/items").respond_with_handler(api)
    got = frames(http, parallel=3)
    assert [f.height for f in got] == [10, 10, 10, 10, 10, 7]
    assert_frame_equal(pl.concat(got), slow_frame(ITEMS))
    assert sorted(api.offsets) == [0, 10, 20, 30, 40, 50]  # each page once, none past the total
    assert api.offsets[0] == 0  # the first page (which states the total) alone


def test_sequential_and_dict_pages_agree(httpserver: HTTPServer, http: HttpClient) -> None:
    httpserver.expect_request("/items").respond_with_handler(ItemsApi(ITEMS))
    assert_frame_equal(pl.concat(frames(http, parallel=1)), pl.concat(frames(http, parallel=4)))
    sequential = list(paginate_offset(http, "/items", limit=10, records="data.items", total="data.total"))
    parallel = list(paginate_offset(http, "/items", limit=10, records="data.items", total="data.total", parallel=3))
    assert parallel == sequential and sum(len(p) for p in parallel) == len(ITEMS)


def test_a_short_page_ends_the_load_even_if_the_total_says_more(httpserver: HTTPServer, http: HttpClient) -> None:
    api = ItemsApi(ITEMS[:25], total=80)  # the count overstates: the short page at 20 is the end
    httpserver.expect_request("/items").respond_with_handler(api)
    assert sum(f.height for f in frames(http, parallel=3)) == 25
    assert sum(f.height for f in frames(http, parallel=3, max_pages=2)) == 20


def test_429_with_retry_after_is_waited_out_per_page(httpserver: HTTPServer, http: HttpClient) -> None:
    api = ItemsApi(ITEMS)
    refused: list[float] = []

    def limited(request: Request) -> Response | None:
        if len(refused) < 2:
            refused.append(time.monotonic())
            return Response("slow down", status=429, headers={"Retry-After": "0.3"})
        return None

    api.hooks[30] = limited
    httpserver.expect_request("/items").respond_with_handler(api)
    started = time.monotonic()
    got = frames(http, parallel=3)
    assert_frame_equal(pl.concat(got), slow_frame(ITEMS))
    assert api.offsets.count(30) == 3 and http.stats.retries == 2 and http.stats.statuses[429] == 2
    assert refused[1] - refused[0] >= 0.29 and time.monotonic() - started >= 0.59
    # a server that keeps refusing fails the load with the client's usual error, after the earlier pages
    api.hooks[30] = lambda r: Response("no", status=429, headers={"Retry-After": "0"})
    seen: list[int] = []
    with pytest.raises(RateLimited, match="demo: /items: HTTP 429 after 4 attempt"):
        for frame in frame_pages(http, parallel=3):
            seen.append(frame.height)
    assert seen == [10, 10, 10]


def test_look_ahead_is_bounded_and_stopping_early_cancels_it(httpserver: HTTPServer, http: HttpClient) -> None:
    many = [item(i) for i in range(1, 501)]
    api = ItemsApi(many)
    httpserver.expect_request("/items").respond_with_handler(api)
    pages = frame_pages(http, parallel=2)
    first = next(pages)
    assert first.height == 10 and api.offsets == [0]  # the first page, which states the total, alone
    next(pages)
    time.sleep(0.3)  # the consumer holds page 2: the pool runs ahead only as far as its window (2 × parallel)
    assert 2 <= len(api.offsets) <= 1 + 2 * 2
    pages.close()  # returns once the requests in flight have finished; the others are cancelled
    sent = len(api.offsets)
    time.sleep(0.2)
    assert len(api.offsets) == sent <= 1 + 2 * 2


def test_parallel_pages_setting(monkeypatch: pytest.MonkeyPatch, oso_home) -> None:
    assert parallel_pages_setting("demo") == 4 and parallel_pages_setting("demo", 2) == 2
    monkeypatch.setenv("DAGSTER__DEMO__PARALLEL_PAGES", "3")
    assert parallel_pages_setting("demo") == 3
    monkeypatch.setenv("DAGSTER__DEMO__PARALLEL_PAGES", "0")
    with pytest.raises(ValueError, match="demo.parallel_pages"):
        parallel_pages_setting("demo")
    with pytest.raises(ValueError):
        list(offset_pages(lambda offset: ([], 0, None), limit=10, parallel=0))


def test_group_frames_keeps_rows_in_order() -> None:
    parts = [pl.DataFrame({"i": list(range(s, s + 7))}) for s in range(0, 70, 7)]
    grouped = list(group_frames(parts, 20))
    assert [g.height for g in grouped] == [21, 21, 21, 7]
    assert pl.concat(grouped)["i"].to_list() == list(range(70))


def test_malformed_record_mid_stream_leaves_the_table_at_its_snapshot(
    httpserver: HTTPServer, http: HttpClient, warehouse
) -> None:
    good = [item(i) for i in range(1, 121)]
    api = ItemsApi(good)
    httpserver.expect_request("/items").respond_with_handler(api)
    table = "demo.items"
    first = warehouse.write(table, group_frames(frames(http, parallel=3), 50), mode="append")
    assert first.rows_written == 120
    loaded = warehouse.catalog.load_table(table)
    snapshot = loaded.current_snapshot().snapshot_id
    before = pl.from_arrow(loaded.scan().to_arrow())
    assert before.height == 120 and sorted(before["id"]) == sorted(f"r{i}" for i in range(1, 121))

    api.items = [*good[:75], {**good[75], "n": "seventy-six"}, *good[76:]]  # page 70..79, record #75
    with pytest.raises(RecordError) as caught:
        warehouse.write(table, group_frames(frames(http, parallel=3), 50), mode="append")
    assert str(caught.value) == "demo: /items: record r76 #75: field 'n': expected an integer, got str 'seventy-six'"
    reloaded = warehouse.catalog.load_table(table)
    assert reloaded.current_snapshot().snapshot_id == snapshot
    assert_frame_equal(pl.from_arrow(reloaded.scan().to_arrow()), before)


def test_the_paths_a_paginator_reads_come_in_the_same_pass() -> None:
    """A next link and a cursor are read with the records into a stand-in payload; a cursor that is a number is
    no text, so that page goes the slow way with its whole payload, to the same frame."""
    text = FrameDecoder(SCHEMA, WHERE, records="data.items", total="data.total", text=("links.next", "cursor"))
    body = {"data": {"items": ITEMS[:3], "total": 9}, "links": {"next": "/items?after=3"}}
    page = text.decode(json.dumps(body).encode())
    assert page.fast and page.payload == {"data": {"total": 9}, "links": {"next": "/items?after=3"}, "cursor": None}
    assert json_next("links.next")(None, page.payload) == "/items?after=3"  # type: ignore[arg-type]
    slow = text.decode(json.dumps({**body, "cursor": 7}).encode())
    assert not slow.fast and slow.payload["cursor"] == 7
    assert_frame_equal(slow.frame, page.frame)
    assert not FrameDecoder(SCHEMA, WHERE, records="$", text=("next",)).native  # a bare list has no other fields
