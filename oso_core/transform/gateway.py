"""sqlmesh's gateway and state connection, built from the settings (group ``transform``) and the lake's catalog.

* ``duckdb`` (default, embedded): the gateway database is a DuckDB file in the lake home holding the pinned views
  of ``lake_views``; sqlmesh's connection loads extensions by name, so the avro and iceberg extensions are
  linked from their wheels' files into the transform's own extension directory first (``install_extensions``;
  the transform writes its folder anyway, while a plain read of the lake writes nothing), and nothing is downloaded.
* ``trino`` (production, as OSO ran it): ``transform.trino_host`` / ``_port`` / ``_user`` / ``_catalog`` /
  ``_http_scheme``; the password is the secret ``(transform, trino_password)`` (basic auth when set). The Trino
  client is an extra (``pip install 'oso-prefect[trino]'``); without it the gateway fails naming the install.

sqlmesh's state lives where the lake's catalog lives, so machines sharing a lake share one state: a Postgres
catalog (``DAGSTER__ICEBERG__CATALOG_URI=postgresql+psycopg2://…``) holds it too, in schema
``transform.state_schema``; the embedded lake keeps it in ``$OSO_HOME/transform/state.duckdb``. The secret
``(transform, state_uri)`` names another Postgres database instead. The Trino gateway needs a Postgres state (a
DuckDB file cannot be shared by the machines Trino serves).

Secrets reach sqlmesh's connection configs only: every error built here is masked first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from oso_core.base.masking import mask_secrets
from oso_core.config import settings
from oso_core.config.secrets import SecretReference, SecretResolver, resolve_setting
from oso_core.config.settings import TransformSettings
from oso_core.transform.errors import TransformError

TRANSFORM_SECRETS = (
    SecretReference("transform", "trino_password", "Trino gateway password (basic auth; unset: no password)"),
    SecretReference("transform", "state_uri", "sqlmesh state database, postgresql://user:pass@host:port/db "
                    "(default: the Postgres catalog database, else $OSO_HOME/transform/state.duckdb)"),
)  # fmt: skip

GATEWAY_NAME = "oso"
# The embedded gateway's database holds scratch tables: each model's output, read once by the publish (the lake keeps
# them as zstd Parquet). DuckDB's compression analysis of every column segment at checkpoint was ~40% of the CPU of
# the models' CREATE TABLE ... AS (issue 18: 100k projects, 1M repositories, 7.3 s of CPU to 4.3 s, the :memory:
# floor 3.7 s), for a file 5x smaller (35 MB to 174 MB there). Every compression method is disabled (a supported
# setting; ``force_compression`` is DuckDB's debug one), so segments are stored plain.
UNCOMPRESSED = "rle,bitpacking,dictionary,fsst,alp,alprd,chimp,patas,zstd,roaring,dict_fsst"
GATEWAY_DUCKDB_CONFIG = {"disabled_compression_methods": UNCOMPRESSED}


@dataclass(frozen=True)
class GatewayFiles:
    """The embedded gateway's files in the lake home."""

    folder: Path

    @classmethod
    def in_home(cls) -> GatewayFiles:
        return cls(settings.oso_home() / "transform")

    @property
    def database(self) -> Path:
        return self.folder / "transform.duckdb"

    @property
    def state(self) -> Path:
        return self.folder / "state.duckdb"

    @property
    def extensions(self) -> Path:
        return self.folder / "duckdb_extensions"


def install_extensions(directory: Path) -> None:
    """Make the wheels' avro and iceberg extensions loadable by name from ``directory``, where a DuckDB connection
    that loads them by name, as sqlmesh's does, finds them without a download.

    Each is a symbolic link to the wheel's own file at the path DuckDB looks in
    (``v<version>/<platform>/<name>.duckdb_extension``): ``INSTALL`` would copy ~60 MB and hash it on every fresh
    lake home (seconds of the first transform). Where a link cannot be made (a file system without them), or one
    left behind points nowhere (the environment moved), the extension is installed by copy as before.
    """
    import duckdb

    from oso_core.warehouse.duckdb_extensions import extension_file

    directory.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"extension_directory": str(directory), "autoinstall_known_extensions": False})
    try:
        platform = con.execute("PRAGMA platform").fetchone()[0]
        folder = directory / f"v{duckdb.__version__}" / platform
        for name in ("avro", "iceberg"):
            target = folder / f"{name}.duckdb_extension"
            if target.exists():  # a copy, or a link to a file that is there
                continue
            if target.is_symlink():
                target.unlink()  # dangling
            try:
                folder.mkdir(parents=True, exist_ok=True)
                target.symlink_to(extension_file(name))
            except OSError:
                con.execute(f"INSTALL '{extension_file(name)}'")
    finally:
        con.close()


@dataclass(frozen=True)
class GatewayPlan:
    """What ``build_gateway`` chose, for the run's summary (no secret in it)."""

    gateway: Any  # sqlmesh.core.config.GatewayConfig
    kind: str
    state: str  # where the state lives, redacted
    secrets: tuple[str, ...] = ()  # values to mask in any error text


def _secret(key: str, resolver: SecretResolver | None) -> str | None:
    return resolve_setting("transform", key, None, resolver) or None


def postgres_state(uri: str, schema: str, origin: str) -> tuple[Any, str, str]:
    """A sqlmesh Postgres connection config from a SQLAlchemy/libpq URI; (config, redacted, password)."""
    from sqlmesh.core.config import PostgresConnectionConfig

    try:
        url = make_url(uri)
    except Exception:  # noqa: BLE001 - the message would quote the URI
        raise TransformError(f"{origin} is not a database URI (postgresql://user:pass@host:port/db)") from None
    if not url.drivername.startswith("postgresql"):
        raise TransformError(f"{origin}: sqlmesh's shared state needs a Postgres database, not {url.drivername}")
    password = url.password or ""
    redacted = url.render_as_string(hide_password=True)
    if not (url.host and url.database):
        raise TransformError(f"{origin} ({redacted}) needs a host and a database")
    try:
        config = PostgresConnectionConfig(
            host=url.host,
            port=url.port or 5432,
            user=url.username or "",
            password=password,
            database=url.database,
            connect_timeout=10,
        )
    except Exception as error:  # noqa: BLE001 - pydantic's text may quote the password
        raise TransformError(f"{origin} ({redacted}): {mask_secrets(str(error), [password])}") from None
    return config, f"postgres {redacted} schema {schema}", password


def _state(
    typed: TransformSettings, files: GatewayFiles, resolver: SecretResolver | None, need_shared: bool
) -> tuple[Any, str, str]:
    from sqlmesh.core.config import DuckDBConnectionConfig

    from oso_core.warehouse.catalog import CatalogConfig

    own = _secret("state_uri", resolver)
    if own:
        return postgres_state(own, typed.state_schema, "the sqlmesh state database (DAGSTER__TRANSFORM__STATE_URI)")
    catalog_uri = CatalogConfig.from_settings(resolver).uri
    if catalog_uri.startswith("postgresql"):
        return postgres_state(catalog_uri, typed.state_schema, "the catalog database (DAGSTER__ICEBERG__CATALOG_URI)")
    if need_shared:
        raise TransformError(
            "the trino gateway keeps sqlmesh's state in a shared Postgres database: set DAGSTER__TRANSFORM__STATE_URI "
            "(or use a Postgres catalog, DAGSTER__ICEBERG__CATALOG_URI)"
        )
    return DuckDBConnectionConfig(database=str(files.state)), f"duckdb {files.state}", ""


def trino_options(typed: TransformSettings, resolver: SecretResolver | None = None) -> dict[str, Any]:
    """The options of sqlmesh's ``TrinoConnectionConfig`` from the settings (the password from the secrets)."""
    if not typed.trino_host:
        raise TransformError("the trino gateway needs its host: set DAGSTER__TRANSFORM__TRINO_HOST")
    options: dict[str, Any] = {
        "host": typed.trino_host,
        "port": typed.trino_port,
        "user": typed.trino_user,
        "catalog": typed.trino_catalog,
        "http_scheme": typed.trino_http_scheme,
        "concurrent_tasks": typed.concurrent_tasks,
    }
    if password := _secret("trino_password", resolver):
        options.update(method="basic", password=password)
    return options


def _trino_connection(options: dict[str, Any], secrets: tuple[str, ...]) -> Any:
    import importlib.util

    from sqlmesh.core.config import TrinoConnectionConfig

    if importlib.util.find_spec("trino") is None:
        raise TransformError(
            "the trino gateway (DAGSTER__TRANSFORM__GATEWAY=trino) needs the Trino client: "
            "pip install 'oso-prefect[trino]' (sqlmesh[trino])"
        )
    try:
        return TrinoConnectionConfig(**options)
    except Exception as error:  # noqa: BLE001 - pydantic's text may quote the password
        raise TransformError(
            f"the trino gateway settings (DAGSTER__TRANSFORM__TRINO_*): {mask_secrets(str(error), secrets)}"
        ) from None


def build_gateway(
    typed: TransformSettings | None = None,
    files: GatewayFiles | None = None,
    resolver: SecretResolver | None = None,
) -> GatewayPlan:
    """The sqlmesh ``GatewayConfig`` the settings describe (``transform.gateway``), with its state connection."""
    from sqlmesh.core.config import DuckDBConnectionConfig, GatewayConfig

    typed = typed or settings.transform()
    files = files or GatewayFiles.in_home()
    state, state_text, state_password = _state(typed, files, resolver, need_shared=typed.gateway == "trino")
    if typed.gateway == "duckdb":
        install_extensions(files.extensions)
        limit = {"memory_limit": typed.memory_limit} if typed.memory_limit else {}
        connection = DuckDBConnectionConfig(
            database=str(files.database),
            connector_config={"extension_directory": str(files.extensions), **GATEWAY_DUCKDB_CONFIG, **limit},
            concurrent_tasks=typed.concurrent_tasks,
        )
        secrets: tuple[str, ...] = (state_password,) if state_password else ()
    else:
        options = trino_options(typed, resolver)
        secrets = tuple(s for s in (options.get("password"), state_password) if s)
        connection = _trino_connection(options, secrets)
    gateway = GatewayConfig(connection=connection, state_connection=state, state_schema=typed.state_schema)
    return GatewayPlan(gateway, typed.gateway, state_text, secrets)


def source_rule(typed: TransformSettings | None = None) -> str:
    """The schema template of ``@oso_source`` names on the configured gateway."""
    typed = typed or settings.transform()
    return typed.source_schema if typed.gateway == "duckdb" else typed.trino_source_schema
