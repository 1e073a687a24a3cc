"""Secrets from GCP Secret Manager through prefect-gcp, named as OSO's production keystore names them.

Secret id ``{prefix}__{group}__{key}`` (``dagster__clickhouse__password``), latest version, in project
``OSO_GCP_PROJECT`` (else the credentials' project). The client comes from ``GcpCredentials
.get_secret_manager_client()``, prefect-gcp's single client factory: a saved ``GcpCredentials`` block
(``OSO_GCP_CREDENTIALS_BLOCK``) or Application Default Credentials.

Every failure (no project, no credentials, NotFound, PermissionDenied, transport) becomes a
``SecretInaccessibleError`` naming the secret id and the kind of failure only: Google's messages are not
repeated, so nothing but the id reaches a log.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from oso_core.config import settings
from oso_core.config.secrets.base import (
    ResolvedSecret,
    SecretInaccessibleError,
    SecretReference,
    SecretResolver,
    check_snake_case,
)

if TYPE_CHECKING:
    from prefect_gcp import GcpCredentials

# google.api_core exception class names → words for the error (matched by name so this module imports
# without google-cloud-secret-manager).
_REASONS = {"NotFound": "not found", "PermissionDenied": "permission denied", "Unauthenticated": "unauthenticated"}


def check_prefix(prefix: str) -> str:
    """A snake_case prefix, or ``""``: OSO's ``DAGSTER_GCP_SECRETS_PREFIX`` defaults to empty, which names secrets
    ``__group__key`` (its f-string ``f"{prefix}__{group}__{key}"`` with nothing before the first separator)."""
    return "" if prefix == "" else check_snake_case(prefix, "secret prefix")


def secret_id(ref: SecretReference, prefix: str) -> str:
    """``dagster__clickhouse__password``: OSO's keystore naming, lower-case (``__clickhouse__password`` unprefixed)."""
    return "__".join((check_prefix(prefix), ref.group_name, ref.key))


@lru_cache(maxsize=4)
def _default_credentials(block: str | None, project: str | None) -> GcpCredentials:
    """The configured credentials, built once per process: ``default_resolver()`` is called per lookup and
    ``GcpCredentials`` authenticates when constructed. Failures are not cached, so fixing ADC takes effect."""
    from prefect_gcp import GcpCredentials

    return GcpCredentials.load(block, _sync=True) if block else GcpCredentials(project=project)


class GcpSecretResolver(SecretResolver):
    """``projects/{project}/secrets/{prefix}__{group}__{key}/versions/latest`` via prefect-gcp.

    Args:
        prefix: secret id prefix (default: ``OSO_SECRET_PREFIX``).
        project: GCP project (default: ``OSO_GCP_PROJECT``, else the credentials' project).
        credentials: a ``GcpCredentials``; default: the ``OSO_GCP_CREDENTIALS_BLOCK`` block, else ADC.
        client: an already built Secret Manager client (anything with ``access_secret_version(request=...)``);
            built lazily from ``credentials`` on the first lookup when omitted.
    """

    def __init__(
        self,
        prefix: str | None = None,
        project: str | None = None,
        credentials: GcpCredentials | None = None,
        client: Any = None,
    ):
        self.prefix = check_prefix(prefix if prefix is not None else settings.secret_prefix())
        self.project = project or settings.gcp_project()
        self.credentials = credentials
        self.client = client

    def secret_id(self, ref: SecretReference) -> str:
        return secret_id(ref, self.prefix)

    def version_name(self, ref: SecretReference, project: str) -> str:
        return f"projects/{project}/secrets/{self.secret_id(ref)}/versions/latest"

    def describe(self, ref: SecretReference) -> str:
        return f"GCP secret {self.secret_id(ref)}" + (f" in project {self.project}" if self.project else "")

    def _client_and_project(self) -> tuple[Any, str | None]:
        if self.client is None:
            if self.credentials is None:
                self.credentials = _default_credentials(settings.gcp_credentials_block(), self.project)
            self.client = self.credentials.get_secret_manager_client()
        return self.client, self.project or getattr(self.credentials, "project", None)

    def _failure(
        self, ref: SecretReference, reason: str, wrapped: BaseException | None = None
    ) -> SecretInaccessibleError:
        # ``wrapped`` is kept as an attribute (OSO's ``wrapped_error``) but never enters the message or the chain
        return SecretInaccessibleError(ref, [f"{self.describe(ref)} ({reason})"], wrapped_error=wrapped)

    def lookup(self, ref: SecretReference) -> ResolvedSecret:
        try:
            client, project = self._client_and_project()
        except Exception as exc:  # no ADC, bad key file, missing block: the kind is enough to act on
            raise self._failure(ref, f"no client: {type(exc).__name__}", exc) from None
        if not project:
            raise self._failure(ref, "no project: set OSO_GCP_PROJECT")
        name = self.version_name(ref, project)
        try:
            response = client.access_secret_version(request={"name": name})
        except Exception as exc:
            kind = type(exc).__name__
            raise self._failure(ref, _REASONS.get(kind, f"error: {kind}"), exc) from None
        value = bytes(response.payload.data)
        if not value:
            raise self._failure(ref, "empty")
        return ResolvedSecret(ref, f"GCP secret {name}", value)

    def resolve(self, ref: SecretReference) -> bytes:
        return self.lookup(ref).value
