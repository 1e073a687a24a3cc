"""The process's default resolver: the chain of backends ``OSO_SECRETS`` names, with ``OSO_SECRET_PREFIX``.

Its own module so that the package's other modules (``runtime``) can use it without importing the package.
"""

from __future__ import annotations

from collections.abc import Callable

from oso_core.config import settings
from oso_core.config.secrets.base import ChainSecretResolver, SecretInaccessibleError, SecretReference, SecretResolver
from oso_core.config.secrets.env import EnvSecretResolver
from oso_core.config.secrets.oso_compat import gcp_backend, oso_backends
from oso_core.config.secrets.prefect_blocks import PrefectSecretResolver

# Backend names accepted in OSO_SECRETS, each a factory taking the prefix.
BACKENDS: dict[str, Callable[[str], SecretResolver]] = {
    "env": lambda prefix: EnvSecretResolver(prefix=prefix),
    "prefect": lambda prefix: PrefectSecretResolver(prefix=prefix),
    "gcp": gcp_backend,  # GcpSecretResolver, with OSO's DAGSTER_GCP_SECRETS_PREFIX / GOOGLE_PROJECT_ID where set
}


def backend_names() -> list[str]:
    """``OSO_SECRETS``'s backends; unset, OSO's ``DAGSTER_USE_LOCAL_SECRETS=false`` means ``gcp``; else ``env``."""
    return oso_backends() or settings.secret_backends()


def default_resolver() -> SecretResolver:
    """The chain named by ``OSO_SECRETS`` (default ``env``) with ``OSO_SECRET_PREFIX`` (default ``dagster``).

    Raises:
        ValueError: ``OSO_SECRETS`` is empty or names a backend that does not exist.
    """
    names = backend_names()
    unknown = [name for name in names if name not in BACKENDS]
    if unknown or not names:
        raise ValueError(
            f"OSO_SECRETS names unknown backend(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"known: {', '.join(BACKENDS)}"
        )
    prefix = settings.secret_prefix()
    chain = [BACKENDS[name](prefix) for name in names]
    return chain[0] if len(chain) == 1 else ChainSecretResolver(chain)


def resolve_setting(
    group: str, key: str, default: str | None = None, resolver: SecretResolver | None = None
) -> str | None:
    """An optional secret-like setting (e.g. ``iceberg.catalog_uri``, which may hold a password), or ``default``.

    Plain settings (base URLs, rate limits, the weekly knobs) are typed models read once: ``oso_core.config.settings``.
    Only values that may carry a credential stay here, resolved through the secrets chain on every call.
    """
    try:
        return (resolver or default_resolver()).resolve_as_str(SecretReference(group, key))
    except SecretInaccessibleError:
        return default
