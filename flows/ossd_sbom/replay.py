"""--replay for ossd_sbom: recorded SPDX answers for the sample repositories (development only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flows.ossd_sbom.source import SOURCE
from oso_dev.replay import replay_server
from oso_dev.replay_secrets import replay_secrets


@contextmanager
def replay_parameters() -> Iterator[dict[str, Any]]:
    """``--replay``: recorded SBOMs of the repositories ossd_github's replay loads, and a stand-in token."""
    with replay_secrets(SOURCE.secrets), replay_server(SOURCE.name) as url:
        yield {"base_url": url}
