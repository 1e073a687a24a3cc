"""Stand-in secrets for offline replays: the flow resolves its secrets exactly as in production.

A replay must exercise the real secret path (the token in a header, the key in the URL and its masking), but a
real secret must never go to a replay server. For the duration of the block, each reference resolves to an
obviously fake value through the env resolver's own variable (``DAGSTER__ENS__API_KEY``), which wins over
``.env``; the previous environment is restored afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from oso_core.config import settings
from oso_core.config.secrets import SecretReference


def replay_secret_value(ref: SecretReference) -> str:
    return f"replay-{ref.group_name}-{ref.key}".replace("_", "-")


@contextmanager
def replay_secrets(
    refs: tuple[SecretReference, ...], values: Mapping[SecretReference, str] | None = None
) -> Iterator[dict[str, str]]:
    """Make ``refs`` resolve to fake values while the block runs; yields ``{env name: fake value}``.

    ``values`` gives some references a value of their own (the ethereum source's RPC URL is a secret, and its
    replay's is the local replay server's URL with a stand-in key)."""
    values = values or {}
    names = {
        f"{settings.secret_prefix()}__{r.group_name}__{r.key}".upper(): values.get(r) or replay_secret_value(r)
        for r in refs
    }
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(names)
    try:
        yield names
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
