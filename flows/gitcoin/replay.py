"""--replay for gitcoin: how its recorded fixtures stand in for the live API (development only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flows.gitcoin.source import SOURCE
from oso_dev.pgtemp import replay_database


@contextmanager
def replay_parameters() -> Iterator[dict[str, Any]]:
    """``--replay``: the seed database in a temporary local PostgreSQL, handed over as a password-less URL."""
    with replay_database(SOURCE) as url:
        yield {"database_url": url}
