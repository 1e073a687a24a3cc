"""Shared upstream rate limits: one Prefect global concurrency limit per API that sources declare (``Source.api``).

GitHub's rate limit belongs to the token, not to a process: ossd_github, ossd_sbom and ossd_funding draw on it
wherever they run. So the guarantee lives on the Prefect server, the one thing every worker shares: a global
concurrency limit ``api:<name>`` (created by ``python -m blocks.setup``, limit = setting ``weekly.api_concurrency``)
and every load of a source that declares ``api`` holds one slot of it while it runs (the engine wraps the load in
:func:`api_slot`). Two sources, or two runs of one source, on different workers then never exceed the limit.

A load whose limit was never created (a local run against a fresh server) is not blocked: Prefect's non-strict
``concurrency`` lets it through, the weekly pipeline's own scheduling still keeps one API's sources apart in-process.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from oso_core.config import settings

if TYPE_CHECKING:
    from oso_core.model.sources import Source

PREFIX = "api:"
LEASE_SECONDS = 300  # a dead holder's slot returns to the pool at most this long after its worker died


def limit_name(api: str) -> str:
    """The global concurrency limit of an upstream API: ``api:github``."""
    return f"{PREFIX}{api}"


def configured_limit() -> int:
    """Loads at once per upstream API: setting ``weekly.api_concurrency`` (default 1)."""
    return settings.weekly().api_concurrency


def ensure_api_limits(apis: Iterable[str], limit: int | None = None) -> dict[str, str]:
    """Create or update ``api:<name>`` for each API; returns ``{limit name: created|updated|unchanged}``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
    from prefect.exceptions import ObjectNotFound

    wanted = configured_limit() if limit is None else limit
    results: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        for api in sorted(set(apis)):
            name = limit_name(api)
            try:
                current = client.read_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=wanted))
                results[name] = "created"
                continue
            if current.limit == wanted and current.active:
                results[name] = "unchanged"
                continue
            client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(limit=wanted, active=True))
            results[name] = "updated"
    return results


def declared_apis(sources: Iterable[Source]) -> list[str]:
    return sorted({source.api for source in sources if source.api})


@contextmanager
def api_slot(source: Source) -> Iterator[None]:
    """Hold one slot of the source's API limit while the body runs (nothing when the source declares no API)."""
    if not source.api:
        yield
        return
    from prefect.concurrency.sync import concurrency

    with concurrency(limit_name(source.api), occupy=1, lease_duration=LEASE_SECONDS):
        yield
