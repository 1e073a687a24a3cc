"""--replay for ossd_funding: an excerpt of oss-funding's funding_data.csv (development only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flows.ossd_funding.source import SOURCE
from oso_dev.replay import replay_server
from oso_dev.replay_secrets import replay_secrets


@contextmanager
def replay_parameters() -> Iterator[dict[str, Any]]:
    """``--replay``: the recorded CSV behind GitHub's contents API, and a stand-in token."""
    with replay_secrets(SOURCE.secrets), replay_server(SOURCE.name) as url:
        yield {"base_url": url}
