"""Which Iceberg catalog the lake is: embedded SQLite by default, Postgres-backed SQL or REST by settings.

Settings of group ``iceberg``: the URI, credential and token are secrets (a shared catalog URI usually carries a
password) resolved through ``oso_core.config.secrets``; the rest are typed settings
(``oso_core.config.settings.iceberg()``):

=====================================  =====================================================================
``DAGSTER__ICEBERG__CATALOG_TYPE``      ``sql`` (default) or ``rest``
``DAGSTER__ICEBERG__CATALOG_URI``       ``sqlite:///…/catalog.db`` (default), ``postgresql+psycopg2://u:p@h/db``
                                        (shared SqlCatalog; its tables are created on first use) or the REST
                                        catalog's ``https://…`` endpoint
``DAGSTER__ICEBERG__WAREHOUSE``         ``$OSO_HOME/warehouse`` (default, a plain path), ``file:///path``,
                                        ``gs://bucket/path``, ``s3://bucket/path``, or the REST catalog's
                                        warehouse name (object-store settings: ``oso_core.warehouse.storage``)
``DAGSTER__ICEBERG__CATALOG_NAME``      ``oso``
``DAGSTER__ICEBERG__CREDENTIAL`` /
``DAGSTER__ICEBERG__TOKEN``             REST catalog OAuth client credential (``id:secret``) or bearer token
``DAGSTER__ICEBERG__GCP_CREDENTIALS_BLOCK``  name of a prefect-gcp ``GcpCredentials`` block; its credentials are
                                        turned into a short-lived OAuth token for a ``gs://`` warehouse (without
                                        it, pyiceberg falls back to Application Default Credentials)
=====================================  =====================================================================

The embedded lake is built from ``$OSO_HOME`` as paths, never by pasting a path into a URI: the SQLite URI is a
SQLAlchemy URL (which percent-encodes the path and decodes it again), and the warehouse is the plain absolute path,
because pyiceberg's PyArrow FileIO takes a ``file://`` URI's path literally (``%20`` stays ``%20``) and cuts it at
``#`` or ``?`` (``file:///x/a#b/home`` writes to ``/x/a``). For the same reason a ``file://`` warehouse given in the
settings is refused if its path holds ``#``, ``?`` or ``%``.

An object-store warehouse (``gs://``, ``s3://``) adds the FileIO settings of ``oso_core.warehouse.storage``
(endpoints, region, project, keys and token) and is checked when the catalog opens: a wrong endpoint, bucket or
credential fails there, naming the setting. The SQLite and Postgres catalogs and both object stores (against the
GCS emulator and moto's S3 server) are covered by the tests; REST is configuration only: no REST catalog server
to test it against offline.

Opening fails with one ``WarehouseError`` naming the setting to fix: a catalog database that does not answer
(:class:`CatalogUnreachableError`: the setting, the host and port, what the driver said, the password masked), a
warehouse or catalog folder that is a file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from pyiceberg.catalog import Catalog, load_catalog
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from oso_core.base.masking import masked_excerpt
from oso_core.config import settings
from oso_core.config.secrets import SecretReference, SecretResolver, resolve_setting
from oso_core.warehouse.commit import is_lock_timeout
from oso_core.warehouse.errors import CatalogUnreachableError, WarehouseError
from oso_core.warehouse.storage import STORAGE_SECRETS, check_warehouse, iceberg_setting, storage_properties

CATALOG_INIT_ATTEMPTS = 5

# The secret-like part of the iceberg settings: resolved through the secrets chain, never typed settings.
CATALOG_SECRETS = (
    SecretReference("iceberg", "catalog_uri", "Catalog URI, e.g. postgresql+psycopg2://user:pass@host/db or "
                    "https://rest-catalog (default: sqlite:///$OSO_HOME/catalog.db)"),
    SecretReference("iceberg", "credential", "REST catalog OAuth2 client credential (client_id:client_secret)"),
    SecretReference("iceberg", "token", "REST catalog bearer token"),
    *STORAGE_SECRETS,
)  # fmt: skip


@dataclass(frozen=True)
class CatalogConfig:
    """Where the lake's catalog and warehouse live. ``uri`` may hold credentials: never log it whole."""

    name: str
    type: str
    uri: str
    warehouse: str
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def embedded(cls) -> CatalogConfig:
        home = settings.oso_home()
        return cls(name="oso", type="sql", uri=sqlite_uri(home / "catalog.db"), warehouse=str(home / "warehouse"))

    @classmethod
    def from_settings(cls, resolver: SecretResolver | None = None) -> CatalogConfig:
        default = cls.embedded()
        typed = settings.iceberg()

        def secret(key: str, fallback: str = "") -> str:
            return resolve_setting("iceberg", key, fallback, resolver) or fallback

        extra = {}
        for key, value in (("credential", secret("credential")), ("token", secret("token")), ("scope", typed.scope)):
            if value:
                extra[key] = value
        if typed.gcp_credentials_block:
            extra["oso.gcp_credentials_block"] = typed.gcp_credentials_block
        if typed.gcp_project:
            extra["gcs.project-id"] = typed.gcp_project
        warehouse = typed.warehouse or default.warehouse
        if typed.catalog_type == "sql":  # a REST catalog hands out its own FileIO settings (and credentials)
            extra.update(storage_properties(warehouse, resolver))
        return cls(
            name=typed.catalog_name,
            type=typed.catalog_type,
            uri=secret("catalog_uri", default.uri),
            warehouse=warehouse,
            extra=extra,
        )

    def redacted_uri(self) -> str:
        """The URI without a password, for messages."""
        if "@" in self.uri and "://" in self.uri:
            scheme, rest = self.uri.split("://", 1)
            return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
        return self.uri

    def properties(self) -> dict[str, str]:
        props = {"type": self.type, "uri": self.uri, "warehouse": self.warehouse}
        if self.type == "sql":
            props["init_catalog_tables"] = "true"  # SQLite and Postgres alike: create the catalog tables on first use
        props.update({k: v for k, v in self.extra.items() if not k.startswith("oso.")})
        if self.warehouse.startswith("gs://") and (block := self.extra.get("oso.gcp_credentials_block")):
            props.update(gcs_token_properties(block))
        return props


def sqlite_uri(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file, whatever characters its path holds (``#``, ``?``, ``%``, spaces …)."""
    return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def local_paths(config: CatalogConfig) -> tuple[Path | None, Path | None]:
    """The SQLite file and the warehouse folder the config names on this machine (None where not local).

    Raises WarehouseError for a ``file://`` warehouse pyiceberg would write somewhere else than it says.
    """
    database = None
    if config.uri.startswith("sqlite:"):
        name = make_url(config.uri).database
        database = Path(name) if name and name != ":memory:" else None
    warehouse = None
    parsed = urlparse(config.warehouse)
    if not parsed.scheme or Path(config.warehouse).is_absolute():
        warehouse = Path(config.warehouse)
    elif parsed.scheme == "file":
        if parsed.query or parsed.fragment or "%" in parsed.path or "#" in config.warehouse:
            raise WarehouseError(
                f"the warehouse {config.warehouse!r} (DAGSTER__ICEBERG__WAREHOUSE) is a file:// URI whose path holds "
                "'#', '?' or '%', which pyiceberg does not decode: give the plain path instead"
            )
        warehouse = Path(parsed.netloc + parsed.path)
    return database, warehouse


def gcs_token_properties(block_name: str) -> dict[str, str]:
    """pyiceberg GCS properties from a prefect-gcp ``GcpCredentials`` block (an OAuth token valid ~1 hour)."""
    from google.auth.transport.requests import Request
    from prefect_gcp import GcpCredentials

    gcp = GcpCredentials.load(block_name)
    credentials = gcp.get_credentials_from_service_account()
    credentials.refresh(Request())
    props = {"gcs.oauth2.token": credentials.token}
    if credentials.expiry is not None:
        props["gcs.oauth2.token-expires-at"] = str(int(credentials.expiry.timestamp() * 1000))
    if gcp.project:
        props["gcs.project-id"] = gcp.project
    return props


def open_catalog(config: CatalogConfig | None = None) -> Catalog:
    """Open (and on first use create) the catalog; the embedded lake's folder is made on demand, an object-store
    warehouse is checked (its bucket looked up and listed) before anything else."""
    config = config or CatalogConfig.from_settings()
    database, warehouse = local_paths(config)
    if database is not None:
        make_folder(database.parent, "the catalog's folder", _origin(database.parent, "catalog_uri"))
    if warehouse is not None:
        make_folder(warehouse, "the warehouse", _origin(warehouse, "warehouse"))
    properties = config.properties()
    if config.type == "sql":  # a REST catalog's warehouse is a name its server resolves
        check_warehouse(config.warehouse, properties)  # an unreachable object store fails here, naming the setting
    for attempt in range(CATALOG_INIT_ATTEMPTS):
        try:
            return load_catalog(config.name, **properties)
        except SQLAlchemyError as error:
            # Two loads (threads of one flow, or workers) creating the catalog tables at once: one of them finds
            # the tables made between its check and its CREATE. The next attempt sees them and creates nothing.
            # A catalog locked by another process's write is waited for the same way.
            if attempt + 1 == CATALOG_INIT_ATTEMPTS or not (_created_concurrently(error) or is_lock_timeout(error)):
                if isinstance(error, OperationalError) and not is_lock_timeout(error):
                    raise catalog_unreachable(config, error) from None
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _origin(path: Path, key: str) -> str:
    """Which setting put ``path`` there: ``OSO_HOME`` for the embedded lake's default layout, else the iceberg one."""
    home = settings.oso_home()
    return "OSO_HOME" if path in (home, home / "warehouse") else iceberg_setting(key)


def make_folder(path: Path, what: str, setting: str) -> None:
    """``mkdir -p path``; a file in the way is a ``WarehouseError`` naming the setting (a bare ``FileExistsError``
    named neither the setting nor that it must be a folder)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), path)
        found = "it is a file" if blocker == path else f"{blocker} on its path is a file"
        raise WarehouseError(
            f"{what} {path} ({setting}) must be a folder, but {found}: point {setting} at a folder "
            "(it is created if missing) or move the file away"
        ) from None


def catalog_unreachable(config: CatalogConfig, error: Exception) -> CatalogUnreachableError:
    """The error for a catalog database that did not answer: the setting, where it points and what the driver said,
    with the URI's password masked wherever it appears."""
    url = make_url(config.uri)
    if url.host:
        where = f"{url.host}:{url.port or _DEFAULT_PORTS.get(url.get_backend_name(), '?')}"
    else:
        where = url.database or config.redacted_uri()
    cause = getattr(error, "orig", None) or error  # the driver's own error, without SQLAlchemy's statement and link
    detail = masked_excerpt(" ".join(str(cause).split()), [url.password, config.uri], limit=300)
    return CatalogUnreachableError(
        f"the Iceberg catalog {config.redacted_uri()} ({iceberg_setting('catalog_uri')}) cannot be opened at "
        f"{where}: {detail or type(cause).__name__}",
        setting=iceberg_setting("catalog_uri"),
        where=where,
    )


_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}


def _created_concurrently(error: Exception) -> bool:
    text = str(error).lower()
    return "already exists" in text or "duplicate key" in text
