"""Described REST sources (oso_core.kinds.rest_source) against local replay servers: every paginator, auth from a
secret, parent → child requests, column mapping, transforms from the source's folder, write dispositions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from oso_core.config.secrets import SecretReference
from oso_core.errors import SourceError
from oso_core.kinds.rest_model import DescriptionError
from oso_core.kinds.rest_source import build
from oso_core.model.secret_params import SecretParameterError
from oso_core.transport.records import Where
from oso_dev.replay import ReplayServer, Route

SECRET = "s3cr3t-demo-token-0123456789"


def describe(tmp_path: Path, description: dict[str, Any], name: str = "source.yaml") -> Path:
    file = tmp_path / name
    file.write_text(yaml.safe_dump(description, sort_keys=False))
    return file


def ids(n: int, *more: int) -> list[dict[str, int]]:
    return [{"id": i} for i in (n, *more)]


PAGINATED = {
    "name": "paged",
    "client": {"base_url": "https://paged.example"},
    "resource_defaults": {"fields": {"id": "bigint"}, "primary_key": "id"},
    "resources": [
        {"name": "numbered", "endpoint": {"path": "/pages", "paginator": {
            "type": "page_number", "page_size": 2, "page_size_param": "per_page"}}},
        {"name": "offsets", "endpoint": {"path": "/offset", "data_selector": "data.items", "paginator": {
            "type": "offset", "limit": 2, "total_path": "total"}}},
        {"name": "linked", "endpoint": {"path": "/linked", "data_selector": "results", "paginator": {
            "type": "json_link", "next_url_path": "next"}}},
        {"name": "headed", "endpoint": {"path": "/headed", "paginator": "header_link"}},
        {"name": "cursored", "endpoint": {"path": "/cursor", "params": {"kind": "x"}, "data_selector": "items",
            "paginator": {"type": "cursor", "cursor_path": "meta.cursor", "cursor_param": "cursor"}}},
    ],
}  # fmt: skip

PAGINATED_ROUTES = [
    Route("/pages", query={"page": "1", "per_page": "2"}, json=ids(1, 2)),
    Route("/pages", query={"page": "2", "per_page": "2"}, json=ids(3)),
    Route("/offset", query={"offset": "0", "limit": "2"}, json={"data": {"items": ids(1, 2)}, "total": 4}),
    Route("/offset", query={"offset": "2", "limit": "2"}, json={"data": {"items": ids(3, 4)}, "total": 4}),
    Route("/linked", query={"after": "2"}, json={"results": ids(3), "next": None}),
    Route("/linked", json={"results": ids(1, 2), "next": "/linked?after=2"}),
    Route("/headed", query={"page": "2"}, json=ids(5)),
    Route("/headed", json=ids(4), headers={"Link": '</headed?page=2>; rel="next"'}),
    Route("/cursor", query={"cursor": "abc", "kind": "x"}, json={"items": ids(7), "meta": {"cursor": None}}),
    Route("/cursor", query={"kind": "x"}, json={"items": ids(6), "meta": {"cursor": "abc"}}),
]


def test_every_paginator_reads_every_page(tmp_path: Path, warehouse) -> None:
    built = build(describe(tmp_path, PAGINATED))
    with ReplayServer(PAGINATED_ROUTES) as server:
        summary = built.flow(base_url=server.url)
    assert summary.rows == {"paged.numbered": 3, "paged.offsets": 4, "paged.linked": 3, "paged.headed": 2,
                            "paged.cursored": 2}  # fmt: skip
    tables = [t.name for t in built.source.tables]
    read = {t: warehouse.sql(f"SELECT id FROM paged.{t} ORDER BY id")["id"].to_list() for t in tables}
    assert read == {"numbered": [1, 2, 3], "offsets": [1, 2, 3, 4], "linked": [1, 2, 3], "headed": [4, 5],
                    "cursored": [6, 7]}  # fmt: skip
    assert [r.path for r in server.requests].count("/offset") == 2  # the declared total ends the offsets


CHILDREN = {
    "name": "forum",
    "description": "users and their posts",
    "client": {"base_url": "https://forum.example", "auth": {"type": "bearer", "secret": "forum.token"}},
    "resources": [
        {"name": "users", "endpoint": "/users", "fields": {"id": "text", "profile": {"name": "text"}},
         "columns": {"handle": "id", "name": "profile.name"}, "primary_key": "handle"},
        {"name": "posts", "endpoint": {"path": "/users/{handle}/posts", "response_actions": {404: "ignore"},
         "params": {"handle": {"type": "resolve", "resource": "users", "field": "handle"}}},
         "transform": "shape:posts", "naming": "snake_case", "fields": {"handle": "text", "post_id": "bigint",
         "title": "text", "edited_title": "text"}, "required": ["post_id"],
         "columns": {"handle": "handle", "post_id": "post_id", "title": ["edited_title", "title"]},
         "write_disposition": "merge", "primary_key": ["handle", "post_id"]},
    ],
}  # fmt: skip

SHAPE = '''
def posts(payload, call):
    """Posts come as {"posts": {"<id>": {...}}}: the map's keys are the ids."""
    if not payload.get("posts"):
        call.note("no posts")
    return [{"postId": int(key), **post} for key, post in (payload.get("posts") or {}).items()]
'''


def forum_routes(title: str) -> list[Route]:
    return [
        Route("/users", json=[{"id": "ann", "profile": {"name": "Ann"}}, {"id": "bo", "profile": None},
                              {"id": "cy", "profile": {"name": "Cy"}}]),
        Route("/users/ann/posts", json={"posts": {"1": {"title": title}, "2": {"title": "b", "editedTitle": "B!"}}}),
        Route("/users/bo/posts", json={"posts": {}}),
    ]  # fmt: skip  # cy's posts answer 404: ignored, as declared


def test_parent_child_columns_transform_auth_and_merge(tmp_path: Path, warehouse, monkeypatch) -> None:
    (tmp_path / "shape.py").write_text(SHAPE)  # a folder that is no package: the transform is loaded by path
    monkeypatch.setenv("DAGSTER__FORUM__TOKEN", SECRET)
    built = build(describe(tmp_path, CHILDREN))
    assert built.source.secrets == (SecretReference("forum", "token"),)
    assert [(t.name, t.mode, t.key) for t in built.source.tables] == [
        ("users", "replace", ("handle",)), ("posts", "merge", ("handle", "post_id"))]  # fmt: skip
    with ReplayServer(forum_routes("a")) as server:
        summary = built.flow(base_url=server.url)
    assert {r.headers.get("Authorization") for r in server.requests} == {f"Bearer {SECRET}"}
    assert summary.skipped == ["posts: cy (HTTP 404)"] and "posts: bo: no posts" in summary.notes
    users = warehouse.sql("SELECT * FROM forum.users ORDER BY handle")
    assert users.rows() == [("ann", "Ann"), ("bo", None), ("cy", "Cy")]
    with ReplayServer(forum_routes("a, edited")) as server:
        built.flow(base_url=server.url)
    posts = warehouse.sql("SELECT * FROM forum.posts ORDER BY post_id")
    assert posts.columns == ["handle", "post_id", "title"]
    assert posts.rows() == [("ann", 1, "a, edited"), ("ann", 2, "B!")]


def test_secret_in_the_query_reaches_every_page_and_never_an_error(tmp_path: Path, warehouse, monkeypatch) -> None:
    monkeypatch.setenv("DAGSTER__KEYED__API_KEY", SECRET)
    description = {
        "name": "keyed",
        "client": {"base_url": "https://keyed.example", "retry": {"attempts": 1},
                   "auth": {"type": "api_key", "secret": "keyed.api_key", "name": "key", "location": "query"}},
        "resources": [{"name": "items", "endpoint": {"path": "/items", "data_selector": "results",
                       "paginator": {"type": "json_link", "next_url_path": "next"}}, "fields": {"id": "bigint"}}],
    }  # fmt: skip
    built = build(describe(tmp_path, description))
    routes = [
        Route("/items", query={"after": "1"}, json={"results": ids(2), "next": "/items?after=2"}),
        Route("/items", query={"after": "2"}, status=500, text=f"boom {SECRET}"),
        Route("/items", json={"results": ids(1), "next": "/items?after=1"}),
    ]
    with ReplayServer(routes) as server, pytest.raises(SourceError) as caught:
        built.flow(base_url=server.url)
    assert [(r.query.get("after"), r.query.get("key")) for r in server.requests][:3] == [
        (None, SECRET), ("1", SECRET), ("2", SECRET)]  # fmt: skip
    assert "HTTP 500" in str(caught.value) and SECRET not in str(caught.value)
    with pytest.raises(SecretParameterError):
        built.flow(base_url=f"http://127.0.0.1:9/?key={SECRET}")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"client": {"base_url": "https://x.example", "headers": {"Authorization": "Bearer abcdefgh12345"}}},
         "client.headers: header 'Authorization' looks like a credential; name its secret in `auth` instead"),
        ({"client": {"base_url": "https://x.example", "auth": {"type": "bearer", "secret": "ghp_abcdef123"}}},
         "client.auth.secret: must name a secret as group.key (snake_case), never hold its value"),
        ({"resources": [{"name": "t", "endpoint": "/t", "fields": {"c": {"a": "text"}}, "columns": {"x": "c.b"}}]},
         "resources[0]: column 'x': field 'c' has no 'b' in its type"),
        ({"resources": [{"name": "t", "endpoint": "/t", "fields": {"c": "integer"}}]},
         "resources[0].fields: field 'c': unknown type 'integer'; one of text, bigint, double, bool, date, timestamp"),
        ({"resources": [{"name": "t", "endpoint": "/t", "fields": {"c": "text"}, "write_disposition": "merge"}]},
         "resources[0]: write_disposition merge needs a primary_key"),
        ({"resources": [{"name": "t", "endpoint": "/t", "fields": {"c": "text"}, "params": {"id": 1}}]},
         "resources[0].params: unknown field (a typo?)"),
        ({"resources": [{"name": "t", "endpoint": {"path": "/t/{id}", "params": {
            "id": {"type": "resolve", "resource": "later", "field": "id"}}}, "fields": {"c": "text"}}]},
         "resource 't': param 'id' resolves from 'later', which is not a resource declared before it"),
    ],
)  # fmt: skip
def test_bad_descriptions_fail_before_anything_runs(tmp_path: Path, change: dict, message: str) -> None:
    description = {"name": "x", "client": {"base_url": "https://x.example"},
                   "resources": [{"name": "t", "endpoint": "/t", "fields": {"c": "text"}}], **change}  # fmt: skip
    file = describe(tmp_path, description, "x.yaml")
    with pytest.raises(DescriptionError) as caught:
        build(file)
    assert str(caught.value) == f"{file}: {message}"


# -- native page decoding ------------------------------------------------------------------------------------------

LEDGER = {
    "name": "ledger",
    "client": {"base_url": "https://ledger.example"},
    "resources": [{
        "name": "entries", "primary_key": "id", "required": ["id"], "record_id": "id",
        "endpoint": {"path": "/entries", "data_selector": "data.items",
                     "paginator": {"type": "offset", "limit": 10, "total_path": "data.total"}},
        "fields": {"id": "text", "amount": {"value": "double", "cents": "bigint"}, "at": "timestamp",
                   "tags": ["text"]},
        "columns": {"id": "id", "amount_cents": "amount.cents", "amount": "amount.value", "booked_at": "at",
                    "tags": "tags"},
    }],
}  # fmt: skip


def entry(i: int) -> dict[str, Any]:
    amount = {"value": i / 4, "cents": i * 25} if i % 3 else None
    at, tags = f"2024-05-{1 + i % 28:02d}T12:00:00Z", [["a"], [], None][i % 3]
    return {"id": f"e{i}", "amount": amount, "at": at, "tags": tags, "other": {"x": i}}


def ledger_routes(entries: list[dict[str, Any]]) -> list[Route]:
    return [
        Route("/entries", query={"offset": str(o), "limit": "10"},
              json={"data": {"items": entries[o : o + 10], "total": len(entries)}})
        for o in range(0, len(entries), 10)
    ]  # fmt: skip


def python_path(description: dict[str, Any]) -> dict[str, Any]:
    """The same description decoded the Python way (``extra: error`` is not native; the records carry none)."""
    resource = {**description["resources"][0], "extra": "error"}
    resource["fields"] = {**resource["fields"], "other": {"x": "bigint"}}
    return {**description, "name": f"{description['name']}_py", "resources": [resource]}


def test_native_pages_give_the_python_paths_table_streamed_in_chunks(tmp_path: Path, warehouse) -> None:
    from oso_core.kinds.rest_source import native_decoder, streamed_resource

    fast, slow = build(describe(tmp_path, LEDGER)), build(describe(tmp_path, python_path(LEDGER), "py.yaml"))
    resource = fast.description.resources[0]
    assert native_decoder(resource, Where("ledger", "/entries")) is not None
    assert native_decoder(slow.description.resources[0], Where("ledger_py", "/entries")) is None
    assert streamed_resource(fast.description, {}) == "entries"
    entries = [entry(i) for i in range(45)]
    with ReplayServer(ledger_routes(entries)) as server:
        assert fast.flow(base_url=server.url).rows == {"ledger.entries": 45}
        assert slow.flow(base_url=server.url).rows == {"ledger_py.entries": 45}
    assert len(server.requests) == 10  # 5 pages each: the total ends both
    ours = warehouse.sql("SELECT * FROM ledger.entries ORDER BY id")
    assert ours.equals(warehouse.sql("SELECT * FROM ledger_py.entries ORDER BY id"))
    assert ours.columns == ["id", "amount_cents", "amount", "booked_at", "tags"]
    assert ours.filter(pl.col("id") == "e4").row(0)[:3] == ("e4", 100, 1.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount": {"value": 1, "cents": "12"}},
         "record e23 #23: field 'amount': cents: expected an integer, got str '12'"),
        ({"id": None}, "record #23: field 'id': is null"),
        ({"at": "soon"}, "record e23 #23: field 'at': expected an ISO timestamp, got str 'soon'"),
    ],
)  # fmt: skip
def test_a_bad_record_on_a_later_page_is_named_as_the_python_path_names_it_and_commits_nothing(
    tmp_path: Path, warehouse, change: dict, message: str
) -> None:
    fast, slow = build(describe(tmp_path, LEDGER)), build(describe(tmp_path, python_path(LEDGER), "py.yaml"))
    entries = [entry(i) for i in range(45)]
    with ReplayServer(ledger_routes(entries)) as server:
        fast.flow(base_url=server.url)
    before = warehouse.snapshot_id("ledger.entries")
    entries[23] = {**entries[23], **change}
    errors = []
    for built in (fast, slow):
        with ReplayServer(ledger_routes(entries)) as server, pytest.raises(SourceError) as caught:
            built.flow(base_url=server.url)
        errors.append(str(caught.value).replace("ledger_py:", "ledger:"))
    assert errors[0] == errors[1] == f"ledger: /entries: {message}"
    assert warehouse.snapshot_id("ledger.entries") == before and warehouse.read("ledger.entries").height == 45


def test_a_value_only_the_python_path_converts_loads_the_same(tmp_path: Path, warehouse) -> None:
    built = build(describe(tmp_path, LEDGER))
    entries = [entry(i) for i in range(25)]
    entries[12] = {**entries[12], "amount": {"value": 3, "cents": 300.0}, "at": "2024-05-02"}  # whole float, a date
    with ReplayServer(ledger_routes(entries)) as server:
        built.flow(base_url=server.url)
    row = warehouse.sql("SELECT amount_cents, amount, booked_at FROM ledger.entries WHERE id = 'e12'").row(0)
    assert row[:2] == (300, 3.0) and row[2].isoformat() == "2024-05-02T00:00:00+00:00"
