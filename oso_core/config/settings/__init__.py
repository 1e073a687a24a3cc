"""Typed settings, read once per process: one pydantic-settings model per group (``oso_core.config.settings.models``).

* ``process()``: ``OSO_HOME``, ``OSO_SECRETS``, ``OSO_SECRET_PREFIX``, ``OSO_ENV_FILE``, ``OSO_SOURCE_PACKAGES``,
  ``OSO_DYNAMIC_SOURCES_DIR``, ... from the environment only;
* ``weekly()``, ``iceberg()``, ``maintenance()``: ``PREFIX__WEEKLY__*``, ... from the environment, then ``.env``;
* ``source(name)``: ``PREFIX__<NAME>__BASE_URL``, ``__MIN_INTERVAL``, ... one ``SourceSettings`` per source.

Each is read on first use and kept (``reload()`` forgets them). A bad value is a ``SettingsError`` naming the
variable and the expected type. Secret-like settings (catalog URI with a password, tokens, webhooks) are
``SecretReference``s of ``oso_core.config.secrets``, not fields here. The functions below (``oso_home()``,
``secret_prefix()``, ...) are the short accessors the rest of the code calls.
"""

from __future__ import annotations

from pathlib import Path

from oso_core.config.settings.loading import SettingsError, env_name, group_prefix, load, process, reload
from oso_core.config.settings.models import (
    DEFAULT_PREFIX,
    PROJECT_ROOT,
    AlertsSettings,
    GroupSettings,
    IcebergSettings,
    MaintenanceSettings,
    ProcessSettings,
    SourceSettings,
    TransformSettings,
    WeeklySettings,
)

__all__ = [
    "DEFAULT_PREFIX",
    "PROJECT_ROOT",
    "GroupSettings",
    "AlertsSettings",
    "IcebergSettings",
    "MaintenanceSettings",
    "ProcessSettings",
    "SettingsError",
    "SourceSettings",
    "TransformSettings",
    "WeeklySettings",
    "dynamic_sources_dir",
    "env_file",
    "env_name",
    "gcp_credentials_block",
    "gcp_project",
    "group_prefix",
    "iceberg",
    "load",
    "maintenance",
    "oso_home",
    "process",
    "reload",
    "secret_backends",
    "secret_prefix",
    "source",
    "source_packages",
    "transform",
    "weekly",
]


def weekly() -> WeeklySettings:
    """``PREFIX__WEEKLY__*``: concurrency, task runner, cluster addresses, the cron's time zone."""
    return load(WeeklySettings)


def transform() -> TransformSettings:
    """Group ``transform``: the sqlmesh project, its gateway and where its models are published."""
    return load(TransformSettings)


def alerts() -> AlertsSettings:
    """Group ``alerts``: which runs alert."""
    return load(AlertsSettings)


def iceberg() -> IcebergSettings:
    """``PREFIX__ICEBERG__*`` without the secrets (catalog URI, credential, token: see ``oso_core.warehouse``)."""
    return load(IcebergSettings)


def maintenance() -> MaintenanceSettings:
    """``PREFIX__MAINTENANCE__*``: the orphan sweep's age floor."""
    return load(MaintenanceSettings)


def source(name: str, model: type[SourceSettings] = SourceSettings) -> SourceSettings:
    """One source's settings (``PREFIX__<NAME>__*``), read once per source; ``model`` for a source's own subclass."""
    return load(model, name)


def oso_home() -> Path:
    """Root of the embedded lake (``$OSO_HOME``, default ``./.oso`` relative to the working directory)."""
    return process().home


def secret_prefix() -> str:
    """Prefix of every secret name; ``dagster`` keeps OSO's existing ``.env`` files and keystore names working."""
    return process().secret_prefix


def secret_backends() -> list[str]:
    """Ordered secret backends of the default chain (``OSO_SECRETS=env,prefect,gcp``)."""
    return list(process().secrets)


def env_file() -> Path:
    """The ``.env`` file read by the env resolver and the settings (``OSO_ENV_FILE``, default: the root ``.env``)."""
    return process().env_file


def gcp_project() -> str | None:
    """GCP project holding Secret Manager secrets (``OSO_GCP_PROJECT``)."""
    return process().gcp_project


def gcp_credentials_block() -> str | None:
    """Name of a saved prefect-gcp ``GcpCredentials`` block for Secret Manager (``OSO_GCP_CREDENTIALS_BLOCK``);
    unset means Application Default Credentials."""
    return process().gcp_credentials_block


def source_packages() -> list[str]:
    """Python packages holding source folders (``OSO_SOURCE_PACKAGES``, comma-separated; default ``flows``)."""
    return list(process().source_packages)


def dynamic_sources_dir() -> Path | None:
    """Directory of dynamic source descriptions (``OSO_DYNAMIC_SOURCES_DIR``; unset: no dynamic sources)."""
    return process().dynamic_sources_dir
