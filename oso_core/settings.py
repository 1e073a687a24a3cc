"""Process-level settings: where the embedded lake lives and which secrets backends to use.

Settings that are *secret-like* (catalog URIs with passwords, webhooks, tokens) are resolved through
``oso_core.secrets`` instead; this module only holds the few plain knobs that decide how to build a resolver
and where the embedded defaults go. It is the one place that reads ``os.environ`` for them.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def oso_home() -> Path:
    """Root of the embedded lake (``$OSO_HOME``, default ``./.oso`` relative to the working directory)."""
    return Path(os.environ.get("OSO_HOME", ".oso")).expanduser().resolve()


def secret_prefix() -> str:
    """Prefix of every secret name; ``dagster`` keeps OSO's existing ``.env`` files and keystore names working."""
    return os.environ.get("OSO_SECRET_PREFIX", "dagster")


def secret_backends() -> list[str]:
    """Ordered secret backends of the default chain (``OSO_SECRETS=env,prefect,gcp``)."""
    raw = os.environ.get("OSO_SECRETS", "env")
    return [part.strip().lower() for part in raw.split(",") if part.strip()]


def env_file() -> Path:
    """The ``.env`` file read by the env resolver (``OSO_ENV_FILE``, default: the project's root ``.env``)."""
    return Path(os.environ.get("OSO_ENV_FILE", PROJECT_ROOT / ".env"))


def gcp_project() -> str | None:
    """GCP project holding Secret Manager secrets (``OSO_GCP_PROJECT``)."""
    return os.environ.get("OSO_GCP_PROJECT") or None


def gcp_credentials_block() -> str | None:
    """Name of a saved prefect-gcp ``GcpCredentials`` block for Secret Manager (``OSO_GCP_CREDENTIALS_BLOCK``);
    unset means Application Default Credentials."""
    return os.environ.get("OSO_GCP_CREDENTIALS_BLOCK") or None


def source_packages() -> list[str]:
    """Python packages holding source folders (``OSO_SOURCE_PACKAGES``, comma-separated; default ``flows``)."""
    raw = os.environ.get("OSO_SOURCE_PACKAGES", "flows")
    return [part.strip() for part in raw.split(",") if part.strip()]


def dynamic_sources_dir() -> Path | None:
    """Directory of dynamic source descriptions, one YAML file per REST source (``OSO_DYNAMIC_SOURCES_DIR``;
    unset: no dynamic sources)."""
    raw = os.environ.get("OSO_DYNAMIC_SOURCES_DIR")
    return Path(raw).expanduser().resolve() if raw else None
