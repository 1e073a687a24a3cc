"""What a running load uses, handed over as ``run`` (``SourceRun``): secrets, clients, fan-out, windows.

Each tool reads the source's own settings, so no flow repeats them and none can forget one:

* ``run.secret(ref)``: the value of a declared secret, from the project's resolver; it joins ``run.masks``, which
  every client the run makes hides from its errors and logs.
* ``run.http(...)``, ``run.graphql(...)``, ``run.jsonrpc(...)``, ``run.download(...)``: clients named after the
  source, on its base URL, paced by the setting ``<source>.min_interval``; GraphQL clients also take the retry and
  page-interval settings (``configured_retry``).
* ``run.fan_out(items, fetch, endpoint=...)``: one call per item; skips go to the summary, errors fail the load.
* ``run.load_windows(tables, extract, start=, end=, max_windows=)``: the windows of a windowed source, planned,
  extracted (``extract(window)`` returns the window's frames, table → frame) and merged; the engine finishes the
  windows (tallies, faulty ones) when the load function returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from oso_core.config.secrets import SecretReference
    from oso_core.engine.summary import LoadSummary
    from oso_core.engine.windows import Window, WindowedLoad, WindowOutcome
    from oso_core.model.sources import Source
    from oso_core.transport.download import Download
    from oso_core.transport.fanout import FanOutResult
    from oso_core.transport.graphql import GraphQLClient, PageRetry
    from oso_core.transport.http import HttpClient
    from oso_core.transport.jsonrpc import JsonRpcClient
    from oso_core.warehouse import Warehouse

T = TypeVar("T")
R = TypeVar("R")
DEFAULT_MAX_WINDOWS = 52  # as oso_core.engine.windows (not imported here: windows imports the warehouse)


class Toolbox:
    """The tools of ``SourceRun`` (a mixin: the run provides ``source``, ``summary``, ``warehouse``, ``masks``)."""

    source: Source
    summary: LoadSummary
    masks: list[str]
    _windowed: WindowedLoad | None
    _deferred: BaseException | None

    if TYPE_CHECKING:

        @property
        def warehouse(self) -> Warehouse: ...

        def base_url(self, override: str | None = None) -> str: ...

    # secrets -------------------------------------------------------------------------------------------------

    def secret(self, group: SecretReference | str, key: str | None = None) -> str:
        """The value of secret ``(group, key)`` (or a ``SecretReference``), resolved now by the project's resolver;
        it is added to ``run.masks`` so no client of this run lets it into an error or a log line."""
        from oso_core.config.secrets import SecretReference, default_resolver

        if isinstance(group, SecretReference):
            ref = group
        elif key is None:
            raise TypeError("run.secret(group, key) or run.secret(SecretReference(...))")
        else:
            ref = SecretReference(group, key)
        value = default_resolver().resolve_as_str(ref)
        self.mask(value)
        return value

    def mask(self, *values: str) -> None:
        """Hide ``values`` (a key, a token, parts of a secret URL) in every later client's errors and logs."""
        for value in values:
            if value and value not in self.masks:
                self.masks.append(value)

    # clients -------------------------------------------------------------------------------------------------

    def min_interval(self) -> float:
        """Seconds between request starts: the setting ``<source>.min_interval``, else none."""
        from oso_core.transport.http import min_interval_setting

        return min_interval_setting(self.source.name)

    @contextmanager
    def http(self, base_url: str | None = None, *, url: str | None = None, **options: Any) -> Iterator[HttpClient]:
        """An ``HttpClient`` named after the source, on ``url`` (another host, or a secret URL) or its base URL,
        paced by ``<source>.min_interval`` and masking the run's secrets (``options`` as ``HttpClient`` takes them;
        an explicit ``min_interval`` wins, an extra ``mask`` adds to the run's)."""
        from oso_core.transport.http import HttpClient

        options.setdefault("min_interval", self.min_interval())
        mask = (*self.masks, *options.pop("mask", ()))
        target = url if url is not None else self.base_url(base_url)
        with HttpClient(self.source.name, target, mask=mask, **options) as client:
            yield client

    @contextmanager
    def graphql(
        self,
        base_url: str | None = None,
        *,
        endpoint: str | None = None,
        retry: PageRetry | None = None,
        default_interval: float = 0.0,
        page_interval: float | None = None,
        **options: Any,
    ) -> Iterator[GraphQLClient]:
        """A ``GraphQLClient`` on ``endpoint`` or the base URL, with ``retry`` (the source's default policy) and
        ``default_interval`` (seconds between pages) as the settings ``<source>.retry_*``, ``rate_limit_wait`` and
        ``page_interval`` override them; an explicit ``page_interval`` (a flow parameter) wins over all."""
        from oso_core.transport.graphql import GraphQLClient, configured_retry

        policy, interval = configured_retry(self.source.name, retry, default_interval)
        interval = interval if page_interval is None else page_interval
        mask = (*self.masks, *options.pop("mask", ()))
        target = endpoint if endpoint is not None else self.base_url(base_url)
        with GraphQLClient(self.source.name, target, mask=mask, retry=policy, min_interval=interval, **options) as gql:
            yield gql

    @contextmanager
    def jsonrpc(self, url: str, *, http: Mapping[str, Any] | None = None, **options: Any) -> Iterator[JsonRpcClient]:
        """A ``JsonRpcClient`` on ``url`` (an RPC endpoint) over ``run.http(url=url, **http)``; ``options`` as
        ``JsonRpcClient`` takes them (``batch_size``...). Its HTTP client is ``client.http``."""
        from oso_core.transport.jsonrpc import JsonRpcClient

        with self.http(url=url, **dict(http or {})) as client:
            yield JsonRpcClient(client, url, **options)

    @contextmanager
    def download(self, url: str, *, directory: Any = None, **options: Any) -> Iterator[Download]:
        """``url`` downloaded into a temporary directory, removed when the block ends (``oso_core.transport.download``),
        by a client paced by ``<source>.min_interval`` and masking the run's secrets (``options`` as ``HttpClient``)."""
        from oso_core.transport.download import downloaded

        with (
            self.http(url="", **options) as client,
            downloaded(self.source.name, url, directory=directory, client=client) as archive,
        ):
            yield archive

    # fan-out -------------------------------------------------------------------------------------------------

    def fan_out(
        self,
        items: Iterable[T],
        fetch: Callable[[T], R],
        *,
        endpoint: str,
        label: Callable[[T], str] = str,
        skipped_as: str = "",
        max_workers: int = 4,
        fail_fast: bool = False,
    ) -> FanOutResult[T, R]:
        """``fetch(item)`` for every item (``oso_core.transport.fanout.fan_out``); any failed item fails the load naming
        ``endpoint`` and the items, skipped items are listed in the summary (as ``"<skipped_as>: <item> (why)"``)."""
        from oso_core.transport.fanout import fan_out

        result = fan_out(items, fetch, max_workers=max_workers, fail_fast=fail_fast)
        result.raise_for_errors(self.source.name, endpoint, label=label)
        prefix = f"{skipped_as}: " if skipped_as else ""
        self.summary.skipped.extend(f"{prefix}{skipped}" for skipped in result.skipped_labels(label))
        return result

    # windows -------------------------------------------------------------------------------------------------

    @property
    def windows(self) -> WindowedLoad:
        """The run's windowed load (created on first use; the engine finishes it after the load function)."""
        if self._windowed is None:
            from oso_core.engine.windows import WindowedLoad

            self._windowed = WindowedLoad(self.source, self.warehouse, self.summary)
        return self._windowed

    def load_windows(
        self,
        tables: str | Sequence[str],
        extract: Callable[[Window], Any],
        *,
        start: str | None = None,
        end: str | None = None,
        max_windows: int | None = DEFAULT_MAX_WINDOWS,
        ready: Callable[[list[Window]], list[Window]] | None = None,
    ) -> list[WindowOutcome]:
        """Plan the windows of ``tables`` (``start``/``end``: a forced reload, else the missing and faulty ones, at
        most ``max_windows``), keep those ``ready`` returns (default: all), and load each: ``extract(window)``
        returns the window's frames (table → frame, or the frame of a single table), each table merged and its
        outcome recorded. Several tables share one extract per window (a failed extract makes the window faulty
        in each of them)."""
        from oso_core.engine.windows import WindowPlan

        names = [tables] if isinstance(tables, str) else list(tables)
        plans = [self.windows.plan(table, start=start, end=end, max_windows=max_windows) for table in names]
        if len(plans) == 1:
            plan = plans[0]
            if ready is not None:
                plan.windows = ready(plan.windows)
            return self.windows.load(plan, lambda window: _frame_of(extract(window), plan.table))
        days = sorted({window for plan in plans for window in plan.windows})
        if ready is not None:
            days = ready(days)
        outcomes: list[WindowOutcome] = []
        for day in days:
            try:
                frames, error = extract(day), None
            except Exception as exc:  # noqa: BLE001 - the window is faulty in every table, recorded below
                frames, error = {}, exc
            for table in names:
                outcomes += self.windows.load(
                    WindowPlan(table, [day]), lambda _w, t=table, f=frames, e=error: _table_of(f, e, t)
                )
        return outcomes

    def fail_after_load(self, error: BaseException) -> None:
        """Fail the run with ``error`` once the rest of the load is done (windows finished, tables written)."""
        if self._deferred is None:
            self._deferred = error


def _frame_of(frames: Any, table: str) -> Any:
    return frames[table] if isinstance(frames, Mapping) else frames


def _table_of(frames: Mapping[str, Any], error: BaseException | None, table: str) -> Any:
    if error is not None:
        raise error
    return frames[table]
