"""A source whose flow resolves its declared secrets, logs and publishes around them, then fails.

The canary test runs it and then searches everything Prefect stored about the run for the values. ``SEEN``
keeps the resolved values in this process only, so the test can prove they really were in the flow's hands.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from oso_core.config.secrets import SecretReference, default_resolver, resolve_source_secrets
from oso_core.model.sources import Source, TableSpec

TOKEN = SecretReference("canary", "token")
BLOCK_KEY = SecretReference("canary", "block_key")
MISSING = SecretReference("canary", "missing")

SOURCE = Source(
    name="canary",
    tables=(TableSpec("events"),),
    flow="canary_flow",
    description="test-only: resolves two secrets, then fails on a third",
    secrets=(TOKEN, BLOCK_KEY),
)

SEEN: list[str] = []


@flow(log_prints=True)
def canary_flow(token: SecretReference = TOKEN, fail_on: SecretReference = MISSING) -> None:
    """Resolve at run time (parameters are references), talk about the secrets, then fail on a missing one."""
    logger = get_run_logger()
    secrets = resolve_source_secrets(SOURCE)
    SEEN.extend(secrets[ref] for ref in secrets)
    logger.info("resolved %s", secrets)
    print(f"token {token} came from {secrets.origin(token)}: {secrets}")
    create_markdown_artifact(key="canary-secrets", markdown=f"# Canary secrets\n\n{secrets!r}")
    default_resolver().resolve_as_str(fail_on)
