"""--replay for l2beat: how its recorded fixtures stand in for the live API (development only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flows.l2beat.source import SOURCE
from oso_dev.replay import replay_server


@contextmanager
def replay_parameters() -> Iterator[dict[str, Any]]:
    """``--replay``: the recorded fixtures, without OSO's five-second pause between charts."""
    with replay_server(SOURCE.name) as url:
        yield {"base_url": url, "min_interval": 0.0}
