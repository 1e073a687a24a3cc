"""The one check that keeps secret values out of flow parameters.

Prefect stores a flow run's parameters on the server (API, UI, database) the moment the run is created, before
the flow body runs; a flow that refuses a password in its body has already leaked it. Parameters therefore name
secrets (a ``SecretReference``, a block name) and values come from the resolver at run time. This module flags a
parameter value that looks like, or is, a secret, so callers can refuse it *before* Prefect sees it:

* ``oso_core.engine.flow_guard.SourceFlow.__call__`` (direct Python calls and the weekly pipeline's subflows),
* ``oso_core.engine.cli.run_source_cli`` (the command line), ``oso_core.ops.pipeline`` (the weekly subflows'
parameters),
* ``blocks.deployments`` (the parameters written to and read from ``prefect.yaml``).

What counts as secret: a URL or DSN with a password (``scheme://user:pw@host``, ``password=`` in a libpq DSN),
credentials in an http(s) URL's user part (``https://<token>@github.com``), keys and tokens in a URL query or
fragment (``?api_key=``, ``&token=``, ``key=``, ``access_token=``), a key where the source's URL template puts
one (ens: ``/api/{api_key}/subgraphs``), ``Authorization``-style values (``Bearer …``), well-known token
formats (GitHub, Slack, AWS, Google, JWTs, private keys, webhook URLs), and any value containing a secret the
resolver holds for the source. Messages name the parameter and the reason, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from oso_core.base.sensitive import is_sensitive_name
from oso_core.errors import OsoError

if TYPE_CHECKING:
    from oso_core.config.secrets import SecretResolver
    from oso_core.model.sources import Source

# A secret shorter than this is compared for equality only (a short value found inside a longer one is noise).
MIN_CONTAINED_SECRET = 6

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_PLACEHOLDER = re.compile(r"^\{[A-Za-z_][A-Za-z0-9_]*\}$")
_ASSIGNMENT = re.compile(r"(?:^|[\s&;?,#])([A-Za-z][A-Za-z0-9_-]*)\s*[=:]\s*([^\s&;,'\"]+)")
_KNOWN_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an Authorization bearer token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}")),
    ("an Authorization basic credential", re.compile(r"(?i)\bbasic\s+[A-Za-z0-9+/]{8,}={0,2}")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("an AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("an API secret key", re.compile(r"\bsk-[A-Za-z0-9_-]{20,}")),
    ("a JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a webhook URL", re.compile(r"(?i)discord(?:app)?\.com/api/webhooks/\d+/[\w-]+|hooks\.slack\.com/services/\S+")),
)


class SecretParameterError(OsoError, ValueError):
    """A flow parameter carries a secret value; raised before Prefect could store it. Never holds the value."""

    def __init__(self, owner: str, parameter: str, reason: str, hint: str = ""):
        self.owner, self.parameter, self.reason = owner, parameter, reason
        message = (
            f"{owner}: parameter {parameter!r} carries a secret value ({reason}); flow parameters are stored on "
            "the Prefect server, so they must name secrets, not hold them"
        )
        super().__init__(message + (f": {hint}" if hint else ""))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (self.args, self.__dict__))


def _restore(args: tuple[Any, ...], state: dict[str, Any]) -> SecretParameterError:
    error = SecretParameterError.__new__(SecretParameterError)
    error.args = args
    error.__dict__.update(state)
    return error


def _is_filled(value: str) -> bool:
    """A real value rather than nothing, a ``{placeholder}`` or an already masked ``***``."""
    value = unquote(value).strip()
    return bool(value) and not _PLACEHOLDER.match(value) and set(value) != {"*"}


def url_templates(source: Source | None) -> list[re.Pattern[str]]:
    """Patterns for where a source's URL template puts a secret in a path (``/api/{api_key}/subgraphs``).

    Each ``{name}`` path segment becomes a capture between its neighbouring literal segments, so the same key
    slot is recognised on any host (a replay server, another gateway).
    """
    template = getattr(source, "base_url", None) or ""
    segments = urlsplit(template).path.split("/") if "://" in template else template.split("/")
    patterns = []
    for i, segment in enumerate(segments):
        if not _PLACEHOLDER.match(segment):
            continue
        before = re.escape(segments[i - 1]) if i > 0 and segments[i - 1] else ""
        after = re.escape(segments[i + 1]) if i + 1 < len(segments) and segments[i + 1] else ""
        if not before and not after:
            continue
        head = rf"(?:^|/){before}/" if before else "/"
        tail = rf"/{after}(?:[/?#]|$)" if after else ""
        patterns.append(re.compile(head + r"(?P<slot>[^/?#]+)" + tail))
    return patterns


def _url_findings(url: str, templates: Iterable[re.Pattern[str]]) -> Iterator[str]:
    try:
        parts = urlsplit(url)
        password, username = parts.password, parts.username
    except ValueError:
        return
    if password is not None and _is_filled(password):
        yield "a URL with a password"
    elif username is not None and parts.scheme.lower() in ("http", "https") and _is_filled(username):
        yield "credentials in the user part of a URL"
    for where, text in (("query", parts.query), ("fragment", parts.fragment)):
        for name, value in parse_qsl(text, keep_blank_values=True):
            if is_sensitive_name(name) and _is_filled(value):
                yield f"a key or token in the URL {where}"
    for template in templates:
        match = template.search(unquote(parts.path))
        if match and _is_filled(match.group("slot")):
            yield "a key in the URL path where the source's URL template has one"


def findings(value: str, templates: Iterable[re.Pattern[str]] = (), secrets: Iterable[str] = ()) -> list[str]:
    """Why ``value`` looks like (or holds) a secret; empty when it does not.

    Reasons never quote any part of the value (not even a query parameter's name, which a caller controls).
    """
    templates = list(templates)
    reasons: list[str] = []
    for url in _URL.findall(value):
        reasons.extend(_url_findings(url, templates))
    without_urls = _URL.sub(" ", value)
    for name, assigned in _ASSIGNMENT.findall(without_urls):
        if is_sensitive_name(name) and _is_filled(assigned):
            reasons.append("a credential assignment such as password=… or token: …")
    reasons.extend(reason for reason, pattern in _KNOWN_FORMATS if pattern.search(value))
    decoded = unquote(value)
    for secret in secrets:
        if not secret:
            continue
        if value == secret or decoded == secret:
            reasons.append("the value of one of the source's secrets")
        elif len(secret) >= MIN_CONTAINED_SECRET and (secret in value or secret in decoded):
            reasons.append("a value containing one of the source's secrets")
    return list(dict.fromkeys(reasons))


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    """Every string inside a parameter value (nested lists, tuples, sets and dicts, keys included)."""
    if depth > 20:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, (bytes, bytearray)):
        yield bytes(value).decode("latin-1")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key, depth + 1)
            yield from _strings(item, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _strings(item, depth + 1)


def source_secret_values(source: Source | None, resolver: SecretResolver | None = None) -> list[str]:
    """The values the resolver holds for ``source``'s declared secrets; a secret it cannot resolve is skipped
    (an unset secret cannot leak, and the flow reports it missing in its own run)."""
    refs = getattr(source, "secrets", ()) or ()
    if not refs:
        return []
    from oso_core.config.secrets import default_resolver

    values = []
    try:
        resolver = resolver or default_resolver()
    except Exception:  # noqa: BLE001 - a misconfigured backend list is reported by the flow, not here
        return []
    for ref in refs:
        try:
            values.append(resolver.resolve_as_str(ref))
        except Exception:  # noqa: BLE001 - missing, inaccessible, undecodable: nothing to compare against
            continue
    return [v for v in values if v]


def check_parameters(
    owner: Source | str | None,
    parameters: Mapping[str, Any],
    *,
    resolver: SecretResolver | None = None,
    resolve: bool = True,
) -> None:
    """Raise :class:`SecretParameterError` for the first parameter whose value is or holds a secret.

    ``owner`` is the source (its URL template and declared secrets sharpen the check) or a flow name.
    ``resolve=False`` skips comparing against resolved secrets (declaration time, when none may be resolved).
    """
    source = None if isinstance(owner, str) or owner is None else owner
    name = owner if isinstance(owner, str) else (source.name if source is not None else "flow")
    strings = {param: list(_strings(value)) for param, value in parameters.items()}
    if not any(strings.values()):
        return
    templates = url_templates(source)
    secrets = source_secret_values(source, resolver) if resolve else []
    for param, texts in strings.items():
        for text in texts:
            reasons = findings(text, templates, secrets)
            if reasons:
                raise SecretParameterError(name, param, "; ".join(reasons), _hint(source))


def _hint(source: Source | None) -> str:
    refs = getattr(source, "secrets", ()) or ()
    if refs:
        return "the source resolves " + ", ".join(f"secret {ref}" for ref in refs) + " at run time; set it there"
    return "put the secret in the resolver (env/.env, a Prefect Secret block or GCP) and pass its name"
