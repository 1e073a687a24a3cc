"""One GitHub URL parser for ossd.project_repositories and the GitHub load, over every URL form oss-directory holds."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from flows.ossd import payload as ossd
from flows.ossd_github.source import ossd_github_flow
from oso_core.transport.github_urls import GitHubUrl, UrlKind, parse_github_url
from oso_dev.replay import ReplayServer, Route

GITHUB_FIXTURES = Path(__file__).parents[1] / "flows" / "ossd_github" / "fixtures"

# (url, owner, repository); owner None = not a GitHub owner or repository URL.
FORMS: list[tuple[str, str | None, str | None]] = [
    # the two forms nearly every oss-directory URL has
    ("https://github.com/wevm/viem", "wevm", "viem"),
    ("https://github.com/gitcoinco", "gitcoinco", None),
    # trailing slash (owner and repository URLs both occur)
    ("https://github.com/gitcoinco/", "gitcoinco", None),
    ("https://github.com/wevm/viem/", "wevm", "viem"),
    ("https://github.com/ingonyama-zk/icicle//", "ingonyama-zk", "icicle"),
    # .git suffix; a name that merely contains ".git" keeps it
    ("https://github.com/a/b.git", "a", "b"),
    ("https://github.com/omnilumen/omnilumen-core.git", "omnilumen", "omnilumen-core"),
    ("https://github.com/a/b.GIT/", "a", "b"),
    ("https://github.com/bigmb/bigmb.github.io", "bigmb", "bigmb.github.io"),
    ("https://github.com/evilsocket/www.pwnagotchi.ai", "evilsocket", "www.pwnagotchi.ai"),
    # a page inside the repository still means the repository
    ("https://github.com/a/b/tree/main", "a", "b"),
    ("https://github.com/a/b/tree/main/packages/x", "a", "b"),
    ("https://github.com/muwpay-uniswapper/muwp-stellar/tree/main", "muwpay-uniswapper", "muwp-stellar"),
    ("https://github.com/zviadm/celoterminal/blob/main/README.md", "zviadm", "celoterminal"),
    ("https://github.com/a/b/issues/12", "a", "b"),
    # the organization page
    ("https://github.com/orgs/sorostarter/repositories", "sorostarter", None),
    ("https://github.com/orgs/sorostarter", "sorostarter", None),
    # scheme, www, case
    ("http://github.com/wevm/viem", "wevm", "viem"),
    ("https://www.github.com/wevm/viem", "wevm", "viem"),
    ("http://www.github.com/wevm", "wevm", None),
    ("HTTPS://GitHub.COM/NomicFoundation/hardhat", "NomicFoundation", "hardhat"),
    ("https://github.com/Giveth/giveth-dapps-v2", "Giveth", "giveth-dapps-v2"),
    ("github.com/wevm/viem", "wevm", "viem"),
    ("  https://github.com/wevm/viem \n", "wevm", "viem"),
    # query strings and fragments
    ("https://github.com/wevm/viem?tab=readme-ov-file", "wevm", "viem"),
    ("https://github.com/wevm/viem#readme", "wevm", "viem"),
    ("https://github.com/wevm?tab=repositories", "wevm", None),
    ("https://github.com/a/b.git#main", "a", "b"),
    # not GitHub, or nothing GitHub could look up
    ("https://gitlab.com/a/b", None, None),
    ("https://ophis-fi", None, None),
    ("https://github.com", None, None),
    ("https://github.com/", None, None),
    ("https://gist.github.com/a/b", None, None),
    ("https://github.com.evil.example/a/b", None, None),
    ("https://user@github.com/a/b", None, None),
    ("https://github.com:8443/a/b", None, None),
    ("ftp://github.com/a/b", None, None),
    ("git@github.com:a/b.git", None, None),
    ("https://github.com/a/..", None, None),
    ("https://github.com/a/.git", None, None),
    ("https://github.com/a%2Fb/c", None, None),
    ("https://github.com/-bad-/x", None, None),
    ("https://github.com/a/b c", None, None),
    ("", None, None),
]


@pytest.mark.parametrize(("url", "owner", "repository"), FORMS, ids=[f[0].strip() or "(empty)" for f in FORMS])
def test_every_url_form(url: str, owner: str | None, repository: str | None) -> None:
    parsed = parse_github_url(url)
    if owner is None:
        assert parsed is None
        return
    assert parsed == GitHubUrl(url, owner, repository)
    assert parsed.kind is (UrlKind.REPOSITORY if repository else UrlKind.OWNER)
    assert parsed.canonical == f"https://github.com/{owner}" + (f"/{repository}" if repository else "")


def test_the_github_module_and_ossd_use_this_parser() -> None:
    from oso_core.transport import github

    assert github.parse_github_url is parse_github_url
    assert not hasattr(ossd, "parse_github_url") or ossd.parse_github_url is parse_github_url


def test_parse_github_url_as_oso() -> None:
    """Moved from test_ossd_github; ``tree/main`` now names the repository (issue 10, fault 11)."""
    assert parse_github_url("https://github.com/wevm/viem/").repository == "viem"
    assert parse_github_url("https://github.com/ethereum").repository is None
    assert parse_github_url("https://github.com/a/b/tree/main").repository == "b"
    assert parse_github_url("https://gitlab.com/a/b") is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [  # moved from test_ossd (ossd's own parser is gone): (owner, repo) as ossd.project_repositories stores them
        ("https://github.com/wevm/viem", ("wevm", "viem")),
        ("https://github.com/gitcoinco", ("gitcoinco", None)),
        ("https://github.com/gitcoinco/", ("gitcoinco", None)),
        ("https://github.com/a/b.git", ("a", "b")),
        ("https://github.com/a/b/tree/main/packages/x", ("a", "b")),
        ("https://gitlab.com/a/b", (None, None)),
    ],
)
def test_repositories_table_owner_and_repo(url: str, expected: tuple[str | None, str | None]) -> None:
    directory = ossd.Directory(
        projects=[{"name": "p", "github": [{"url": url}]}], collections=[], revision=ossd.Revision(None, None)
    )
    row = ossd.project_repositories_frame(directory).row(0, named=True)
    assert (row["owner"], row["repo_name"]) == expected


def test_urls_in_the_repositories_table_are_the_repositories_the_github_load_asks_for(warehouse, monkeypatch) -> None:
    """Each form lands in ossd.project_repositories with an owner and repo, and the GitHub load asks for exactly
    that repo."""
    urls = [
        "https://www.github.com/wevm/viem",
        "https://github.com/wevm/wagmi.git",
        "https://github.com/pypa/pip/tree/main",
        "http://GitHub.com/foundry-rs/foundry/",
        "https://github.com/NomicFoundation/hardhat/blob/main/README.md",
        "https://github.com/Giveth/giveth-dapps-v2?tab=readme",
        "https://gitlab.com/foo/bar",
    ]
    directory = ossd.Directory(
        projects=[{"name": f"p{i}", "github": [{"url": url}]} for i, url in enumerate(urls)],
        collections=[],
        revision=ossd.Revision(None, None),
    )
    table = ossd.project_repositories_frame(directory)
    warehouse.write("ossd.project_repositories", table, mode="replace")
    monkeypatch.setenv("DAGSTER__OSSD__GITHUB_TOKEN", "ghp_testtoken0123456789")
    routes = [Route.from_dict(r) for r in json.loads((GITHUB_FIXTURES / "routes.json").read_text())]
    with ReplayServer(routes, root=GITHUB_FIXTURES) as server:
        summary = ossd_github_flow(base_url=server.url)

    stored = table.filter(pl.col("owner").is_not_null())
    wanted = {f"/repos/{owner}/{repo}" for owner, repo in stored.select("owner", "repo_name").iter_rows()}
    assert {r.path for r in server.requests} == wanted
    assert summary.skipped == ["https://gitlab.com/foo/bar (not a github.com owner or repository URL)"]
    loaded = warehouse.read("ossd.repositories")["name_with_owner"].sort().to_list()
    expected = ["wevm/viem", "wevm/wagmi", "pypa/pip", "foundry-rs/foundry", "NomicFoundation/hardhat"]
    assert loaded == sorted([*expected, "Giveth/giveth-dapps-v2"])
