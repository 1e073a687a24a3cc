"""Secrets the way OSO resolves them: a ``SecretReference(group_name, key)`` asked of a ``SecretResolver``.

Sources never hold secrets nor read ``os.environ``: they declare references, and the resolver chain
(env + ``.env``, Prefect Secret blocks, GCP Secret Manager) fills them at run time. Errors name the reference
and every place tried, never a value.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from oso_core import settings


@dataclass(frozen=True)
class SecretReference:
    """A secret by ``(group, key)``; the prefix belongs to the resolver, so one reference works in every backend."""

    group_name: str
    key: str

    def __str__(self) -> str:
        return f"{self.group_name}.{self.key}"


class SecretInaccessibleError(Exception):
    """A secret could not be resolved; the message lists where it was looked for, never a value."""

    def __init__(self, ref: SecretReference, tried: list[str]):
        self.ref = ref
        self.tried = tried
        super().__init__(f"secret {ref} not found; tried: {'; '.join(tried)}")


class SecretResolver(ABC):
    """Resolves references to bytes; ``resolve_as_str`` decodes UTF-8."""

    @abstractmethod
    def resolve(self, ref: SecretReference) -> bytes: ...

    def resolve_as_str(self, ref: SecretReference) -> str:
        return self.resolve(ref).decode("utf-8")

    def describe(self, ref: SecretReference) -> str:
        """Where this resolver looks for ``ref`` (for errors and ``secrets check``)."""
        return type(self).__name__


class EnvSecretResolver(SecretResolver):
    """``PREFIX__GROUP__KEY`` from the environment, falling back to a ``.env`` file that never overrides it."""

    def __init__(self, prefix: str | None = None, env_file: Path | str | None = None):
        self.prefix = prefix if prefix is not None else settings.secret_prefix()
        self.env_file = Path(env_file) if env_file is not None else settings.env_file()

    def env_name(self, ref: SecretReference) -> str:
        return f"{self.prefix}__{ref.group_name}__{ref.key}".upper()

    def describe(self, ref: SecretReference) -> str:
        return f"env var {self.env_name(ref)} (or {self.env_file.name})"

    def _dotenv(self) -> dict[str, str | None]:
        return dotenv_values(self.env_file) if self.env_file.is_file() else {}

    def resolve(self, ref: SecretReference) -> bytes:
        name = self.env_name(ref)
        value = os.environ.get(name) or self._dotenv().get(name)
        if not value:
            raise SecretInaccessibleError(ref, [self.describe(ref)])
        return value.encode("utf-8")


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
    """The first resolver that has the secret wins; a miss lists every place tried."""

    def __init__(self, resolvers: list[SecretResolver]):
        self.resolvers = resolvers

    def describe(self, ref: SecretReference) -> str:
        return "; ".join(r.describe(ref) for r in self.resolvers)

    def resolve(self, ref: SecretReference) -> bytes:
        tried: list[str] = []
        for resolver in self.resolvers:
            try:
                return resolver.resolve(ref)
            except SecretInaccessibleError as exc:
                tried.extend(exc.tried)
        raise SecretInaccessibleError(ref, tried)


def default_resolver() -> SecretResolver:
    """The chain named by ``OSO_SECRETS`` (default ``env``) with ``OSO_SECRET_PREFIX`` (default ``dagster``)."""
    backends = {"env": EnvSecretResolver}
    chain: list[SecretResolver] = []
    for name in settings.secret_backends():
        if name not in backends:
            raise ValueError(f"OSO_SECRETS names unknown backend {name!r}; known: {', '.join(backends)}")
        chain.append(backends[name]())
    return chain[0] if len(chain) == 1 else ChainSecretResolver(chain)


def resolve_setting(
    group: str, key: str, default: str | None = None, resolver: SecretResolver | None = None
) -> str | None:
    """A non-secret setting stored under the same ``(group, key)`` convention (e.g. ``iceberg.catalog_uri``)."""
    try:
        return (resolver or default_resolver()).resolve_as_str(SecretReference(group, key))
    except SecretInaccessibleError:
        return default
