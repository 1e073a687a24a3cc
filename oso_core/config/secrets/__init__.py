"""Secrets the way OSO resolves them: a ``SecretReference(group_name, key)`` asked of a ``SecretResolver``.

Sources never hold secrets nor read ``os.environ``: they declare references, and the resolver chain fills them at
run time. Backends, one module each:

* ``env``: ``PREFIX__GROUP__KEY`` from the environment, then the root ``.env`` (``EnvSecretResolver``);
* ``prefect``: a Prefect ``Secret`` block ``prefix--group--key`` (``PrefectSecretResolver``);
* ``gcp``: GCP Secret Manager secret ``prefix__group__key``, latest version (``GcpSecretResolver``).

``default_resolver()`` chains the backends named by ``OSO_SECRETS`` (default ``env``; e.g. ``env,prefect,gcp``)
with prefix ``OSO_SECRET_PREFIX`` (default ``dagster``). Errors name the reference and every place tried, never a
value. ``python -m oso_core secrets check|push`` is the command line (``oso_core.tools.secrets_cli``).

OSO's own names (``LocalSecretResolver``, ``GCPSecretResolver``, ``secret_ref_arg``, ``resolve_secrets_for_func``,
``HiddenVar``) are exported too, so OSO's code runs by changing its import line
(``oso_core.config.secrets.oso_compat``); OSO's ``DAGSTER_GCP_SECRETS_PREFIX``, ``GOOGLE_PROJECT_ID`` and
``DAGSTER_USE_LOCAL_SECRETS`` apply where set.
"""

from __future__ import annotations

from oso_core.config.secrets.base import (
    ChainSecretResolver,
    HiddenVar,
    ResolvedSecret,
    SecretDecodeError,
    SecretInaccessibleError,
    SecretReference,
    SecretResolver,
    SimpleSecretResolver,
)
from oso_core.config.secrets.default import BACKENDS, backend_names, default_resolver, resolve_setting
from oso_core.config.secrets.env import EnvSecretResolver
from oso_core.config.secrets.gcp import GcpSecretResolver
from oso_core.config.secrets.oso_compat import (
    GCPSecretResolver,
    LocalSecretResolver,
    resolve_secrets_for_func,
    secret_ref_arg,
)
from oso_core.config.secrets.prefect_blocks import PrefectSecretResolver, block_name, parse_block_name
from oso_core.config.secrets.runtime import ResolvedSecrets, resolve_source_secrets

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
