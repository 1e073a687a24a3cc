"""Object-store warehouses (``gs://``, ``s3://``): pyiceberg's PyArrow FileIO, configured from group ``iceberg``.

Every file of the lake (data files, manifests, metadata JSON, the writer's clean-up, maintenance's listings) goes
through the table's FileIO, which for an object-store warehouse is :class:`ObjectStoreFileIO`, pyiceberg's own
``PyArrowFileIO`` with two additions pyiceberg 0.12 does not expose: GCS retries are bounded
(``DAGSTER__ICEBERG__STORAGE_RETRY_SECONDS``; the Google client otherwise retries an unreachable endpoint for 15
minutes) and the GCP project is passed on. The fsspec FileIO is never used: its gcsfs path tries gRPC and fails
against the emulator, so ``py-io-impl`` is forced.

Settings (``PREFIX__ICEBERG__*``, for a SQL catalog; a REST catalog hands out its own FileIO settings):
``S3_ENDPOINT``, ``S3_REGION``, ``GCS_ENDPOINT``, ``GCP_PROJECT``,
``STORAGE_RETRY_SECONDS`` are typed settings; ``S3_ACCESS_KEY_ID``, ``S3_SECRET_ACCESS_KEY``, ``S3_SESSION_TOKEN``
and ``GCS_TOKEN`` are secrets (resolved like the catalog URI). Without keys S3 uses the AWS default chain; without a
token (or a ``GCP_CREDENTIALS_BLOCK``) GCS uses Application Default Credentials.

:func:`check_warehouse` runs when a catalog is opened: it looks up the bucket and lists the warehouse root, so a
wrong endpoint, bucket or credential fails before any source runs, with one error naming the setting to fix and
never a secret's value. :func:`attach_duckdb` gives DuckDB (httpfs, from the ``duckdb-extension-httpfs`` wheel) the
same endpoint and credentials, so SQL reads the same files.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from pyiceberg.io import GCS_SERVICE_HOST, GCS_TOKEN, GCS_TOKEN_EXPIRES_AT_MS

from oso_core.base.masking import mask_secrets
from oso_core.config import settings
from oso_core.config.secrets import SecretReference, SecretResolver, resolve_setting
from oso_core.warehouse.errors import WarehouseError

S3_SCHEMES = ("s3", "s3a", "s3n")
GCS_SCHEMES = ("gs", "gcs")
FILE_IO = "oso_core.warehouse.object_store_io.ObjectStoreFileIO"  # loaded by pyiceberg when a table is opened
RETRY_SECONDS = "gcs.retry-limit-seconds"  # a property of ObjectStoreFileIO only (pyiceberg has none)
PROJECT = "gcs.project-id"
TOKEN_LIFETIME_S = 3600  # a bare GCS access token is valid for an hour

STORAGE_SECRETS = (
    SecretReference("iceberg", "s3_access_key_id", "Access key id of an s3:// warehouse (default: the AWS chain)"),
    SecretReference("iceberg", "s3_secret_access_key", "Secret access key of an s3:// warehouse"),
    SecretReference("iceberg", "s3_session_token", "Session token of temporary S3 credentials"),
    SecretReference("iceberg", "gcs_token", "OAuth2 access token for a gs:// warehouse (default: the "
                    "GCP_CREDENTIALS_BLOCK, else Application Default Credentials)"),
)  # fmt: skip
# pyiceberg property each secret fills
_SECRET_PROPERTIES = {
    "s3_access_key_id": "s3.access-key-id",
    "s3_secret_access_key": "s3.secret-access-key",
    "s3_session_token": "s3.session-token",
    "gcs_token": GCS_TOKEN,
}


def scheme_of(location: str) -> str:
    return urlparse(location).scheme.lower() if "://" in location else ""


def is_object_store(location: str) -> bool:
    return scheme_of(location) in S3_SCHEMES + GCS_SCHEMES


def storage_properties(warehouse: str, resolver: SecretResolver | None = None) -> dict[str, str]:
    """The FileIO properties of an object-store warehouse from the settings (empty for a local one)."""
    scheme = scheme_of(warehouse)
    if scheme not in S3_SCHEMES + GCS_SCHEMES:
        return {}
    typed = settings.iceberg()
    props = {"py-io-impl": FILE_IO, RETRY_SECONDS: str(typed.storage_retry_seconds)}
    if scheme in S3_SCHEMES:
        if typed.s3_endpoint:
            props["s3.endpoint"] = typed.s3_endpoint
        if typed.s3_region:
            props["s3.region"] = typed.s3_region
        keys = ("s3_access_key_id", "s3_secret_access_key", "s3_session_token")
    else:
        if typed.gcs_endpoint:
            props[GCS_SERVICE_HOST] = typed.gcs_endpoint
        if typed.gcp_project:
            props[PROJECT] = typed.gcp_project
        keys = ("gcs_token",)
    for key in keys:
        if value := resolve_setting("iceberg", key, None, resolver):
            props[_SECRET_PROPERTIES[key]] = value
    if GCS_TOKEN in props:
        props[GCS_TOKEN_EXPIRES_AT_MS] = str(int((time.time() + TOKEN_LIFETIME_S) * 1000))
    return props


# -- the start check ---------------------------------------------------------------------------------------------
def iceberg_setting(key: str) -> str:
    """The environment name of an iceberg setting under the configured prefix: ``DAGSTER__ICEBERG__WAREHOUSE``."""
    return settings.env_name(settings.group_prefix("iceberg"), key)


def check_warehouse(warehouse: str, properties: Mapping[str, str]) -> None:
    """Fail now, naming the setting, if the object-store warehouse cannot be listed (endpoint, bucket, credential).

    Looks the bucket up, then lists the warehouse root (which needs read access): two requests.
    """
    from pyarrow.fs import FileSelector, FileType
    from pyiceberg.io import load_file_io

    if not is_object_store(warehouse):
        return
    io = load_file_io(dict(properties), warehouse)
    if not hasattr(io, "fs_by_scheme"):
        return  # a FileIO chosen by a REST catalog: it answers for itself
    scheme, bucket, path = io.parse_location(warehouse)
    s3 = scheme in S3_SCHEMES
    secrets = [v for k, v in properties.items() if k in _SECRET_PROPERTIES.values() and v]
    try:
        fs = io.fs_by_scheme(scheme, bucket)
        if fs.get_file_info(bucket).type == FileType.NotFound:
            raise WarehouseError(
                f"the warehouse {warehouse} ({iceberg_setting('warehouse')}) is not reachable: bucket {bucket!r} "
                "does not exist"
            )
        fs.get_file_info(FileSelector(path.rstrip("/"), recursive=False, allow_not_found=True))
    except WarehouseError:
        raise
    except Exception as error:  # noqa: BLE001 - every store error becomes one message naming the setting
        raise WarehouseError(_explain(warehouse, bucket, s3, mask_secrets(str(error), secrets, shortest=4))) from None


def _explain(warehouse: str, bucket: str, s3: bool, detail: str) -> str:
    text = detail.lower()
    if s3:
        endpoint, credentials = "s3_endpoint", "s3_access_key_id / s3_secret_access_key"
    else:
        endpoint, credentials = "gcs_endpoint", "gcs_token / gcp_credentials_block"
    if any(word in text for word in ("connect", "resolve", "timed out", "timeout", "network", "unavailable")):
        what = f"the endpoint cannot be reached: check {iceberg_setting(endpoint)}"
    elif any(word in text for word in ("nosuchbucket", "bucket does not exist", "not found", "404")):
        what = f"bucket {bucket!r} does not exist: check {iceberg_setting('warehouse')}"
    elif any(word in text for word in ("denied", "forbidden", "403", "401", "signature", "invalidaccesskey",
                                       "credential", "unauthorized", "token")):  # fmt: skip
        names = " / ".join(iceberg_setting(n.strip()) for n in credentials.split("/"))
        what = f"the credentials were refused: check {names}"
    else:
        what = f"check {iceberg_setting('warehouse')} and {iceberg_setting(endpoint)}"
    return f"the warehouse {warehouse} is not reachable, {what} ({detail.splitlines()[0][:300] if detail else ''})"


# -- DuckDB ------------------------------------------------------------------------------------------------------
def attach_duckdb(con: Any, warehouse: str, properties: Mapping[str, str]) -> bool:
    """Load httpfs into ``con`` and give it the warehouse's endpoint and credentials as a DuckDB secret.

    False when DuckDB cannot read this store with these settings (a gs:// warehouse on Application Default
    Credentials: DuckDB's GCS takes a bearer token or HMAC keys only); the caller then reads through pyiceberg.
    """
    scheme = scheme_of(warehouse)
    options: dict[str, str] = {}
    if scheme in S3_SCHEMES:
        options["TYPE"] = "s3"
        endpoint = properties.get("s3.endpoint")
        for option, key in (("KEY_ID", "s3.access-key-id"), ("SECRET", "s3.secret-access-key"),
                            ("SESSION_TOKEN", "s3.session-token"), ("REGION", "s3.region")):  # fmt: skip
            if properties.get(key):
                options[option] = properties[key]
        if not properties.get("s3.access-key-id"):
            options["PROVIDER"] = "credential_chain"
    elif scheme in GCS_SCHEMES and properties.get(GCS_TOKEN):
        options["TYPE"] = "gcs"
        endpoint = properties.get(GCS_SERVICE_HOST)
        options["BEARER_TOKEN"] = properties[GCS_TOKEN]
    else:
        return False
    if endpoint:
        parts = urlparse(endpoint)
        options.update(ENDPOINT=parts.netloc or parts.path, URL_STYLE="path", USE_SSL=str(parts.scheme == "https"))
    _load_httpfs(con)
    rendered = ", ".join(f"{k} {v}" if k in ("TYPE", "PROVIDER") else f"{k} {_literal(v)}" for k, v in options.items())
    con.execute(f"CREATE OR REPLACE SECRET oso_warehouse ({rendered})")
    return True


def _literal(value: str) -> str:
    if value in ("True", "False"):
        return value.lower()
    return "'" + value.replace("'", "''") + "'"


def _load_httpfs(con: Any) -> None:
    from oso_core.warehouse.duckdb_extensions import load_extension

    load_extension(con, "httpfs")
