"""The typed settings: one pydantic-settings model per group, so every non-secret knob has a name, a type and a
default in one place (``.env.example`` is rendered from these models by ``python -m blocks.env_example``).

Names follow OSO's ``PREFIX__GROUP__KEY`` convention (``DAGSTER__WEEKLY__CONCURRENCY``); the prefix and the
``.env`` file are process settings, so ``oso_core.config.settings.load`` passes them at instantiation (``_env_prefix``,
``_env_file``) instead of freezing them in ``model_config``. The process settings (``OSO_*``) are read from the
environment only: they say where the ``.env`` file is, so that file cannot set them.

Secret-like settings (a catalog URI holding a password, tokens, the Discord webhook) are *not* here: they stay
``SecretReference``s resolved through ``oso_core.config.secrets``, which also reads Prefect blocks and GCP Secret
Manager.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_PREFIX = "dagster"


def _comma_list(value: Any) -> Any:
    """``"env, Prefect ,gcp"`` → ``["env", "Prefect", "gcp"]`` (env values are plain comma lists, not JSON)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class ProcessSettings(BaseSettings):
    """How this process finds everything else: the lake, the secrets backends, the sources (env ``OSO_*`` only)."""

    model_config = SettingsConfigDict(env_prefix="OSO_", env_ignore_empty=True, extra="ignore", env_file=None)
    section: ClassVar[str] = "process"

    secrets: Annotated[list[str], NoDecode] = Field(
        default=["env"],
        description="Ordered secret backends, first that has a secret wins: env, prefect, gcp (default: env)",
    )
    secret_prefix: str = Field(default=DEFAULT_PREFIX, description="Prefix of every secret and setting name")
    env_file: Path = Field(
        default=PROJECT_ROOT / ".env", description="The .env file the env backend and the settings read"
    )
    gcp_project: str | None = Field(
        default=None, description="GCP project holding the Secret Manager secrets (default: the credentials' project)"
    )
    gcp_credentials_block: str | None = Field(
        default=None,
        description="Name of a saved prefect-gcp GcpCredentials block (default: Application Default Credentials)",
    )
    source_packages: Annotated[list[str], NoDecode] = Field(
        default=["flows"], description="Python packages holding source folders, comma-separated"
    )
    dynamic_sources_dir: Path | None = Field(
        default=None,
        description="Directory of dynamic REST sources: one YAML description per file, each a source with its "
        "deployment (default: none); their settings follow the same names as the other sources'",
    )
    home: Path = Field(default=Path(".oso"), description="Root of the embedded lake: catalog.db and warehouse/")
    extensions: Annotated[list[str], NoDecode] = Field(
        default=["oso_dev.cli", "oso_dev.regenerate"],
        description="Modules that extend the command lines (--replay, --record) and the scaffold, comma-separated "
        "(oso_core.base.extensions); empty in a deployment without the development package",
    )
    prefect_port: int = Field(
        default=4210, ge=1, le=65535, description="Port of the project's local Prefect server (./dev server)"
    )

    @field_validator("secrets", mode="before")
    @classmethod
    def _backends(cls, value: Any) -> Any:
        value = _comma_list(value)
        return [part.lower() for part in value] if isinstance(value, list) else value

    @field_validator("source_packages", "extensions", mode="before")
    @classmethod
    def _packages(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("home", "dynamic_sources_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None


class GroupSettings(BaseSettings):
    """Settings of one group, ``PREFIX__<GROUP>__<KEY>`` from the environment, then the ``.env`` file.

    An empty value counts as unset wherever it is (as for secrets): the blank lines of a copied ``.env.example``
    keep the defaults. Unknown names under the prefix (the group's secrets among them) are ignored.
    """

    model_config = SettingsConfigDict(
        env_prefix=f"{DEFAULT_PREFIX.upper()}__GROUP__",
        env_file=PROJECT_ROOT / ".env",
        env_ignore_empty=True,
        extra="ignore",
        case_sensitive=False,
    )
    group: ClassVar[str] = ""
    section: ClassVar[str] = ""


class WeeklySettings(GroupSettings):
    """The weekly pipeline and its deployments."""

    group: ClassVar[str] = "weekly"
    section: ClassVar[str] = "weekly: the weekly pipeline and its deployments"

    concurrency: int = Field(default=4, ge=1, description="Sources loaded at once")
    task_runner: Literal["threads", "dask", "ray"] = Field(
        default="threads", description="Where sources run: threads, dask or ray"
    )
    dask_address: str | None = Field(default=None, description="Address of an existing Dask scheduler "
                                     "(default: a local cluster)")  # fmt: skip
    ray_address: str | None = Field(default=None, description="Address of an existing Ray cluster "
                                    "(default: a local Ray)")  # fmt: skip
    timezone: str = Field(
        default="UTC",
        description="IANA time zone of the Sunday 00:00 cron in prefect.yaml (regenerate prefect.yaml after a change)",
    )
    api_concurrency: int = Field(
        default=1, ge=1, description="Loads at once per upstream API (global concurrency limit api:<name>)"
    )
    crash_resubmits: int = Field(
        default=2, ge=0, description="Times the weekly run resubmits a source whose run Crashed (its worker died)"
    )
    source_timeout: float = Field(
        default=21600,
        gt=0,
        description="Seconds the weekly run waits for one source's load before marking it TimedOut and going on",
    )

    @field_validator("task_runner", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone such as UTC or Europe/Paris") from None
        return value


class AlertsSettings(GroupSettings):
    """Which runs send failure, crash and recovery alerts."""

    group: ClassVar[str] = "alerts"
    section: ClassVar[str] = "discord: failure alerts"

    deployments: Literal["all", "tagged"] = Field(
        default="all", description="Runs that alert: all, or only deployments tagged 'alerts' (as OSO chose jobs)"
    )


class MaintenanceSettings(GroupSettings):
    """Table maintenance (``flows/maintenance.py``): what its orphan-file sweep may never delete."""

    group: ClassVar[str] = "maintenance"
    section: ClassVar[str] = "maintenance: table maintenance (flows/maintenance.py)"

    orphan_age_floor_hours: float = Field(
        default=24,
        ge=0,
        description="Youngest unreferenced file the orphan sweep may delete, in hours; a smaller "
        "--orphan-age-hours is refused. A load's staged files are unreferenced until it commits: keep this longer "
        "than any load takes (24 is four times the weekly run's source_timeout)",
    )


class IcebergSettings(GroupSettings):
    """A shared catalog and an object-store warehouse instead of the embedded lake: the non-secret part (the
    catalog URI, REST credential and token, S3 keys and the GCS token are secrets)."""

    group: ClassVar[str] = "iceberg"
    section: ClassVar[str] = "iceberg: a shared catalog and an object-store warehouse instead of the embedded lake"

    catalog_type: str = Field(default="sql", description="Catalog type: sql (SQLite or Postgres via SQLAlchemy) "
                              "or rest")  # fmt: skip
    catalog_name: str = Field(default="oso", description="Catalog name")
    warehouse: str | None = Field(
        default=None,
        description="Warehouse location, e.g. gs://bucket/lake or s3://bucket/lake (default: $OSO_HOME/warehouse)",
    )
    scope: str | None = Field(default=None, description="REST catalog OAuth2 scope")
    gcp_credentials_block: str | None = Field(
        default=None, description="Name of a prefect-gcp GcpCredentials block used for a gs:// warehouse"
    )
    gcp_project: str | None = Field(default=None, description="GCP project of the gs:// warehouse bucket")
    gcs_endpoint: str | None = Field(
        default=None,
        description="GCS endpoint URL for a gs:// warehouse, e.g. http://localhost:9023 for an "
        "emulator (default: Google's)",
    )
    s3_endpoint: str | None = Field(
        default=None,
        description="S3 endpoint URL for an s3:// warehouse, e.g. http://localhost:9000 for MinIO or "
        "moto (default: AWS)",
    )
    s3_region: str | None = Field(default=None, description="Region of the s3:// warehouse bucket")
    storage_retry_seconds: float = Field(
        default=60, gt=0, description="Seconds the GCS client retries a failing request before the write fails"
    )


class SourceSettings(GroupSettings):
    """One source's knobs, ``PREFIX__<SOURCE>__<KEY>``: the same model for every source, one instance per source.

    ``None`` means "the source's own default" (its declaration's base URL, its flow's retry policy), so a flow
    only overrides what is set. A source with knobs of its own subclasses this model and names the subclass in
    its ``Source(settings_model=...)``.
    """

    section: ClassVar[str] = "every source"

    base_url: str | None = Field(default=None, description="API base URL (default: the source's declaration)")
    min_interval: float | None = Field(
        default=None, ge=0, description="Minimum seconds between request starts (default: the source's, mostly 0)"
    )
    rate_limit_wait: float | None = Field(
        default=None, ge=0, description="GraphQL: seconds to wait on HTTP 429 without Retry-After (default 65)"
    )
    retry_attempts: int | None = Field(default=None, ge=1, description="GraphQL: attempts per page (default 10)")
    retry_backoff: float | None = Field(default=None, ge=0, description="GraphQL: first backoff seconds (default 1)")
    page_interval: float | None = Field(
        default=None, ge=0, description="GraphQL: pause between pages in seconds (default: the source's)"
    )
    parallel_pages: int | None = Field(
        default=None, ge=1, description="REST offset pages fetched at once when the total is known (default 4)"
    )


DEFAULT_SQLMESH_PROJECT = PROJECT_ROOT / "flows" / "sqlmesh_project"


class TransformSettings(GroupSettings):
    """The transformation stage (``flows/transform.py``): which sqlmesh project runs, on which gateway, and how its
    models land in the lake. The Trino password and a sqlmesh state database URI of its own are secrets
    (``oso_core.transform.gateway.TRANSFORM_SECRETS``)."""

    group: ClassVar[str] = "transform"
    section: ClassVar[str] = "transform: the sqlmesh project run over the lake, and its models published back to it"

    project: Path = Field(
        default=DEFAULT_SQLMESH_PROJECT,
        description="Folder of the sqlmesh project to run (default: this repository's starter project, "
        "flows/sqlmesh_project)",
    )
    environment: str = Field(default="prod", description="sqlmesh environment planned and run")
    gateway: Literal["duckdb", "trino"] = Field(
        default="duckdb", description="Where the models run: duckdb (embedded, a file in the lake home) or trino"
    )
    source_schema: str = Field(
        default="sources__{catalog}__{db}",
        description="Schema each lake namespace is also exposed under on the DuckDB gateway, for "
        "@oso_source('bigquery.<ns>.<table>') (OSO's local DuckDB rule; {catalog} is bigquery, {db} the namespace)",
    )
    output_namespace: str = Field(default="oso", description="Lake namespace the models are published to")
    publish_tags: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Publish only the models carrying one of these sqlmesh tags, comma-separated (default: every "
        "model)",
    )
    state_schema: str = Field(default="sqlmesh", description="Schema of sqlmesh's state in a Postgres state database")
    in_weekly: bool = Field(default=True, description="The weekly run runs the transform after its loads")
    cron: str = Field(default="0 5 * * *", description="Cron of the transform deployment (OSO's daily 05:00 UTC)")
    concurrent_tasks: int = Field(default=1, ge=1, description="Models sqlmesh evaluates at once")
    memory_limit: str | None = Field(
        default=None,
        description="DuckDB gateway: memory limit of the models' SQL, e.g. 2GB; beyond it DuckDB spills to "
        "<lake home>/transform/transform.duckdb.tmp (default: DuckDB's own, 80% of RAM)",
    )
    trino_host: str | None = Field(default=None, description="Trino gateway: host (required for gateway trino)")
    trino_port: int = Field(default=8080, ge=1, le=65535, description="Trino gateway: port")
    trino_user: str = Field(default="sqlmesh", description="Trino gateway: user")
    trino_catalog: str = Field(default="iceberg", description="Trino gateway: catalog holding the lake")
    trino_http_scheme: Literal["http", "https"] = Field(default="http", description="Trino gateway: http or https")
    trino_source_schema: str = Field(
        default="{db}",
        description="Trino gateway: schema of @oso_source('bigquery.<ns>.<table>') in the Trino catalog ({db} is "
        "the namespace)",
    )

    @field_validator("publish_tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("memory_limit")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d+(\.\d+)?\s*([KMGT]i?B|B)", value.strip(), re.IGNORECASE):
            raise ValueError("a size DuckDB reads, e.g. 512MB, 2GB or 4GiB")
        return value.strip() if value else value

    @field_validator("source_schema", "trino_source_schema")
    @classmethod
    def _rule(cls, value: str) -> str:
        try:
            value.format(catalog="bigquery", db="ns")
        except (KeyError, IndexError, ValueError):
            raise ValueError("a schema template using only {catalog} and {db}, e.g. sources__{catalog}__{db}") from None
        if "{db}" not in value:
            raise ValueError("the template must hold {db} (each namespace needs a schema of its own)")
        return value

    @field_validator("project", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from oso_core.base.cadence import cron_of

        return cron_of(value)  # 'daily', 'weekly' or a cron expression; anything else is an error naming the setting
