"""Secrets as Prefect ``Secret`` blocks, one block per reference, so workers without a ``.env`` can resolve them.

Block names may only hold lowercase letters, digits and dashes (PrefectHQ/prefect#11713), so the mapping is::

    (prefix, group, key)  ->  f"{prefix}--{group}--{key}" with every "_" turned into "-"
    dagster, open_collective, personal_token  ->  dagster--open-collective--personal-token

It is reversible because prefix, group and key are snake_case (no leading, trailing or doubled underscores,
enforced by ``SecretReference``): a single dash inside a part was an underscore, a double dash separates parts.
``parse_block_name`` is the inverse; ``push`` uses the mapping to copy a ``.env`` into blocks.

Values are read with ``Secret.value.get_secret_value()`` rather than ``Secret.get()``, because ``get()``
JSON-decodes strings (a token ``"123"`` would come back as the int ``123``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from oso_core.config import settings
from oso_core.config.secrets.base import (
    ResolvedSecret,
    SecretInaccessibleError,
    SecretReference,
    SecretResolver,
    check_snake_case,
)

BLOCK_SEPARATOR = "--"
BLOCK_NAME = re.compile(r"[a-z0-9-]+")  # Prefect's rule for block document names


def block_name(ref: SecretReference, prefix: str) -> str:
    """The Prefect block name of ``ref`` under ``prefix`` (see the module docstring)."""
    parts = (check_snake_case(prefix, "secret prefix"), ref.group_name, ref.key)
    return BLOCK_SEPARATOR.join(part.replace("_", "-") for part in parts)


def parse_block_name(name: str) -> tuple[str, SecretReference]:
    """``(prefix, reference)`` for a block name made by ``block_name``; ``ValueError`` for any other name."""
    parts = name.split(BLOCK_SEPARATOR)
    if len(parts) != 3 or not BLOCK_NAME.fullmatch(name):
        raise ValueError(f"block name {name!r} is not prefix--group--key")
    prefix, group, key = (part.replace("-", "_") for part in parts)
    try:
        return check_snake_case(prefix, "secret prefix"), SecretReference(group, key)
    except ValueError as exc:
        raise ValueError(f"block name {name!r} is not prefix--group--key: {exc}") from None


def _api_configured() -> bool:
    # Without PREFECT_API_URL, Prefect would start a temporary server (~12 s) on every lookup: treat the
    # backend as absent instead, so a chain falls through quickly and says why.
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


def read_block_value(name: str) -> str | None:
    """The stored string of the ``Secret`` block ``name``, or ``None`` when no such block exists."""
    from prefect.blocks.system import Secret
    from prefect.exceptions import ObjectNotFound

    try:
        block = Secret.load(name, _sync=True)
    except ValueError as exc:
        if isinstance(exc.__cause__, ObjectNotFound):
            return None
        raise
    value = block.value.get_secret_value()
    return value if isinstance(value, str) else json.dumps(value)


class PrefectSecretResolver(SecretResolver):
    """A Prefect ``Secret`` block per reference, named ``prefix--group--key`` (dashes for underscores)."""

    def __init__(self, prefix: str | None = None):
        self.prefix = check_snake_case(prefix if prefix is not None else settings.secret_prefix(), "secret prefix")

    def block_name(self, ref: SecretReference) -> str:
        return block_name(ref, self.prefix)

    def parse_block_name(self, name: str) -> SecretReference:
        """The reference behind one of this resolver's block names; ``ValueError`` if another prefix made it."""
        prefix, ref = parse_block_name(name)
        if prefix != self.prefix:
            raise ValueError(f"block {name!r} has prefix {prefix!r}, not {self.prefix!r}")
        return ref

    def describe(self, ref: SecretReference) -> str:
        return f"Prefect Secret block {self.block_name(ref)}"

    def lookup(self, ref: SecretReference) -> ResolvedSecret:
        where = self.describe(ref)
        if not _api_configured():
            raise SecretInaccessibleError(ref, [f"{where} (PREFECT_API_URL is not set)"])
        try:
            value = read_block_value(self.block_name(ref))
        except Exception as exc:  # API down, auth, schema: name the kind only, the block name is enough
            raise SecretInaccessibleError(ref, [f"{where} (unreadable: {type(exc).__name__})"]) from None
        if not value:
            raise SecretInaccessibleError(ref, [where])
        return ResolvedSecret(ref, where, value.encode("utf-8"))

    def resolve(self, ref: SecretReference) -> bytes:
        return self.lookup(ref).value


PushAction = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class PushResult:
    """What ``push_secret`` did (or would do, on a dry run) to one block; never holds the value."""

    ref: SecretReference
    block: str
    action: PushAction


def push_secret(ref: SecretReference, value: str, prefix: str, dry_run: bool = False) -> PushResult:
    """Create or update the block of ``ref`` so it holds ``value``; unchanged blocks are not rewritten."""
    from prefect.blocks.system import Secret

    name = block_name(ref, prefix)
    current = read_block_value(name)
    action: PushAction = "created" if current is None else ("unchanged" if current == value else "updated")
    if action != "unchanged" and not dry_run:
        Secret(value=value).save(name, overwrite=True, _sync=True)
    return PushResult(ref, name, action)
