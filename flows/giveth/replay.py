"""--replay for giveth: how its recorded fixtures stand in for the live API (development only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flows.giveth.source import SOURCE
from oso_dev.replay import replay_server


@contextmanager
def replay_parameters() -> Iterator[dict[str, Any]]:
    """Replay two recorded rounds in pages of 2, with no pause between pages."""
    with replay_server(SOURCE.name) as url:
        yield {"base_url": f"{url}/graphql", "page_size": 2, "page_interval": 0.0}
