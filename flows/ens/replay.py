"""--replay for ens: how its recorded fixtures stand in for the live API (development only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flows.ens.source import SOURCE, SUBGRAPH_PATH
from oso_dev.replay import replay_server
from oso_dev.replay_secrets import replay_secrets


@contextmanager
def replay_parameters() -> Iterator[dict[str, Any]]:
    """Replay recorded subgraph pages (2 rows each) behind a gateway-shaped URL with a stand-in key."""
    with replay_secrets(SOURCE.secrets), replay_server(SOURCE.name) as url:
        yield {"base_url": url + SUBGRAPH_PATH, "page_size": 2, "page_interval": 0.0}
