"""--replay for open_collective: how its recorded fixtures stand in for the live API (development only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flows.open_collective.source import SOURCE
from oso_dev.replay import replay_server
from oso_dev.replay_secrets import replay_secrets


@contextmanager
def replay_parameters() -> Iterator[dict[str, Any]]:
    """Replay two recorded weeks (2024-01-07 and 2024-01-14) and the accounts, with a stand-in token."""
    with replay_secrets(SOURCE.secrets), replay_server(SOURCE.name) as url:
        yield {
            "base_url": f"{url}/graphql/v2",
            "start": "2024-01-07",
            "end": "2024-01-21",
            "page_size": 2,
            "accounts_page_size": 2,
        }
