"""Mask first, then cut: a key straddling an error excerpt's cut never appears, not even in part.

HTTP and GraphQL errors quote the start of a response body; SQL errors quote the driver's message. Each test puts
the key across the point where the excerpt is cut and checks that no 6-character piece of it is in the error.
"""

from __future__ import annotations

import polars as pl
import pytest

from oso_core.base.masking import DEFAULT_EXCERPT, MASK, excerpt, mask_secrets, masked_excerpt
from oso_core.errors import GraphQLRequestError, SourceError
from oso_core.kinds.sql_replication import ERROR_LIMIT, DatabaseUrl, PostgresReader
from oso_core.transport.graphql import GraphQLClient, PageRetry
from oso_core.transport.http import HttpClient, RetryPolicy
from oso_dev.replay import ReplayServer, Route

KEY = "k3yQ7vXr9TmWb2ZpLs8NdYc4HfJg6Ke1"
FAST = RetryPolicy(attempts=1, backoff_initial=0.01, backoff_max=0.01, total_wait=1, jitter=0)
ONE_TRY = PageRetry(attempts=1)


def leaked_pieces(text: str, secret: str = KEY, size: int = 6) -> list[str]:
    """Every ``size``-character piece of ``secret`` found in ``text``."""
    return [secret[i : i + size] for i in range(len(secret) - size + 1) if secret[i : i + size] in text]


def straddling(prefix: str, cut: int, tail: str = " and the rest of the body") -> str:
    """A body where ``KEY`` starts 10 characters before ``cut`` (counting ``prefix``, which the error adds)."""
    return "e" * (cut - 10 - len(prefix)) + KEY + tail


def test_mask_secrets_replaces_every_form_and_longest_first() -> None:
    secret = "p@ss/w0rd+key"
    text = f"raw {secret} path p%40ss%2Fw0rd%2Bkey form p%40ss%2Fw0rd%2Bkey json {secret}"
    masked = mask_secrets(text, [secret, "p@ss"])
    assert "w0rd" not in masked and "p@ss" not in masked and "p%40ss" not in masked
    assert masked.count(MASK) == 4, "the longer secret is masked whole, not cut into pieces by the shorter"
    assert mask_secrets("nothing here", ["", None]) == "nothing here"


def test_mask_secrets_leaves_secrets_shorter_than_shortest() -> None:
    """The object store's error text masks only its secrets of 4 characters or more (a region is no secret)."""
    text = "access key AKIAEXAMPLE refused in eu (AKIAEXAMPLE%2F)"
    assert mask_secrets(text, ["AKIAEXAMPLE", "eu"], shortest=4) == "access key *** refused in eu (***%2F)"
    assert mask_secrets("in eu", ["eu"]) == "in ***"


def test_the_two_credential_name_rules() -> None:
    """A key in a text is a credential's when it is one whole (or ends in one); a parameter's name when it holds a
    credential word anywhere (``oso_core.base.sensitive``)."""
    from oso_core.base.sensitive import is_sensitive_name, names_a_credential

    assert is_sensitive_name("X-Api-Key") and is_sensitive_name("pass") and not is_sensitive_name("passes")
    assert names_a_credential("github_token_value") and not names_a_credential("key")


def test_excerpt_cuts_after_masking() -> None:
    text = "x" * 190 + KEY
    assert leaked_pieces(text[:200]), "the old order (cut, then mask) leaks the key's first characters"
    assert leaked_pieces(mask_secrets(text[:200], [KEY]))
    safe = masked_excerpt(text, [KEY])
    assert not leaked_pieces(safe) and safe.endswith(MASK)
    assert excerpt("abc", 2) == "ab…" and excerpt("abc", 3) == "abc"


def test_http_error_body_with_a_key_across_the_cut_is_masked_whole() -> None:
    body = straddling("", DEFAULT_EXCERPT)
    with (
        ReplayServer([Route("/items", status=401, text=body)]) as server,
        HttpClient("demo", server.url, retry=FAST, mask=(KEY,)) as http,
        pytest.raises(SourceError) as info,
    ):
        http.get_json("/items")
    message = str(info.value)
    assert "HTTP 401" in message and "eeee" in message
    assert leaked_pieces(message) == [], message
    assert leaked_pieces(info.value.problem) == []


@pytest.mark.parametrize(
    ("status", "content_type", "cut", "label"),
    [
        (200, "text/html", 120, "a 200 that is not JSON"),
        (401, "text/html", DEFAULT_EXCERPT, "a 4xx that is not JSON"),
        (403, "application/json", DEFAULT_EXCERPT, "a 4xx JSON body without errors"),
    ],
)
def test_graphql_error_body_with_a_key_across_the_cut_is_masked_whole(
    status: int, content_type: str, cut: int, label: str
) -> None:
    if content_type == "application/json":
        body = '{"detail": "' + straddling('{"detail": "', cut, '"}')
    else:
        body = straddling("'", cut)  # the not-JSON excerpt is shown with repr(), which adds a quote
    route = Route("/graphql", method="POST", status=status, text=body, headers={"Content-Type": content_type})
    with (
        ReplayServer([route]) as server,
        GraphQLClient("demo", server.url + "/graphql", mask=(KEY,), retry=ONE_TRY) as gql,
        pytest.raises(GraphQLRequestError) as info,
    ):
        gql.execute("query { x }")
    message = str(info.value)
    assert "eeee" in message, label
    assert leaked_pieces(message) == [], f"{label}: {message}"


@pytest.mark.postgres
def test_sql_error_with_a_password_across_the_cut_is_masked_whole(postgres) -> None:
    # Trust authentication ignores the password, so the URL can carry the key while the connection still works.
    url = postgres.dsn().replace(f"{postgres.user}@", f"{postgres.user}:{KEY}@")
    reader = PostgresReader("demo", url)

    def failing_sql(padding: int) -> str:
        return f"SELECT '{'e' * padding}{KEY}'::int AS n"  # "invalid input syntax for type integer: <the literal>"

    # Where does the literal land in the error? Ask the driver directly (not our code), then pad the literal so
    # the key starts 10 characters before the excerpt's cut.
    with pytest.raises(BaseException) as raw:  # noqa: PT011,B017 - ConnectorX raises RuntimeErrors and panics
        pl.read_database_uri(failing_sql(0), DatabaseUrl(url).for_connectorx, engine="connectorx")
    first_line = f"{type(raw.value).__name__}: {str(raw.value).strip().splitlines()[0]}"
    assert KEY in first_line, "the driver's message quotes the literal; the test needs that"
    padding = ERROR_LIMIT - 10 - first_line.index(KEY)
    assert padding > 0
    with pytest.raises(SourceError) as info:
        reader.query(failing_sql(padding), "demo_table")
    message = str(info.value)
    assert "eeee" in message and "demo_table" in message
    assert leaked_pieces(message) == [], message
    with pytest.raises(SourceError) as cut_early:  # the error excerpt is bounded after masking
        reader.query(failing_sql(padding + 2000), "demo_table")
    assert len(cut_early.value.problem) <= ERROR_LIMIT + 1
    assert leaked_pieces(str(cut_early.value)) == []
