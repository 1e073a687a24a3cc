"""What can go wrong while extracting a source: ``SourceError`` and its kinds, in one place every extractor imports.

Every error names the source, the endpoint (or file) and the problem, already masked (the clients mask before they
build one). The kinds say what a caller may do about it:

* :class:`RequestError`: one request failed (a connection error, ``status=None``, or an HTTP status);
  ``retryable`` says whether another attempt may succeed. :class:`RateLimited` (429) and :class:`GraphQLErrors`
  (a GraphQL ``errors`` array) are requests that failed in a particular way;
* :class:`PayloadError`: the response or file is not shaped as the source expects (malformed JSON, a missing
  field, a bad record or CSV line); retrying will not fix it. :class:`RecordError` and :class:`BadFileError`
  also name the record, line and field;
* :class:`PageFailed`: a page kept failing after every retry (a windowed load records it as a faulty window).

:class:`Skipped` is not an error: it is how a request whose status the caller declared ``skip`` gives up, and
fan-outs record it as a skipped item. Warehouse errors stay in ``oso_core.warehouse.errors``;
every one of them, here or there, is an :class:`OsoError`.

All of them survive pickling (Prefect pickles a failed run's exception), whatever their ``__init__`` takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class OsoError(Exception):
    """The root of every error the library raises: ``except OsoError`` catches any of them and nothing else.

    Each kind keeps its builtin base as well (``SettingsError`` is still a ``ValueError``), so callers that catch
    the builtin keep working. The query client raises it as is: pyoso's client has one error type of that name,
    and code written against pyoso catches it.
    """


def restore_exception(cls: type[Exception], args: tuple[Any, ...], state: dict[str, Any]) -> Exception:
    """Rebuild an exception whose ``__init__`` takes more than its message (Prefect pickles failed states)."""
    exc = Exception.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class SourceError(OsoError):
    """A source could not get or understand its data; names the source, the endpoint and what was wrong."""

    def __init__(self, source: str, endpoint: str, problem: str):
        self.source, self.endpoint, self.problem = source, endpoint, problem
        super().__init__(f"{source}: {endpoint}: {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses with keyword-only arguments cannot be rebuilt from ``args``: restore the state instead.
        return (restore_exception, (type(self), self.args, dict(self.__dict__)))


class RequestError(SourceError):
    """One request failed: a connection error (``status`` None) or an HTTP status; ``retryable`` says whether
    another attempt (for GraphQL: with a smaller page) may succeed."""

    def __init__(self, source: str, endpoint: str, problem: str, *, retryable: bool, status: int | None = None):
        self.retryable, self.status = retryable, status
        super().__init__(source, endpoint, problem)


GraphQLRequestError = RequestError
"""The name GraphQL callers have always caught; the same kind."""


class RateLimited(RequestError):
    """HTTP 429; ``wait`` is the seconds the server asked for (``Retry-After``), if it said."""

    def __init__(self, source: str, endpoint: str, problem: str = "HTTP 429 (rate limited)", *, wait: float | None):
        self.wait = wait
        super().__init__(source, endpoint, problem, retryable=True, status=429)


class GraphQLErrors(RequestError):
    """The response carried a GraphQL ``errors`` array; ``messages`` are the server's words."""

    def __init__(
        self,
        source: str,
        endpoint: str,
        operation: str,
        messages: list[str],
        *,
        retryable: bool = True,
        status: int | None = None,
    ):
        self.messages = messages
        problem = f"{operation}: GraphQL errors: {'; '.join(messages)}"
        super().__init__(source, endpoint, problem, retryable=retryable, status=status)


class PayloadError(SourceError):
    """The response or file is not shaped as the source expects: retrying will not fix it."""


MalformedResponse = PayloadError
"""The name GraphQL callers have always caught; the same kind."""


class RecordError(PayloadError):
    """A payload did not have the shape the source expects; names the record and the field."""

    def __init__(
        self, source: str, endpoint: str, problem: str, *, record: str | None = None, field: str | None = None
    ):
        self.record, self.field = record, field
        where = []
        if record is not None:
            where.append(f"record {record}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(source, endpoint, ": ".join([*where, problem]))


class BadFileError(PayloadError):
    """A bulk file, archive member, record or field that cannot be read; nothing was written because of it."""

    def __init__(
        self,
        source: str,
        file: str,
        problem: str,
        *,
        member: str | None = None,
        record: int | None = None,
        line: int | None = None,
        field: str | None = None,
    ):
        self.file, self.member, self.record, self.line, self.field = file, member, record, line, field
        where = []
        if record is not None:
            where.append(f"record {record}")
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field {field!r}")
        location = f"{file}:{member}" if member else file
        super().__init__(source, location, f"{', '.join(where)}: {problem}" if where else problem)


class PageFailed(SourceError):
    """A page kept failing after every retry; ``variables`` are the (masked-safe) paging variables tried last."""

    def __init__(self, source: str, endpoint: str, problem: str, variables: Mapping[str, Any]):
        self.variables = dict(variables)
        super().__init__(source, endpoint, problem)


class Skipped(OsoError):
    """Raised for a status the caller declared ``skip``/``ignore`` (e.g. defillama's 404 for a retired slug)."""

    def __init__(self, endpoint: str, status: int):
        self.endpoint, self.status = endpoint, status
        super().__init__(f"{endpoint}: HTTP {status} (skipped)")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Skipped, (self.endpoint, self.status))
