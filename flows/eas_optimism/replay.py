"""--replay for eas_optimism: how its recorded fixtures stand in for the live API (development only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flows.eas_optimism.source import SOURCE
from oso_dev.replay import replay_server


@contextmanager
def replay_parameters() -> Iterator[dict[str, Any]]:
    """Replay two recorded weeks (2024-03-03 and 2024-03-10) in pages of 2."""
    with replay_server(SOURCE.name) as url:
        yield {"base_url": f"{url}/graphql", "start": "2024-03-03", "end": "2024-03-17", "page_size": 2}
