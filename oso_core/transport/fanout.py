"""Parent → child fan-out: one request per item of a list (a slug, a package, a chain), bounded and ordered.

OSO loops over slugs one by one and logs-and-continues on any error. Here the per-item calls run on a bounded
thread pool (HTTP waits overlap; the client's rate limiter still paces request starts), results come back in
the input order whatever order they finish in, and every item ends in exactly one bucket: a result, a skip
(``Skipped``, e.g. a 404 the source declared skippable) or an error. The caller decides what errors mean;
``raise_for_errors`` fails the load naming the items, so a half-fetched table is never committed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from oso_core.errors import Skipped, SourceError

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class FanOutResult(Generic[T, R]):
    """Per-item outcomes, each list in the order the items were given."""

    results: list[tuple[T, R]] = field(default_factory=list)
    skipped: list[tuple[T, str]] = field(default_factory=list)
    errors: list[tuple[T, BaseException]] = field(default_factory=list)
    cancelled: int = 0

    def values(self) -> list[R]:
        return [value for _, value in self.results]

    def skipped_labels(self, label: Callable[[T], str] = str) -> list[str]:
        return [f"{label(item)} ({reason})" for item, reason in self.skipped]

    def raise_for_errors(self, source: str, endpoint: str, label: Callable[[T], str] = str, show: int = 5) -> None:
        """Fail with a ``SourceError`` naming the first failed items and their problems, if any failed.

        A single failure that already is a ``SourceError`` (it names its own endpoint) is raised as it is.
        """
        if not self.errors:
            return
        if len(self.errors) == 1 and isinstance(self.errors[0][1], SourceError):
            raise self.errors[0][1]
        shown = "; ".join(f"{label(item)}: {exc}" for item, exc in self.errors[:show])
        more = f" (and {len(self.errors) - show} more)" if len(self.errors) > show else ""
        raise SourceError(source, endpoint, f"{len(self.errors)} item(s) failed: {shown}{more}")


def fan_out(
    items: Iterable[T],
    fetch: Callable[[T], R],
    *,
    max_workers: int = 4,
    fail_fast: bool = False,
) -> FanOutResult[T, R]:
    """Call ``fetch(item)`` for every item with at most ``max_workers`` in flight.

    Args:
        items: the parent list (consumed lazily: at most ``2 * max_workers`` calls are queued at a time).
        fetch: the per-item call; raising ``Skipped`` marks the item skipped, any other exception an error.
        max_workers: the bound on concurrent calls (1 runs them one after another, in order).
        fail_fast: stop submitting after the first error (the rest are counted as ``cancelled``).

    Returns:
        A ``FanOutResult`` whose lists follow the input order.
    """
    if max_workers < 1:
        raise ValueError("max_workers must be >= 1")
    outcomes: dict[int, tuple[str, T, object]] = {}
    iterator = iter(enumerate(items))
    pending: dict[Future[R], tuple[int, T]] = {}
    failed = False
    cancelled = 0
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="oso-fanout") as pool:

        def submit_more() -> None:
            while len(pending) < 2 * max_workers and not (fail_fast and failed):
                try:
                    index, item = next(iterator)
                except StopIteration:
                    return
                pending[pool.submit(fetch, item)] = (index, item)

        submit_more()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index, item = pending.pop(future)
                exc = future.exception()
                if exc is None:
                    outcomes[index] = ("result", item, future.result())
                elif isinstance(exc, Skipped):
                    outcomes[index] = ("skipped", item, f"HTTP {exc.status}")
                else:
                    outcomes[index] = ("error", item, exc)
                    failed = True
            submit_more()
        if fail_fast and failed:
            cancelled = sum(1 for _ in iterator)

    result: FanOutResult[T, R] = FanOutResult(cancelled=cancelled)
    for index in sorted(outcomes):
        kind, item, value = outcomes[index]
        if kind == "result":
            result.results.append((item, value))  # type: ignore[arg-type]
        elif kind == "skipped":
            result.skipped.append((item, value))  # type: ignore[arg-type]
        else:
            result.errors.append((item, value))  # type: ignore[arg-type]
    return result
