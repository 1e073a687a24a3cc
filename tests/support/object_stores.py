"""Local servers that speak the real object-store protocols: moto's S3 server and the GCS emulator.

Each is started once per test session (``s3_server`` / ``gcs_server`` in ``tests/support/plugin.py``) as its own
process, with one bucket ``lake``; every test writes under its own prefix of that bucket. moto checks credentials
(IAM authentication is switched on once the bucket and users exist): ``S3Server.keys`` may do anything, while
``S3Server.no_metadata_keys`` may do anything but write under a ``metadata/`` folder, which makes a write fail
midway, after its data files are staged, with the store's own AccessDenied. The GCS emulator accepts any token.

``lake_env`` is the environment of a lake on one of them: its catalog in a fresh database of the session's
PostgreSQL, its warehouse in the store.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.ports import free_port

BUCKET = "lake"
REGION = "us-east-1"
GCS_TOKEN = "emulator-token"
_BIN = Path(sys.executable).parent


@dataclass
class StoreServer:
    """A running object-store server process."""

    kind: str  # "s3" or "gcs"
    endpoint: str
    process: subprocess.Popen | None  # None: served by a thread of this process
    keys: tuple[str, str] = ("", "")
    no_metadata_keys: tuple[str, str] = ("", "")
    extra: dict[str, str] = field(default_factory=dict)
    log: Path | None = None  # the server's request log (moto writes a line per request)

    @property
    def scheme(self) -> str:
        return "s3" if self.kind == "s3" else "gs"

    def warehouse(self, prefix: str) -> str:
        return f"{self.scheme}://{BUCKET}/{prefix}"

    def env(self, keys: tuple[str, str] | None = None) -> dict[str, str]:
        """The ``DAGSTER__ICEBERG__*`` settings of a warehouse on this server (not the warehouse itself)."""
        if self.kind == "s3":
            key_id, secret = keys or self.keys
            return {
                "DAGSTER__ICEBERG__S3_ENDPOINT": self.endpoint,
                "DAGSTER__ICEBERG__S3_REGION": REGION,
                "DAGSTER__ICEBERG__S3_ACCESS_KEY_ID": key_id,
                "DAGSTER__ICEBERG__S3_SECRET_ACCESS_KEY": secret,
            }
        return {"DAGSTER__ICEBERG__GCS_ENDPOINT": self.endpoint, "DAGSTER__ICEBERG__GCS_TOKEN": GCS_TOKEN}

    def s3_client(self) -> Any:
        """A boto3 S3 client of this (moto) server with the lake user's keys: the store's own client, not our
        FileIO, for checking what a test wrote."""
        import boto3

        assert self.kind == "s3", "only the S3 server has an S3 client"
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=self.keys[0],
            aws_secret_access_key=self.keys[1],
        )

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _wait_http(url: str, process: subprocess.Popen | None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def start_s3(log_dir: Path) -> StoreServer:
    """moto's standalone S3 server with bucket ``lake``, two users and IAM authentication on."""
    import boto3

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = (log_dir / "moto.log").open("wb")
    process = subprocess.Popen(
        [str(_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    _wait_http(f"{endpoint}/moto-api/", process)
    setup = {"endpoint_url": endpoint, "region_name": REGION, "aws_access_key_id": "s", "aws_secret_access_key": "-"}
    boto3.client("s3", **setup).create_bucket(Bucket=BUCKET)
    iam = boto3.client("iam", **setup)
    everything = {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["*"]}
    no_metadata = {"Effect": "Deny", "Action": ["s3:PutObject"], "Resource": [f"arn:aws:s3:::{BUCKET}/*/metadata/*"]}
    users = {}
    for user, statements in (("oso", [everything]), ("oso-no-metadata", [everything, no_metadata])):
        iam.create_user(UserName=user)
        policy = json.dumps({"Version": "2012-10-17", "Statement": statements})
        iam.put_user_policy(UserName=user, PolicyName="lake", PolicyDocument=policy)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        users[user] = (key["AccessKeyId"], key["SecretAccessKey"])
    # from now on every request must be signed by a known key and allowed by its user's policy
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    urllib.request.urlopen(request, timeout=10).close()
    return StoreServer(
        "s3", endpoint, process, keys=users["oso"], no_metadata_keys=users["oso-no-metadata"], log=log_dir / "moto.log"
    )


def start_gcs(log_dir: Path) -> StoreServer:
    """The ``gcp-storage-emulator`` server (JSON and XML APIs) with bucket ``lake``, in memory."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = (log_dir / "gcs-emulator.log").open("wb")
    command = [sys.executable, "-m", "gcp_storage_emulator", "start", "-H", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--in-memory", "--quiet", "--default-bucket", BUCKET],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "STORAGE_EMULATOR_HOST": endpoint},
    )
    _wait_http(f"{endpoint}/storage/v1/b/{BUCKET}", process)
    return StoreServer("gcs", endpoint, process)


@contextlib.contextmanager
def start_failing_gcs(log_dir: Path) -> Iterator[tuple[StoreServer, Path]]:
    """A GCS emulator (its own process) that refuses uploads under ``metadata/`` while the yielded file exists.

    The failure is injected into the emulator (its storage raises, so the request fails on the wire), never into
    the lake's code: a write then stages its data files, fails writing its manifests, and must clean up.
    """
    port = free_port()
    flag = log_dir / "refuse-metadata-uploads"
    log = (log_dir / "failing-gcs.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", _FAILING_GCS, str(port), str(flag)], stdout=log, stderr=subprocess.STDOUT
    )
    server = StoreServer("gcs", f"http://127.0.0.1:{port}", process)
    try:
        _wait_http(f"{server.endpoint}/storage/v1/b/{BUCKET}", process)
        yield server, flag
    finally:
        server.stop()


_FAILING_GCS = f"""
import os, sys
from gcp_storage_emulator.server import create_server
port, flag = int(sys.argv[1]), sys.argv[2]
server = create_server("127.0.0.1", port, in_memory=True, default_bucket={BUCKET!r})
storage = server._storage
for name in ("create_file", "create_resumable_upload"):
    def refuse(bucket_name, file_name, *args, _original=getattr(storage, name), **kwargs):
        if os.path.exists(flag) and "/metadata/" in file_name:
            raise OSError("injected by the test: the store refuses metadata uploads")
        return _original(bucket_name, file_name, *args, **kwargs)
    setattr(storage, name, refuse)
server.run()
"""


@dataclass
class ObjectLake:
    """One test's lake: a Postgres catalog database and a warehouse prefix on ``store``; ``env`` selects it."""

    store: StoreServer
    warehouse: str
    prefix: str
    env: dict[str, str]

    @classmethod
    def create(cls, store: StoreServer, postgres, tmp_path: Path) -> ObjectLake:
        prefix = f"t{uuid.uuid4().hex[:12]}"
        database = f"lake_{prefix}"
        postgres.create_database(database)
        warehouse = store.warehouse(prefix)
        env = {
            "OSO_HOME": str(tmp_path / "oso"),
            "OSO_ENV_FILE": str(tmp_path / "no.env"),
            "DAGSTER__ICEBERG__CATALOG_URI": postgres.url(database),
            "DAGSTER__ICEBERG__WAREHOUSE": warehouse,
            **store.env(),
        }
        return cls(store, warehouse, prefix, env)

    def objects(self, under: str = "") -> list[str]:
        """Names of the objects under this lake's prefix (``under`` below it), read with the store's own client."""
        return list_objects(self.store, f"{self.prefix}/{under}".rstrip("/"))


def list_objects(store: StoreServer, prefix: str) -> list[str]:
    """Object names under ``prefix`` of the bucket (folder markers left out): boto3 for S3, the JSON API for GCS
    (not our FileIO)."""
    if store.kind == "s3":
        client = store.s3_client()
        names = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            names.extend(item["Key"] for item in page.get("Contents", []))
        # pyarrow's S3 filesystem leaves an empty "folder/" marker where it deleted a folder's last file
        return sorted(name for name in names if not name.endswith("/"))
    names, token = [], ""
    while True:
        query = urllib.parse.urlencode({"prefix": prefix, **({"pageToken": token} if token else {})})
        with urllib.request.urlopen(f"{store.endpoint}/storage/v1/b/{BUCKET}/o?{query}", timeout=30) as response:
            page = json.load(response)
        names.extend(item["name"] for item in page.get("items", []))
        token = page.get("nextPageToken", "")
        if not token:
            return sorted(names)
