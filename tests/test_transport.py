"""One transport: REST, GraphQL and downloads share the source's rate limiter, the retry loop and the error kinds."""

from __future__ import annotations

import time

import pytest

from oso_core.errors import GraphQLErrors, PayloadError, RateLimited, RequestError, SourceError
from oso_core.transport.download import download_file
from oso_core.transport.graphql import GraphQLClient, PageRetry
from oso_core.transport.http import HttpClient, RateLimiter, RetryPolicy
from oso_dev.replay import ReplayServer, Route
from tests.support.ports import free_port

FAST = RetryPolicy(attempts=2, backoff_initial=0.01, backoff_max=0.01, total_wait=5, jitter=0)
KEY = "k3yQ7vXr9TmWb2ZpLs8NdYc4HfJg6Ke1"


def test_rest_and_graphql_clients_of_one_source_share_its_rate_limit() -> None:
    routes = [Route("/rest", json=[]), Route("/graphql", method="POST", json={"data": {"ok": True}})]
    with (
        ReplayServer(routes) as server,
        HttpClient("shared_demo", server.url, min_interval=0.1) as rest,
        GraphQLClient("shared_demo", server.url + "/graphql", min_interval=0.1) as gql,
    ):
        assert rest.limiter is gql.http.limiter is RateLimiter.for_source("shared_demo", 0.1)
        started = time.monotonic()
        for _ in range(2):
            rest.get_json("/rest")
            gql.execute("query { ok }")
        assert time.monotonic() - started >= 0.29, "4 requests of one source: 3 intervals, whichever client sends"
    with HttpClient("other_demo", "http://127.0.0.1", min_interval=0.1) as other:
        assert other.limiter is not rest.limiter


def test_every_failure_is_a_kind_of_source_error() -> None:
    routes = [
        Route("/limited", status=429, headers={"Retry-After": "0"}),
        Route("/gone", status=404, text="no such thing"),
        Route("/html", text="<html>"),
        Route("/graphql", method="POST", status=400, json={"errors": [{"message": "bad field"}]}),
    ]
    with ReplayServer(routes) as server, HttpClient("demo", server.url, retry=FAST) as http:
        with pytest.raises(RateLimited) as limited:
            http.get_json("/limited")
        assert (limited.value.status, limited.value.wait, limited.value.retryable) == (429, 0.0, True)
        with pytest.raises(RequestError) as gone:
            http.get_json("/gone")
        assert (gone.value.status, gone.value.retryable) == (404, False) and "no such thing" in gone.value.problem
        with pytest.raises(PayloadError, match="malformed JSON"):
            http.get_json("/html")
        with (
            GraphQLClient("demo", server.url + "/graphql", retry=PageRetry(attempts=1)) as gql,
            pytest.raises(GraphQLErrors) as errors,
        ):
            gql.execute("query { nope }")
        assert isinstance(errors.value, RequestError) and errors.value.status == 400 and not errors.value.retryable
    with (
        HttpClient("demo", f"http://127.0.0.1:{free_port()}", retry=FAST) as http,
        pytest.raises(RequestError) as refused,
    ):
        http.get_json("/x")
    assert refused.value.status is None and refused.value.retryable and "ConnectError" in refused.value.problem


def test_download_errors_are_masked_kinds_and_retries_count_on_the_client(tmp_path) -> None:
    routes = [
        Route(f"/files/{KEY}/denied.gz", status=401, text=f"bad key {KEY}"),
        Route("/files/busy.gz", status=429, headers={"Retry-After": "0"}),
        Route("/files/flaky.gz", status=503, times=1),
        Route("/files/flaky.gz", text="payload"),
    ]
    with ReplayServer(routes) as server, HttpClient("demo", "", retry=FAST, mask=(KEY,)) as http:
        with pytest.raises(RequestError) as denied:
            download_file("demo", f"{server.url}/files/{KEY}/denied.gz", tmp_path / "a", client=http)
        assert denied.value.status == 401 and KEY not in str(denied.value)
        assert "/files/***/denied.gz" in str(denied.value) and "bad key ***" in str(denied.value)
        with pytest.raises(RateLimited, match="HTTP 429 after 2 attempts"):
            download_file("demo", f"{server.url}/files/busy.gz", tmp_path / "b", client=http)
        result = download_file("demo", f"{server.url}/files/flaky.gz", tmp_path / "c", client=http)
        assert (tmp_path / "c").read_text() == "payload" and result.attempts == 2
        assert http.stats.retries == 2 and http.stats.statuses[429] == 2
    assert isinstance(denied.value, SourceError)
