"""Secrets the way OSO resolves them: a ``SecretReference(group_name, key)`` asked of a ``SecretResolver``.

Sources never hold secrets nor read ``os.environ``: they declare references, and the resolver chain fills them at
run time. Backends, one module each:

* ``env``: ``PREFIX__GROUP__KEY`` from the environment, then the root ``.env`` (``EnvSecretResolver``);
* ``prefect``: a Prefect ``Secret`` block ``prefix--group--key`` (``PrefectSecretResolver``);
* ``gcp``: GCP Secret Manager secret ``prefix__group__key``, latest version (``GcpSecretResolver``).

``default_resolver()`` chains the backends named by ``OSO_SECRETS`` (default ``env``; e.g. ``env,prefect,gcp``)
with prefix ``OSO_SECRET_PREFIX`` (default ``dagster``). Errors name the reference and every place tried, never a
value. ``python -m oso_core.secrets check|push`` is the command line (``oso_core.secrets.cli``).

OSO's own names (``LocalSecretResolver``, ``GCPSecretResolver``, ``secret_ref_arg``, ``resolve_secrets_for_func``,
``HiddenVar``) are exported too, so OSO's code runs by changing its import line (``oso_core.secrets.oso_compat``);
OSO's ``DAGSTER_GCP_SECRETS_PREFIX``, ``GOOGLE_PROJECT_ID`` and ``DAGSTER_USE_LOCAL_SECRETS`` apply where set.
"""

from __future__ import annotations

from collections.abc import Callable

from oso_core import settings
from oso_core.secrets.base import (
    ChainSecretResolver,
    HiddenVar,
    ResolvedSecret,
    SecretDecodeError,
    SecretInaccessibleError,
    SecretReference,
    SecretResolver,
    SimpleSecretResolver,
)
from oso_core.secrets.env import EnvSecretResolver
from oso_core.secrets.gcp import GcpSecretResolver
from oso_core.secrets.oso_compat import (
    GCPSecretResolver,
    LocalSecretResolver,
    gcp_backend,
    oso_backends,
    resolve_secrets_for_func,
    secret_ref_arg,
)
from oso_core.secrets.prefect_blocks import PrefectSecretResolver, block_name, parse_block_name
from oso_core.secrets.runtime import ResolvedSecrets, resolve_source_secrets

__all__ = [
    "BACKENDS",
    "ChainSecretResolver",
    "EnvSecretResolver",
    "GCPSecretResolver",
    "GcpSecretResolver",
    "HiddenVar",
    "LocalSecretResolver",
    "PrefectSecretResolver",
    "ResolvedSecret",
    "ResolvedSecrets",
    "SecretDecodeError",
    "SecretInaccessibleError",
    "SecretReference",
    "SecretResolver",
    "SimpleSecretResolver",
    "backend_names",
    "block_name",
    "default_resolver",
    "parse_block_name",
    "resolve_secrets_for_func",
    "resolve_setting",
    "resolve_source_secrets",
    "secret_ref_arg",
]

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

    Plain settings (base URLs, rate limits, the weekly knobs) are typed models read once: ``oso_core.settings``.
    Only values that may carry a credential stay here, resolved through the secrets chain on every call.
    """
    try:
        return (resolver or default_resolver()).resolve_as_str(SecretReference(group, key))
    except SecretInaccessibleError:
        return default
