"""The source engine: turns a source's load function into its Prefect flow, the same way for every source.

A source folder (``flows/<source>/``) declares ``SOURCE = Source(...)`` and writes one function that does only
what that source needs::

    @source_flow(SOURCE)
    def chainlist_flow(run: SourceRun, base_url: str | None = None) -> dict[str, pl.DataFrame]:
        with run.http(base_url) as http:
            return {"chains": chains_frame(http.get_json("/rpcs.json"))}

The engine owns everything else, so no flow repeats it: the Prefect options (flow name = source name, printed
logs), the refusal of secret-like parameter values *before* Prefect stores them, the run's ``LoadSummary``
(created, handed over as ``run.summary``, printed and published as a table artifact at the end, also when the
load fails part-way), and the write of whatever tables the function returns (one commit per table, all staged
and validated first). The command line (``python -m flows <source>``) is derived from the same function's
signature by ``oso_core.cli``; replay and recording live in the development package ``oso_dev``.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from oso_core.api_limits import api_slot
from oso_core.sources import Source
from oso_core.summary import LoadSummary

if TYPE_CHECKING:
    from prefect import Flow

    from oso_core.http import HttpClient
    from oso_core.warehouse import Warehouse

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class SourceRun:
    """What a running load gets from the engine: its declaration, summary and (lazily) the lake."""

    source: Source
    summary: LoadSummary = field(init=False)
    _warehouse: Warehouse | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.summary = LoadSummary(self.source.name)

    @property
    def warehouse(self) -> Warehouse:
        if self._warehouse is None:
            from oso_core.warehouse import Warehouse

            self._warehouse = Warehouse()
        return self._warehouse

    def base_url(self, override: str | None = None) -> str:
        """The API base URL: an explicit parameter, else the setting ``<source>.base_url``, else the default."""
        return self.source.resolve_base_url(override)

    @contextmanager
    def http(self, base_url: str | None = None, **options: Any) -> Iterator[HttpClient]:
        """An ``HttpClient`` named after the source, on its base URL (``options`` as ``HttpClient`` takes them)."""
        from oso_core.http import HttpClient

        with HttpClient(self.source.name, self.base_url(base_url), **options) as client:
            yield client

    def write(self, tables: Mapping[str, Any]) -> None:
        """Commit each table of ``tables`` (name → frame or batches) as declared, one commit per table."""
        self.summary.results.extend(self.warehouse.write_tables(self.source, dict(tables)))


def _public_signature(fn: Callable[..., Any]) -> inspect.Signature:
    """The flow's parameters: the load function's, without the leading ``run``."""
    signature = inspect.signature(fn)
    parameters = list(signature.parameters.values())
    if not parameters or parameters[0].name != "run":
        raise TypeError(f"{fn.__qualname__}: a source's load function takes `run: SourceRun` first")
    return signature.replace(parameters=parameters[1:], return_annotation=LoadSummary)


def source_flow(source: Source, **flow_options: Any) -> Callable[[F], Flow[..., LoadSummary]]:
    """Decorator: the source's load function becomes its Prefect flow (see the module docstring).

    ``flow_options`` go to ``prefect.flow`` (retries, timeout_seconds, ...); the name is the source's.
    """
    from oso_core.flow_guard import SourceFlow  # refuses secret-like values before a run is created

    def decorate(fn: F) -> Flow[..., LoadSummary]:
        signature = _public_signature(fn)

        @functools.wraps(fn)
        def load(*args: Any, **kwargs: Any) -> LoadSummary:
            run = SourceRun(source)
            try:
                with api_slot(source):  # a slot of the upstream API's shared limit while the load calls it
                    tables = fn(run, *args, **kwargs)
                    if isinstance(tables, Mapping):
                        run.write(tables)
            except BaseException:
                if run.summary.results or run.summary.notes or run.summary.skipped:
                    run.summary.publish()  # what was committed before the failure stays visible
                raise
            run.summary.publish()
            return run.summary

        # Prefect and the command line read the parameters from here, with their types evaluated in the source's
        # module (its annotations are strings under ``from __future__ import annotations``)
        hints = typing.get_type_hints(fn, include_extras=True)
        load.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()]
        )
        load.__annotations__ = {name: hints[name] for name in signature.parameters if name in hints}
        del load.__wrapped__
        return SourceFlow(load, owner=source, **{"name": source.name, "log_prints": True, **flow_options})

    return decorate
