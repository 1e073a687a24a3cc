"""The FileIO of object-store warehouses: pyiceberg's PyArrow FileIO with GCS retries bounded and the GCP project
passed (``oso_core.warehouse.storage`` says why). Its own module so that opening a catalog does not import
pyiceberg's Arrow I/O: pyiceberg imports this class by name (``py-io-impl``) when a table is first read or written.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from pyiceberg.io import GCS_SERVICE_HOST, GCS_TOKEN, GCS_TOKEN_EXPIRES_AT_MS
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.utils.datetime import millis_to_datetime

from oso_core.warehouse.compat import pyiceberg_s3_filesystem
from oso_core.warehouse.storage import PROJECT, RETRY_SECONDS


class ObjectStoreFileIO(PyArrowFileIO):
    """pyiceberg's PyArrow FileIO with GCS retries bounded and the GCP project passed (see the module docstring), and
    S3 files opened lazily (see ``_initialize_s3_fs``)."""

    def _initialize_s3_fs(self, netloc: str | None) -> Any:
        """pyiceberg's S3 filesystem with ``allow_delayed_open``: a file smaller than one part (every manifest and
        metadata file, most data files) is then one ``PutObject`` instead of a multipart upload's three requests.
        The cost Arrow names, an error surfacing at close instead of open, changes nothing here: a write commits
        only after every file of it closed. The options are carried over through the filesystem's pickle form, so
        pyiceberg's own reading of the ``s3.*`` properties (``compat.pyiceberg_s3_filesystem``) stays the one place
        they are read."""
        from pyarrow.fs import S3FileSystem

        built = pyiceberg_s3_filesystem(self, netloc)
        rebuild, (options,) = built.__reduce__()
        if not isinstance(built, S3FileSystem) or options.get("allow_delayed_open"):
            return built
        return rebuild({**options, "allow_delayed_open": True})

    def _initialize_gcs_fs(self) -> Any:
        from pyarrow.fs import GcsFileSystem

        kwargs: dict[str, Any] = {}
        if token := self.properties.get(GCS_TOKEN):
            kwargs["access_token"] = token
        if expiration := self.properties.get(GCS_TOKEN_EXPIRES_AT_MS):
            kwargs["credential_token_expiration"] = millis_to_datetime(int(expiration))
        if endpoint := self.properties.get(GCS_SERVICE_HOST):
            parts = urlparse(endpoint)
            kwargs["scheme"] = parts.scheme
            kwargs["endpoint_override"] = parts.netloc
        if project := self.properties.get(PROJECT):
            kwargs["project_id"] = project
        if retry := self.properties.get(RETRY_SECONDS):
            kwargs["retry_time_limit"] = timedelta(seconds=float(retry))
        return GcsFileSystem(**kwargs)
