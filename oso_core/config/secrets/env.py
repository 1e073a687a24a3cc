"""Secrets from the environment and the project's ``.env`` file, named ``PREFIX__GROUP__KEY`` as in OSO.

The process environment wins over ``.env``; ``.env`` is read with python-dotenv without touching
``os.environ``, so nothing resolved here leaks into child processes. An empty value counts as missing
wherever it is set, so a blank ``DAGSTER__X__Y=`` in the environment falls through to ``.env``.
"""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values

from oso_core.config import settings
from oso_core.config.secrets.base import (
    ResolvedSecret,
    SecretInaccessibleError,
    SecretReference,
    SecretResolver,
    check_snake_case,
)

SEPARATOR = "__"


def env_name(ref: SecretReference, prefix: str) -> str:
    """``DAGSTER__CLICKHOUSE__PASSWORD`` for ``(clickhouse, password)`` under prefix ``dagster``."""
    return SEPARATOR.join((prefix, ref.group_name, ref.key)).upper()


def parse_env_name(name: str, prefix: str) -> SecretReference | None:
    """The reference an env var name stands for, or ``None`` when it does not start with ``PREFIX__``.

    Raises:
        ValueError: the name has the prefix but is not ``PREFIX__GROUP__KEY`` with snake_case parts.
    """
    head = f"{prefix}{SEPARATOR}".upper()
    if not name.upper().startswith(head):
        return None
    parts = name[len(head) :].split(SEPARATOR)
    if len(parts) != 2:
        raise ValueError(f"{name} is not {prefix.upper()}__GROUP__KEY")
    return SecretReference(parts[0], parts[1])


class EnvSecretResolver(SecretResolver):
    """``PREFIX__GROUP__KEY`` from the environment, falling back to a ``.env`` file that never overrides it."""

    def __init__(self, prefix: str | None = None, env_file: Path | str | None = None):
        self.prefix = check_snake_case(prefix if prefix is not None else settings.secret_prefix(), "secret prefix")
        self.env_file = Path(env_file) if env_file is not None else settings.env_file()

    def env_name(self, ref: SecretReference) -> str:
        return env_name(ref, self.prefix)

    def describe(self, ref: SecretReference) -> str:
        return f"env var {self.env_name(ref)} (or {self.env_file})"

    def dotenv(self) -> dict[str, str | None]:
        """The ``.env`` file's variables (empty when there is no file); read fresh so edits apply at once."""
        return dotenv_values(self.env_file) if self.env_file.is_file() else {}

    def lookup(self, ref: SecretReference) -> ResolvedSecret:
        name = self.env_name(ref)
        value = os.environ.get(name)
        if value:
            return ResolvedSecret(ref, f"env var {name}", value.encode("utf-8"))
        value = self.dotenv().get(name)
        if value:
            return ResolvedSecret(ref, f"{self.env_file} ({name})", value.encode("utf-8"))
        raise SecretInaccessibleError(ref, [self.describe(ref)])

    def resolve(self, ref: SecretReference) -> bytes:
        return self.lookup(ref).value
