"""OSO's secrets API (``oso_dagster.utils.secrets``) by its own names, backed by our resolvers.

OSO's code moves here by changing its import line only::

    from oso_dagster.utils.secrets import LocalSecretResolver, SecretReference, secret_ref_arg   # before
    from oso_core.config.secrets import LocalSecretResolver, SecretReference, secret_ref_arg            # after

``SecretReference``, ``SecretResolver`` (with ``resolve_as_str`` and ``resolve_as_hidden_var``),
``SimpleSecretResolver`` and ``SecretInaccessibleError`` are our own classes, which take OSO's call shapes. This
module adds the rest, each a thin adapter of an existing backend rather than a second implementation:

* ``LocalSecretResolver(prefix)``: ``EnvSecretResolver`` (``PREFIX__GROUP__KEY``, environment then ``.env``; OSO
  calls ``load_dotenv()`` before building it, which is what the ``.env`` fallback stands for);
* ``GCPSecretResolver(project_id, prefix, client)`` and ``connect_with_default_creds(project_id, prefix)``:
  ``GcpSecretResolver``, secret ``projects/{project_id}/secrets/{prefix}__{group}__{key}/versions/latest``;
* ``secret_ref_arg`` / ``resolve_secrets_for_func``: a function's ``SecretReference`` defaults resolved to strings.

OSO's deployment variables are honoured where they are set: ``DAGSTER_GCP_SECRETS_PREFIX`` (OSO's GCP prefix,
empty by default) names the GCP backend's secrets, ``GOOGLE_PROJECT_ID`` is its project when ``OSO_GCP_PROJECT``
is unset, and ``DAGSTER_USE_LOCAL_SECRETS=false`` selects GCP when ``OSO_SECRETS`` is unset. They are read here,
next to the names they serve, rather than in ``oso_core.config.settings``, because they only exist for OSO's
deployments.

Differences that OSO code does not observe: names are case-insensitive and must be snake_case (OSO's all are);
a missing key in ``SimpleSecretResolver`` raises ``SecretInaccessibleError`` where OSO's raised ``KeyError``;
``connect_with_default_creds`` builds its client on first use (ADC or ``OSO_GCP_CREDENTIALS_BLOCK``) so a missing
credential is a ``SecretInaccessibleError`` naming the secret id; error messages name places, never values.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from oso_core.config.secrets.base import SecretReference, SecretResolver
from oso_core.config.secrets.env import EnvSecretResolver
from oso_core.config.secrets.gcp import GcpSecretResolver

_FALSE = ("false", "0", "no", "off")


def dagster_gcp_secrets_prefix() -> str | None:
    """OSO's ``DAGSTER_GCP_SECRETS_PREFIX`` when set (possibly empty, OSO's default), else ``None``."""
    value = os.environ.get("DAGSTER_GCP_SECRETS_PREFIX")
    return None if value is None else value.strip()


def google_project_id() -> str | None:
    """OSO's ``GOOGLE_PROJECT_ID``: the GCP project of its Secret Manager secrets."""
    return os.environ.get("GOOGLE_PROJECT_ID") or None


def oso_backends() -> list[str] | None:
    """``["gcp"]`` when OSO's ``DAGSTER_USE_LOCAL_SECRETS`` says false and our ``OSO_SECRETS`` is unset, else ``None``
    (OSO's default, true, is our default ``env``)."""
    if "OSO_SECRETS" in os.environ:
        return None
    value = os.environ.get("DAGSTER_USE_LOCAL_SECRETS")
    return ["gcp"] if value is not None and value.strip().lower() in _FALSE else None


def gcp_backend(prefix: str) -> GcpSecretResolver:
    """The default chain's GCP backend: OSO's prefix and project variables win where they are set."""
    oso_prefix = dagster_gcp_secrets_prefix()
    project = os.environ.get("OSO_GCP_PROJECT") or google_project_id()
    return GcpSecretResolver(prefix=prefix if oso_prefix is None else oso_prefix, project=project)


class LocalSecretResolver(EnvSecretResolver):
    """OSO's local resolver: ``{PREFIX}__{GROUP}__{KEY}`` from the environment, then the project's ``.env``."""

    def __init__(self, prefix: str, env_file: Path | str | None = None):
        super().__init__(prefix=prefix, env_file=env_file)


class GCPSecretResolver(GcpSecretResolver):
    """OSO's GCP resolver: ``GCPSecretResolver(project_id, prefix, client)``; ``client`` is anything with
    ``access_secret_version(request={"name": ...})`` returning an object with ``payload.data``."""

    def __init__(self, project_id: str, prefix: str, client: Any):
        super().__init__(prefix=prefix, project=project_id, client=client)

    @classmethod
    def connect_with_default_creds(cls, project_id: str, prefix: str) -> GCPSecretResolver:
        """With Application Default Credentials (or ``OSO_GCP_CREDENTIALS_BLOCK``), the client built on first use."""
        return cls(project_id, prefix, None)


def secret_ref_arg(group_name: str, key: str) -> Any:
    """A ``SecretReference`` as an argument default: ``def f(token: str = secret_ref_arg(group_name=..., key=...))``.

    Typed ``Any`` (as OSO's) so it can stand as the default of a ``str`` parameter.
    """
    return SecretReference(group_name=group_name, key=key)


def resolve_secrets_for_func(resolver: SecretResolver, f: Callable[..., Any]) -> dict[str, str]:
    """``{parameter: value}`` for every parameter of ``f`` whose default is a ``SecretReference``; call
    ``f(**resolved)``. A Prefect flow or task is looked through to its function."""
    fn = getattr(f, "fn", f)
    return {
        name: resolver.resolve_as_str(param.default)
        for name, param in inspect.signature(fn).parameters.items()
        if isinstance(param.default, SecretReference)
    }
