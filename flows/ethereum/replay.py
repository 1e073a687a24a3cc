"""--replay for ethereum: its recorded JSON-RPC batches stand in for a node (development only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flows.ethereum.source import RPC_URL, SOURCE
from oso_dev.replay import replay_server
from oso_dev.replay_secrets import replay_secret_value, replay_secrets

DAY = "2024-01-02"  # the recorded day of the test chain (python -m tests.support.ganache record)


@contextmanager
def replay_parameters() -> Iterator[dict[str, Any]]:
    """The RPC URL secret points at the replay server, with a stand-in key in its path (masked like a real one)."""
    with replay_server(SOURCE.name) as url:
        rpc_url = f"{url}/rpc/{replay_secret_value(RPC_URL)}"
        with replay_secrets(SOURCE.secrets, {RPC_URL: rpc_url}):
            yield {"start": DAY, "end": "2024-01-03"}
