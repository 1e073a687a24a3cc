"""GitHub URLs as oss-directory writes them → owner and repository: the one parser every source uses.

``ossd.project_repositories`` (owner, repo_name columns) and the GitHub load (which API path to ask) must read a URL
the same way, or a URL lands in the table and is then dropped or asked for under another name.

Forms found in oss-directory (main branch of 2026-08-08, 24,354 GitHub URLs): ``https://github.com/<owner>``
and ``…/<owner>/<repo>`` (nearly all), a trailing slash, a ``.git`` suffix, ``…/<repo>/tree/<ref>``,
``…/<repo>/blob/<ref>/<file>``, ``…/orgs/<owner>/repositories``, mixed-case names, the odd non-GitHub URL.
Also accepted, because people paste them: ``http://``, ``www.github.com``, an upper-case host, a query
string or fragment, no scheme.

Names are checked against GitHub's rules (owner: letters, digits, hyphens; repository: letters, digits,
``.``, ``-``, ``_``), so what reaches an API path is always a plain name, never ``..`` or an encoded slash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

GITHUB_HOSTS = frozenset({"github.com", "www.github.com"})
_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


class UrlKind(Enum):
    REPOSITORY = "repository"
    OWNER = "owner"


@dataclass(frozen=True)
class GitHubUrl:
    """A parsed ``https://github.com/<owner>[/<repo>]`` URL (OSO's ``ParsedGithubURL``); ``url`` as written."""

    url: str
    owner: str
    repository: str | None = None

    @property
    def kind(self) -> UrlKind:
        return UrlKind.REPOSITORY if self.repository else UrlKind.OWNER

    @property
    def canonical(self) -> str:
        """``https://github.com/<owner>[/<repo>]``: one spelling for every form of the same target."""
        return f"https://github.com/{self.owner}" + (f"/{self.repository}" if self.repository else "")


def parse_github_url(url: str) -> GitHubUrl | None:
    """The owner (and repository) a github.com URL points at, or None when it names neither.

    Anything after ``<owner>/<repo>`` (``tree/<ref>``, ``blob/…``, ``issues``) still means that repository;
    ``orgs/<owner>/…`` means the owner. A ``.git`` suffix is not part of the repository's name.
    """
    text = url.strip()
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text):
        text = f"https://{text}"  # "github.com/a/b" as pasted
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or host not in GITHUB_HOSTS or parts.username or port:
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    if len(segments) >= 2 and segments[0].lower() == "orgs":
        segments = segments[1:2]
    if not segments or not _OWNER.match(segments[0]):
        return None
    owner = segments[0]
    if len(segments) == 1:
        return GitHubUrl(url, owner)
    repository = segments[1]
    if repository.lower().endswith(".git"):
        repository = repository[:-4]
    if not _REPOSITORY.match(repository) or repository in (".", ".."):
        return None
    return GitHubUrl(url, owner, repository)
