"""--replay for npm: how its recorded fixtures stand in for the live API (development only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flows.npm.source import SOURCE
from oso_dev.replay import replay_server


@contextmanager
def replay_parameters() -> Iterator[dict[str, Any]]:
    """``--replay``: one server answers both hosts' paths; the recorded window is the week of 2024-12-29."""
    with replay_server(SOURCE.name) as url:
        yield {"base_url": url, "registry_url": url, "start": "2024-12-29", "end": "2025-01-05"}
