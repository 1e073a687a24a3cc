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
signature by ``oso_core.engine.cli``; replay and recording live in the development package ``oso_dev``.

Every source flow also takes ``accept`` (``--accept npm.manifests:row_drop``), added here to the function's
parameters: the data-quality checks (``oso_core.warehouse.quality``) this one run lets through. Every write of the
run sees it (a context variable the writer reads), records what it let through in the snapshot property
``oso.accepted``, and the summary notes an accepted check that no write needed.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from oso_core.base.run_context import in_flow_run, task_value
from oso_core.engine.api_limits import api_slot
from oso_core.engine.summary import LoadSummary
from oso_core.engine.toolbox import Toolbox
from oso_core.model.sources import Source

if TYPE_CHECKING:
    from prefect import Flow

    from oso_core.warehouse import Warehouse

F = TypeVar("F", bound=Callable[..., Any])

ACCEPT = "accept"
ACCEPT_HELP = (
    "let a failed data-quality check through for this run only, as <namespace>.<table>:<check> "
    "(e.g. npm.manifests:row_drop); recorded in the snapshot's oso.accepted"
)
AcceptParameter = Annotated[list[str] | None, ACCEPT_HELP]


@dataclass
class SourceRun(Toolbox):
    """What a running load gets from the engine: its declaration, summary, (lazily) the lake, and the toolbox
    (``oso_core.engine.toolbox``: secrets, clients, fan-out, windows)."""

    source: Source
    summary: LoadSummary = field(init=False)
    masks: list[str] = field(default_factory=list, repr=False)
    _warehouse: Warehouse | None = field(default=None, init=False, repr=False)
    _windowed: Any = field(default=None, init=False, repr=False)
    _deferred: BaseException | None = field(default=None, init=False, repr=False)

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

    def write(self, tables: Mapping[str, Any]) -> None:
        """Commit each table of ``tables`` (name → frame or batches) as declared, one commit per table.

        Every table was extracted before this is called (bad input found while extracting commits nothing); each
        commit is then a Prefect task ``write <ns>.<table>`` whose result is its row count, so the run graph shows
        which table took the time or failed (``Warehouse.write_table`` per table, as ``write_tables`` does)."""
        for table, data in dict(tables).items():
            self._note_duplicates(table, data)
            if not in_flow_run():  # a bare call (tests, scripts): no task runs without a flow run to hold them
                self.summary.results.append(_write_table(self.warehouse, self.source, table, data))
                continue
            write = _write_task(self.source.qualified(table))
            state = write(self.warehouse, self.source, table, data, return_state=True)
            self.summary.results.append(task_value(state))  # raises the commit's error, as before

    def _note_duplicates(self, table: str, data: Any) -> None:
        """A table declared ``dedupe="last"`` keeps the last row of a repeated key; the summary says how many."""
        spec = self.source.table(table)
        if spec.dedupe != "last" or not spec.key or not hasattr(data, "unique"):
            return
        if duplicates := data.height - data.unique(subset=list(spec.key)).height:
            self.summary.notes.append(f"{table}: {duplicates} row(s) repeat a key {spec.key}; the last is kept")

    def migrate(self) -> None:
        """Run the source's declared one-off migrations (``Source.migrations``), noting what each changed."""
        catalog = self.warehouse.catalog
        for migration in self.source.migrations:
            apply = getattr(migration, "apply", None)
            notes = apply(catalog, self.source) if apply is not None else migration(catalog)
            self.summary.notes.extend(notes)

    def finish(self) -> None:
        """After the load function: finish the windows (tallies; raises for faulty ones), then a deferred error."""
        if self.source.windows is not None:
            self.windows.finish()
        if self._deferred is not None:
            raise self._deferred


def _write_table(warehouse: Warehouse, source: Source, table: str, data: Any) -> Any:
    return warehouse.write_table(source, table, data)


def _write_task(qualified: str) -> Callable[..., Any]:
    """A task named ``write <ns>.<table>`` around one table's commit; its Completed state carries the row count.

    The WriteResult is returned to the flow in memory (results are not persisted: frames never go to storage);
    the task's state message ("1,204 rows (replace)") is what the UI and the API show.
    """
    from prefect import task
    from prefect.cache_policies import NONE
    from prefect.states import Completed

    def commit(warehouse: Warehouse, source: Source, table: str, data: Any) -> Any:
        result = _write_table(warehouse, source, table, data)
        return Completed(message=f"{result.rows_written:,} rows ({result.mode})", data=result)

    return task(
        commit, name=f"write {qualified}", task_run_name=f"write {qualified}", cache_policy=NONE, persist_result=False
    )


def _public_signature(fn: Callable[..., Any]) -> inspect.Signature:
    """The load function's parameters, without the leading ``run``."""
    signature = inspect.signature(fn)
    parameters = list(signature.parameters.values())
    if not parameters or parameters[0].name != "run":
        raise TypeError(f"{fn.__qualname__}: a source's load function takes `run: SourceRun` first")
    if ACCEPT in signature.parameters:
        raise TypeError(f"{fn.__qualname__}: `{ACCEPT}` is the engine's parameter (accepted quality checks)")
    return signature.replace(parameters=parameters[1:], return_annotation=LoadSummary)


def with_accept(signature: inspect.Signature) -> inspect.Signature:
    """The flow's parameters: the load function's, then the engine's ``accept`` (keyword only)."""
    parameters = list(signature.parameters.values())
    accept = inspect.Parameter(ACCEPT, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=AcceptParameter)
    if parameters and parameters[-1].kind is inspect.Parameter.VAR_KEYWORD:
        return signature.replace(parameters=[*parameters[:-1], accept, parameters[-1]])
    return signature.replace(parameters=[*parameters, accept])


def source_flow(source: Source, **flow_options: Any) -> Callable[[F], Flow[..., LoadSummary]]:
    """Decorator: the source's load function becomes its Prefect flow (see the module docstring).

    ``flow_options`` go to ``prefect.flow`` (retries, timeout_seconds, ...); the name is the source's.
    """
    from oso_core.engine.flow_guard import SourceFlow  # refuses secret-like values before a run is created
    from oso_core.warehouse.quality import QualityGateError, accepting

    def decorate(fn: F) -> Flow[..., LoadSummary]:
        own = _public_signature(fn)
        signature = with_accept(own)

        @functools.wraps(fn)
        def load(*args: Any, **kwargs: Any) -> LoadSummary:
            accept = kwargs.pop(ACCEPT, None)
            run = SourceRun(source)
            try:
                with accepting(accept) as acceptance, api_slot(source):  # the shared upstream API's slot
                    run.migrate()
                    tables = fn(run, *args, **kwargs)
                    if isinstance(tables, Mapping):
                        run.write(tables)
                    run.finish()
                if acceptance.unused:
                    run.summary.notes.append(f"accepted but no write needed it: {', '.join(acceptance.unused)}")
            except BaseException as error:
                if isinstance(error, QualityGateError):
                    run.summary.refuse(error)
                if run.summary.results or run.summary.notes or run.summary.skipped or run.summary.refused:
                    run.summary.publish()  # what was committed (or refused) before the failure stays visible
                raise
            run.summary.publish()
            return run.summary

        # Prefect and the command line read the parameters from here, with their types evaluated in the source's
        # module (its annotations are strings under ``from __future__ import annotations``)
        hints = {**typing.get_type_hints(fn, include_extras=True), ACCEPT: AcceptParameter}
        load.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()]
        )
        load.__annotations__ = {name: hints[name] for name in signature.parameters if name in hints}
        del load.__wrapped__
        return SourceFlow(load, owner=source, **{"name": source.name, "log_prints": True, **flow_options})

    return decorate
