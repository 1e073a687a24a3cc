"""The secret contract every backend shares: references, resolvers, the chain, and the one error they raise.

A ``SecretReference(group_name, key)`` names a secret without saying where it lives; each resolver maps it to
its own place (env var, Prefect block, GCP secret id). Errors and reports carry those *places*, never values,
which is why ``ResolvedSecret`` hides its value from ``repr``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from oso_core.errors import OsoError

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
    description: str = field(default="", compare=False, repr=False)  # for .env.example; not part of the name

    def __post_init__(self) -> None:
        object.__setattr__(self, "group_name", check_snake_case(self.group_name, "secret group_name"))
        object.__setattr__(self, "key", check_snake_case(self.key, "secret key"))

    def __str__(self) -> str:
        return f"{self.group_name}.{self.key}"


class SecretInaccessibleError(OsoError):
    """A secret could not be resolved; the message lists where it was looked for, never a value.

    Two call shapes, one class, so ``except SecretInaccessibleError`` catches both our resolvers and OSO-style code:
    ours, ``SecretInaccessibleError(ref, tried)``; OSO's, ``SecretInaccessibleError(message, wrapped_error=None)``
    (then ``ref`` is ``None`` and ``tried`` is ``[message]``, so a chain still lists it).
    ``wrapped_error`` keeps the underlying exception for code that inspects it; it is not part of the message.
    """

    def __init__(
        self,
        message: SecretReference | str,
        tried: list[str] | BaseException | None = None,
        wrapped_error: BaseException | None = None,
    ):
        if isinstance(tried, BaseException):  # OSO's positional form: (message, wrapped_error)
            tried, wrapped_error = None, tried
        self.wrapped_error = wrapped_error
        if isinstance(message, SecretReference):
            self.ref: SecretReference | None = message
            self.tried = list(tried or [])
            text = f"secret {message} not found; tried: {'; '.join(self.tried)}"
        else:
            self.ref = None
            self.tried = list(tried) if tried else [str(message)]
            text = str(message)
        super().__init__(text)

    def __reduce__(self):  # keeps the exception picklable (Prefect stores failed states' exceptions)
        return (type(self), (self.ref if self.ref is not None else self.args[0], self.tried))


class SecretDecodeError(OsoError, ValueError):
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


class HiddenVar(str):
    """A secret handed to configuration that resolves only when asked: OSO's ``resolve_as_hidden_var`` result.

    OSO's is a Dagster ``EnvVar`` subclass; the contract kept here is the one its callers use: the string itself
    is the reference's ``repr`` (never the value), ``get_value(default)`` resolves at call time and re-raises
    ``SecretInaccessibleError`` while returning ``default`` on any other failure.
    """

    _resolver: SecretResolver
    _ref: SecretReference

    @classmethod
    def create(cls, resolver: SecretResolver, ref: SecretReference) -> HiddenVar:
        hidden = cls(repr(ref))
        hidden.setup_resolver(resolver, ref)
        return hidden

    def setup_resolver(self, resolver: SecretResolver, ref: SecretReference) -> None:
        self._resolver = resolver
        self._ref = ref

    @property
    def env_var_name(self) -> str:
        return str(self)

    def get_value(self, default: str | None = None) -> str | None:
        try:
            return self._resolver.resolve_as_str(self._ref)
        except SecretInaccessibleError:
            raise
        except Exception:
            return default


class SecretResolver(ABC):
    """Resolves references to bytes; ``resolve_as_str`` decodes UTF-8; ``lookup`` also says from where.

    A subclass only has to define ``resolve`` (as OSO's resolvers do); ``resolve_as_hidden_var`` is OSO's
    deferred form for configuration objects.
    """

    @abstractmethod
    def resolve(self, ref: SecretReference) -> bytes: ...

    def resolve_as_str(self, ref: SecretReference) -> str:
        return self.lookup(ref).as_str()

    def resolve_as_hidden_var(self, ref: SecretReference) -> HiddenVar:
        return HiddenVar.create(self, ref)

    def lookup(self, ref: SecretReference) -> ResolvedSecret:
        """The value with its origin; resolvers that know more precisely where it came from override this."""
        return ResolvedSecret(ref, self.describe(ref), self.resolve(ref))

    def describe(self, ref: SecretReference) -> str:
        """Where this resolver looks for ``ref`` (for errors and ``secrets check``)."""
        return type(self).__name__


class SimpleSecretResolver(SecretResolver):
    """In-memory ``{"group__key": value}`` resolver, for tests and notebooks (as OSO's)."""

    def __init__(self, secrets: dict[str, str | bytes]):
        self.values = {k.lower(): v for k, v in secrets.items()}

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
