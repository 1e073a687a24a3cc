"""The secret contract every backend shares: references, resolvers, the chain, and the one error they raise.

A ``SecretReference(group_name, key)`` names a secret without saying where it lives; each resolver maps it to
its own place (env var, Prefect block, GCP secret id). Errors and reports carry those *places*, never values,
which is why ``ResolvedSecret`` hides its value from ``repr``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

# snake_case: letters and digits joined by single underscores. That is exactly what survives every backend's
# naming (env ``PREFIX__GROUP__KEY`` split on ``__``, Prefect block ``prefix--group--key``, GCP secret ids)
# and can be parsed back, so ``push`` and ``parse_block_name`` are unambiguous.
SNAKE_CASE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")


def check_snake_case(value: str, what: str) -> str:
    """``value`` lower-cased, or a ``ValueError`` naming ``what`` when it is not a snake_case identifier."""
    lowered = value.lower() if isinstance(value, str) else value
    if not isinstance(lowered, str) or not SNAKE_CASE.fullmatch(lowered):
        raise ValueError(
            f"{what} {value!r} must be snake_case (letters, digits, single underscores) so it maps to "
            "PREFIX__GROUP__KEY, a Prefect block name and a GCP secret id"
        )
    return lowered


@dataclass(frozen=True)
class SecretReference:
    """A secret by ``(group, key)``; the prefix belongs to the resolver, so one reference works in every backend.

    Names are case-insensitive (stored lower-case), as env vars are upper-cased and block names lower-cased.
    """

    group_name: str
    key: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "group_name", check_snake_case(self.group_name, "secret group_name"))
        object.__setattr__(self, "key", check_snake_case(self.key, "secret key"))

    def __str__(self) -> str:
        return f"{self.group_name}.{self.key}"


class SecretInaccessibleError(Exception):
    """A secret could not be resolved; the message lists where it was looked for, never a value."""

    def __init__(self, ref: SecretReference, tried: list[str]):
        self.ref = ref
        self.tried = tried
        super().__init__(f"secret {ref} not found; tried: {'; '.join(tried)}")

    def __reduce__(self):  # keeps the exception picklable (Prefect stores failed states' exceptions)
        return (type(self), (self.ref, self.tried))


class SecretDecodeError(ValueError):
    """A secret's bytes are not UTF-8. Raised instead of ``UnicodeDecodeError``, whose message quotes bytes."""

    def __init__(self, ref: SecretReference, origin: str):
        self.ref = ref
        self.origin = origin
        super().__init__(f"secret {ref} from {origin} is not valid UTF-8")

    def __reduce__(self):
        return (type(self), (self.ref, self.origin))


@dataclass(frozen=True)
class ResolvedSecret:
    """A value and where it came from (``origin``: env var, ``.env`` file, block or secret id).

    The value is left out of ``repr``/``str`` so printing a result, or a list of them, shows only the origin.
    """

    ref: SecretReference
    origin: str
    value: bytes = field(repr=False)

    def as_str(self) -> str:
        try:
            return self.value.decode("utf-8")
        except UnicodeDecodeError:
            raise SecretDecodeError(self.ref, self.origin) from None


class SecretResolver(ABC):
    """Resolves references to bytes; ``resolve_as_str`` decodes UTF-8; ``lookup`` also says from where."""

    @abstractmethod
    def resolve(self, ref: SecretReference) -> bytes: ...

    def resolve_as_str(self, ref: SecretReference) -> str:
        return self.lookup(ref).as_str()

    def lookup(self, ref: SecretReference) -> ResolvedSecret:
        """The value with its origin; resolvers that know more precisely where it came from override this."""
        return ResolvedSecret(ref, self.describe(ref), self.resolve(ref))

    def describe(self, ref: SecretReference) -> str:
        """Where this resolver looks for ``ref`` (for errors and ``secrets check``)."""
        return type(self).__name__


class SimpleSecretResolver(SecretResolver):
    """In-memory ``{"group__key": value}`` resolver, for tests and notebooks (as OSO's)."""

    def __init__(self, values: dict[str, str | bytes]):
        self.values = {k.lower(): v for k, v in values.items()}

    def describe(self, ref: SecretReference) -> str:
        return f"in-memory key {ref.group_name}__{ref.key}"

    def resolve(self, ref: SecretReference) -> bytes:
        value = self.values.get(f"{ref.group_name}__{ref.key}".lower())
        if not value:
            raise SecretInaccessibleError(ref, [self.describe(ref)])
        return value if isinstance(value, bytes) else value.encode("utf-8")


class ChainSecretResolver(SecretResolver):
    """The first resolver that has the secret wins; a miss lists every place tried, in order."""

    def __init__(self, resolvers: list[SecretResolver]):
        self.resolvers = resolvers

    def describe(self, ref: SecretReference) -> str:
        return "; ".join(r.describe(ref) for r in self.resolvers)

    def lookup(self, ref: SecretReference) -> ResolvedSecret:
        tried: list[str] = []
        for resolver in self.resolvers:
            try:
                return resolver.lookup(ref)
            except SecretInaccessibleError as exc:
                tried.extend(exc.tried)
        raise SecretInaccessibleError(ref, tried)

    def resolve(self, ref: SecretReference) -> bytes:
        return self.lookup(ref).value
