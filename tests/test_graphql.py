"""oso_core.transport.graphql against a local server: the three paginations, page retries that shrink, 429, errors,
masking."""

from __future__ import annotations

import logging

import pytest

from oso_core.transport.graphql import (
    GraphQLClient,
    GraphQLErrors,
    MalformedResponse,
    PageFailed,
    PageRetry,
    fetch_count,
    paginate_graphql_keyset,
    paginate_graphql_offset,
)
from oso_dev.replay import ReplayServer, Route

FAST = PageRetry(attempts=4, backoff_initial=0, jitter=0, shrink=0.5, min_page_size=2, rate_limit_wait=0)
OFFSET_QUERY = (
    "query ($limit: Int!, $offset: Int!) { items(limit: $limit, offset: $offset) { totalCount nodes { id } } }"
)
KEYSET_QUERY = "query ($first: Int!, $where: D_filter) { domains(first: $first, orderBy: id, where: $where) { id } }"


def items(ids: list[str], total: int) -> dict:
    return {"data": {"items": {"totalCount": total, "offset": 0, "limit": 0, "nodes": [{"id": i} for i in ids]}}}


def gql_route(body: dict, payload: object = None, *, status: int = 200, times: int | None = None, **kw) -> Route:
    return Route("/graphql", method="POST", body=body, json=payload, status=status, times=times, **kw)


def client(server: ReplayServer, path: str = "/graphql", **kw) -> GraphQLClient:
    return GraphQLClient("demo", server.url + path, retry=kw.pop("retry", FAST), **kw)


def sent(server: ReplayServer, name: str) -> list:
    return [r.body["variables"].get(name) for r in server.requests]


def test_offset_pages_to_the_total_count() -> None:
    routes = [
        gql_route({"variables.offset": 0}, items(["a", "b", "c"], 7)),
        gql_route({"variables.offset": 3}, items(["d", "e", "f"], 7)),
        gql_route({"variables.offset": 6}, items(["g"], 7)),
    ]
    with ReplayServer(routes) as server, client(server) as gql:
        pages = list(
            paginate_graphql_offset(
                gql, OFFSET_QUERY, {}, nodes_path="items.nodes", total_path="items.totalCount", page_size=3
            )
        )
    assert [[n["id"] for n in p] for p in pages] == [["a", "b", "c"], ["d", "e", "f"], ["g"]]
    assert sent(server, "offset") == [0, 3, 6]
    assert sent(server, "limit") == [3, 3, 3]


def test_offset_without_total_stops_at_a_short_page_and_skip_take_names() -> None:
    routes = [
        gql_route({"variables.skip": 0}, {"data": {"attestations": [{"id": "1"}, {"id": "2"}]}}),
        gql_route({"variables.skip": 2}, {"data": {"attestations": [{"id": "3"}]}}),
    ]
    with ReplayServer(routes) as server, client(server) as gql:
        pages = list(
            paginate_graphql_offset(
                gql, "q", {}, nodes_path="attestations", page_size=2, offset_variable="skip", limit_variable="take"
            )
        )
    assert sum(len(p) for p in pages) == 3
    assert len(server.requests) == 2


def test_failing_page_is_retried_smaller_and_paging_continues_with_the_smaller_size() -> None:
    routes = [
        gql_route({"variables.offset": 0, "variables.limit": 4}, {"message": "upstream timeout"}, status=503),
        gql_route({"variables.offset": 0, "variables.limit": 2}, items(["a", "b"], 4)),
        gql_route({"variables.offset": 2, "variables.limit": 2}, items(["c", "d"], 4)),
    ]
    with ReplayServer(routes) as server, client(server) as gql:
        ids = [
            n["id"]
            for p in paginate_graphql_offset(
                gql, OFFSET_QUERY, {}, nodes_path="items.nodes", total_path="items.totalCount", page_size=4
            )
            for n in p
        ]
    assert ids == ["a", "b", "c", "d"]
    assert sent(server, "limit") == [4, 2, 2]


def test_graphql_errors_array_shrinks_the_page_like_a_server_error() -> None:
    errors = {"errors": [{"message": "Query timed out", "path": ["items"]}], "data": None}
    routes = [
        gql_route({"variables.limit": 8}, errors),
        gql_route({"variables.limit": 4}, errors),
        gql_route({"variables.limit": 2}, items(["a"], 1)),
    ]
    with ReplayServer(routes) as server, client(server) as gql:
        pages = list(
            paginate_graphql_offset(
                gql, OFFSET_QUERY, {}, nodes_path="items.nodes", total_path="items.totalCount", page_size=8
            )
        )
    assert pages == [[{"id": "a"}]]
    assert sent(server, "limit") == [8, 4, 2]


def test_429_waits_and_retries_the_same_page_size() -> None:
    routes = [
        gql_route({}, {"message": "slow down"}, status=429, headers={"Retry-After": "0"}, times=1),
        gql_route({}, {"errors": [{"message": "rate"}]}, status=429, times=1),  # no Retry-After: rate_limit_wait
        gql_route({"variables.offset": 0}, items(["a", "b"], 2)),
    ]
    with ReplayServer(routes) as server, client(server) as gql:
        pages = list(
            paginate_graphql_offset(
                gql, OFFSET_QUERY, {}, nodes_path="items.nodes", total_path="items.totalCount", page_size=5
            )
        )
    assert [n["id"] for n in pages[0]] == ["a", "b"]
    assert sent(server, "limit") == [5, 5, 5]


def test_a_page_that_keeps_failing_raises_page_failed_after_the_bounded_attempts() -> None:
    routes = [gql_route({}, {"errors": [{"message": "Internal indexer error"}]})]
    with ReplayServer(routes) as server, client(server) as gql, pytest.raises(PageFailed) as caught:
        list(paginate_graphql_offset(gql, OFFSET_QUERY, {"type": "DEBIT"}, nodes_path="items.nodes", page_size=8))
    assert len(server.requests) == FAST.attempts
    assert sent(server, "limit") == [8, 4, 2, 2]  # shrinks to the floor and stays there
    message = str(caught.value)
    assert message.startswith("demo: http://127.0.0.1")
    assert "Internal indexer error" in message and "after 4 attempts" in message and "'type': 'DEBIT'" in message


def test_validation_errors_with_http_400_fail_at_once() -> None:
    payload = {"errors": [{"message": 'Cannot query field "nope" on type "Query".'}]}
    with (
        ReplayServer([gql_route({}, payload, status=400)]) as server,
        client(server) as gql,
        pytest.raises(GraphQLErrors, match='Cannot query field "nope"'),
    ):
        list(paginate_graphql_offset(gql, OFFSET_QUERY, {}, nodes_path="items.nodes", page_size=8))
    assert len(server.requests) == 1


def test_malformed_response_names_the_missing_field_and_is_not_retried() -> None:
    payload = {"data": {"items": {"totalCount": 3, "edges": []}}}
    with (
        ReplayServer([gql_route({}, payload)]) as server,
        client(server) as gql,
        pytest.raises(MalformedResponse, match=r"demo: http://.*/graphql: .*no field data\.items\.nodes"),
    ):
        list(paginate_graphql_offset(gql, OFFSET_QUERY, {}, nodes_path="items.nodes", page_size=8))
    assert len(server.requests) == 1


def test_a_non_json_page_is_retried() -> None:
    routes = [
        Route(
            "/graphql", method="POST", text="<html>bad gateway</html>", headers={"Content-Type": "text/html"}, times=1
        ),
        gql_route({}, items(["a"], 1)),
    ]
    with ReplayServer(routes) as server, client(server) as gql:
        assert list(paginate_graphql_offset(gql, OFFSET_QUERY, {}, nodes_path="items.nodes", page_size=8)) == [
            [{"id": "a"}]
        ]
    assert len(server.requests) == 2


def test_count_query() -> None:
    payload = {"data": {"aggregateAttestation": {"_count": {"_all": 12}}}}
    with ReplayServer([gql_route({}, payload)]) as server, client(server) as gql:
        assert fetch_count(gql, "q", {}, count_path="aggregateAttestation._count._all") == 12
    bad = {"data": {"aggregateAttestation": {"_count": {"_all": "12"}}}}
    with (
        ReplayServer([gql_route({}, bad)]) as server,
        client(server) as gql,
        pytest.raises(MalformedResponse, match="is not a count"),
    ):
        fetch_count(gql, "q", {}, count_path="aggregateAttestation._count._all")


def test_keyset_pages_to_the_end_and_masks_a_key_in_the_url(caplog: pytest.LogCaptureFixture) -> None:
    key = "d0e1f2a3b4c5secretkey"
    path = f"/api/{key}/subgraphs/id/5XqPmWe6gjyrJtFn9cLy237i4cWw2j9HcUJEXsP5qGtH"

    def route(after: str, ids: list[str], **kw) -> Route:
        payload = {"data": {"domains": [{"id": i} for i in ids]}}
        return Route("/api/*/subgraphs/id/*", method="POST", body={"variables.where.id_gt": after}, json=payload, **kw)

    routes = [
        route("", ["0x01", "0x02"]),
        Route("/api/*/subgraphs/id/*", method="POST", status=502, times=1),
        route("0x02", ["0x03"]),
    ]
    caplog.set_level(logging.WARNING)
    with ReplayServer(routes) as server, client(server, path, mask=(key,)) as gql:
        pages = list(paginate_graphql_keyset(gql, KEYSET_QUERY, {}, nodes_path="domains", page_size=2))
        assert key not in gql.masked_endpoint and "/api/***/subgraphs" in gql.masked_endpoint
    assert [[n["id"] for n in p] for p in pages] == [["0x01", "0x02"], ["0x03"]]
    assert [r.body["variables"]["where"]["id_gt"] for r in server.requests] == ["", "0x02", "0x02"]
    assert server.requests[0].path == path  # the key really is in the path
    assert "HTTP 502" in caplog.text and key not in caplog.text

    failing = [Route("/api/*/subgraphs/id/*", method="POST", json={"errors": [{"message": f"bad {key}"}]})]
    with ReplayServer(failing) as server, client(server, path, mask=(key,)) as gql, pytest.raises(PageFailed) as caught:
        list(paginate_graphql_keyset(gql, KEYSET_QUERY, {}, nodes_path="domains", page_size=2))
    assert key not in str(caught.value) and "/api/***/" in str(caught.value) and "bad ***" in str(caught.value)
    assert key not in caplog.text


def test_keyset_that_does_not_advance_is_an_error_not_a_loop() -> None:
    routes = [gql_route({}, {"data": {"domains": [{"id": "0x01"}, {"id": "0x01"}]}})]
    with (
        ReplayServer(routes) as server,
        client(server) as gql,
        pytest.raises(MalformedResponse, match="did not advance"),
    ):
        list(paginate_graphql_keyset(gql, KEYSET_QUERY, {}, nodes_path="domains", page_size=2))
    assert len(server.requests) == 2


def test_errors_survive_pickling_as_prefect_stores_failed_states() -> None:
    import pickle

    for error in (
        PageFailed("ens", "https://gateway/api/***/x", "failed after 3 attempts", {"first": 2}),
        GraphQLErrors("giveth", "/graphql", "allProjects", ["Internal server error"]),
        MalformedResponse("eas_optimism", "/graphql", "no field data.attestations"),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert (type(copy), str(copy), copy.__dict__) == (type(error), str(error), error.__dict__)
