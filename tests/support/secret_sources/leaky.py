"""A source whose flow takes a secret value as a parameter: ``secrets check`` must refuse it."""

from __future__ import annotations

from prefect import flow

from oso_core.config.secrets import SecretReference
from oso_core.model.sources import Source, TableSpec

SOURCE = Source(
    name="leaky",
    tables=(TableSpec("events"),),
    flow="leaky_flow",
    description="test-only: its flow parameter would store the token on the Prefect server",
    secrets=(SecretReference("leaky", "api_token"),),
)


@flow
def leaky_flow(api_token: str, days: int = 7) -> None:
    """Wrong on purpose: Prefect stores ``api_token`` with the flow run."""
