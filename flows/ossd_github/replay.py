"""--replay for ossd_github: how its recorded fixtures stand in for the live API (development only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flows.ossd_github.source import SOURCE
from oso_dev.replay import replay_server
from oso_dev.replay_secrets import replay_secrets


@contextmanager
def replay_parameters() -> Iterator[dict[str, Any]]:
    """``--replay``: recorded GitHub responses for the sample directory's URLs, and a stand-in token."""
    with replay_secrets(SOURCE.secrets), replay_server(SOURCE.name) as url:
        yield {"base_url": url}
