"""GitHub REST: the repositories behind oss-directory's GitHub URLs, within GitHub's rate limits.

OSO's ``GithubRepositoryResolver`` (githubkit) turns each URL into repositories: ``github.com/<owner>`` lists the
organization's repositories (``GET /orgs/{org}/repos``, paged by the ``Link`` header), falling back to the user's
(``GET /users/{user}/repos``) when there is no such organization; ``github.com/<owner>/<repo>`` is
``GET /repos/{owner}/{repo}``. A 404 skips the URL. Each repository becomes one row of OSO's ``Repository``
model (``name_with_owner``, ``star_count``, ``license_spdx_id`` … with the same defaults for missing values).

Rate limits follow GitHub's documented rules: on 403/429 wait ``Retry-After`` seconds if given, else until
``x-ratelimit-reset`` when ``x-ratelimit-remaining`` is 0, else (a secondary limit) a minute; the waits are
bounded by the client's retry policy. Next links are followed on the configured host only, so the token is
never sent anywhere else (and a replay server can stand in for api.github.com).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import polars as pl

from oso_core.errors import Skipped
from oso_core.transport.fanout import fan_out
from oso_core.transport.github_urls import GitHubUrl, UrlKind, parse_github_url
from oso_core.transport.http import HttpClient, RetryPolicy, retry_after_seconds
from oso_core.transport.pagination import link_header_next, paginate_next_link
from oso_core.transport.records import Where

API_VERSION = "2022-11-28"
SECONDARY_LIMIT_WAIT = 60.0
# A primary-limit reset can be most of an hour away; OSO retried rate limits 5 times.
GITHUB_RETRY = RetryPolicy(attempts=6, backoff_initial=1.0, backoff_max=60.0, total_wait=3900.0)
SKIP_STATUSES = {404: "skip", 451: "skip"}  # not found / blocked for legal reasons

REPOSITORY_SCHEMA: dict[str, pl.DataType] = {
    "ingestion_time": pl.Datetime("us", "UTC"),
    "id": pl.Int64(),
    "node_id": pl.String(),
    "owner": pl.String(),
    "name_with_owner": pl.String(),
    "url": pl.String(),
    "name": pl.String(),
    "is_fork": pl.Boolean(),
    "branch": pl.String(),
    "fork_count": pl.Int64(),
    "star_count": pl.Int64(),
    "watcher_count": pl.Int64(),
    "license_spdx_id": pl.String(),
    "license_name": pl.String(),
    "language": pl.String(),
    "created_at": pl.Datetime("us", "UTC"),
    "updated_at": pl.Datetime("us", "UTC"),
}
_EPOCH = datetime.fromtimestamp(0, UTC)


class GitHubClient(HttpClient):
    """``HttpClient`` that also retries GitHub's rate-limit 403s and waits as GitHub's headers say."""

    def __init__(self, source: str, base_url: str, token: str | None, *, retry: RetryPolicy | None = None, **kw: Any):
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "X-Github-Next-Global-ID": "1",  # node ids in the new global format, as OSO asked for
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        super().__init__(source, base_url, headers=headers, retry=retry or GITHUB_RETRY, mask=(token or "",), **kw)

    def should_retry(self, response: httpx.Response) -> bool:
        if response.status_code != 403:
            return False
        if response.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in response.headers:
            return True
        return "rate limit" in response.text.lower()

    def wait_hint(self, response: httpx.Response) -> float | None:
        hinted = retry_after_seconds(response)
        if hinted is not None:
            return hinted
        if response.headers.get("x-ratelimit-remaining") == "0":
            try:
                reset = float(response.headers["x-ratelimit-reset"])
            except (KeyError, ValueError):
                return SECONDARY_LIMIT_WAIT
            return max(0.0, reset - time.time()) + 1.0  # the reset second itself may still be limited
        if response.status_code in (403, 429):
            return SECONDARY_LIMIT_WAIT
        return None


# --- requests -----------------------------------------------------------------------------------------------


def _next_on_same_host(client: HttpClient):
    """Follow ``Link: rel="next"`` but always on the configured host (GitHub's links name api.github.com)."""
    base = urlsplit(client.base_url)

    def next_link(response: httpx.Response, payload: Any) -> str | None:
        url = link_header_next(response, payload)
        if not url:
            return None
        parts = urlsplit(url)
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))

    return next_link


def list_repositories(client: HttpClient, path: str, per_page: int = 100) -> list[tuple[str, dict[str, Any]]]:
    """Every repository of a listing endpoint, following next links to the end; ``(endpoint, payload)`` pairs."""
    repos: list[tuple[str, dict[str, Any]]] = []
    for page in paginate_next_link(
        client,
        path,
        params={"per_page": per_page},
        next_link=_next_on_same_host(client),
        on_status=SKIP_STATUSES,
    ):
        repos.extend((path, repo) for repo in page)
    return repos


def repositories_for_url(client: HttpClient, target: GitHubUrl, per_page: int = 100) -> list[tuple[str, Any]]:
    """The repositories behind one URL; raises ``Skipped`` when GitHub has none (404 for org, user or repo)."""
    if target.kind is UrlKind.REPOSITORY:
        path = f"/repos/{target.owner}/{target.repository}"
        return [(path, client.get_json(path, on_status=SKIP_STATUSES))]
    try:
        return list_repositories(client, f"/orgs/{target.owner}/repos", per_page)
    except Skipped:
        return list_repositories(client, f"/users/{target.owner}/repos", per_page)  # not an org: a user


# --- rows ---------------------------------------------------------------------------------------------------


def _timestamp(where: Where, repo: dict[str, Any], name: str) -> datetime:
    value = where.field(repo, name, str, required=False)
    if value is None:
        return _EPOCH
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise where.error(name, f"expected an ISO 8601 timestamp, got {value!r}") from None


def repository_row(source: str, endpoint: str, repo: Any, ingestion_time: datetime) -> dict[str, Any]:
    """One GitHub repository payload as OSO's ``Repository`` row; errors name the endpoint, repo and field."""
    where = Where(source, endpoint)
    if not isinstance(repo, dict):
        raise where.error(None, f"expected a repository object, got {type(repo).__name__}")
    where = where.at(repo.get("full_name") or repo.get("id") or "?")
    owner = where.field(repo, "owner", dict)
    license_ = where.field(repo, "license", dict, required=False) or {}
    return {
        "ingestion_time": ingestion_time,
        "id": where.field(repo, "id", int),
        "node_id": where.field(repo, "node_id", str),
        "owner": where.at(repo.get("full_name")).field(owner, "login", str),
        "name_with_owner": where.field(repo, "full_name", str),
        "url": where.field(repo, "html_url", str),
        "name": where.field(repo, "name", str),
        "is_fork": where.field(repo, "fork", bool),
        "branch": where.field(repo, "default_branch", str, required=False) or "main",
        "fork_count": where.field(repo, "forks_count", int, required=False) or 0,
        "star_count": where.field(repo, "stargazers_count", int, required=False) or 0,
        "watcher_count": where.field(repo, "watchers_count", int, required=False) or 0,
        "license_spdx_id": license_.get("spdx_id") or "",
        "license_name": license_.get("name") or "",
        "language": where.field(repo, "language", str, required=False) or "",
        "created_at": _timestamp(where, repo, "created_at"),
        "updated_at": _timestamp(where, repo, "updated_at"),
    }


def repositories_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows in OSO's column order, one per repository id (an org URL and a repo URL may name the same repo)."""
    frame = (
        pl.DataFrame(rows, schema=REPOSITORY_SCHEMA, orient="row") if rows else pl.DataFrame(schema=REPOSITORY_SCHEMA)
    )
    return frame.unique(subset=["id"], keep="first", maintain_order=True)


@dataclass
class ResolvedRepositories:
    """The repositories behind a list of URLs, and the URLs that yielded none (with why)."""

    frame: pl.DataFrame
    skipped: list[str]
    fetched: int


def resolve_repositories(
    client: HttpClient, urls: list[str], *, per_page: int = 100, max_workers: int = 4
) -> ResolvedRepositories:
    """Every repository behind ``urls``, validated, one row per id; any failure but a 404 raises.

    The URLs are resolved ``max_workers`` at a time (GitHub tolerates a few concurrent requests; its secondary
    limits punish many), and nothing is returned until all of them have been.
    """
    ingestion_time = datetime.now(UTC)
    targets = [(url, parse_github_url(url)) for url in urls]
    skipped = [f"{url} (not a github.com owner or repository URL)" for url, target in targets if target is None]
    found = fan_out(
        [target for _, target in targets if target is not None],
        lambda target: repositories_for_url(client, target, per_page),
        max_workers=max_workers,
    )
    found.raise_for_errors(client.source, "repositories", label=lambda target: target.url)
    skipped.extend(found.skipped_labels(lambda target: target.url))
    rows = [
        repository_row(client.source, endpoint, repo, ingestion_time)
        for repos in found.values()
        for endpoint, repo in repos
    ]
    return ResolvedRepositories(repositories_frame(rows), skipped, len(rows))
