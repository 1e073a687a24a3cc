"""The weekly pipeline's mechanism: run every declared source, isolated, with a bound on how many run at once.

Each source's flow runs as a subflow inside its own task (``load-<source>``), so:

* one failing source fails only its task; the others keep running and the weekly run reports them all;
* the task runner decides *where* sources run: threads in this process by default, or a Dask / Ray cluster
  (setting ``weekly.task_runner`` = ``threads`` | ``dask`` | ``ray``), exactly as Prefect task runners do;
* at most ``concurrency`` sources are in flight whatever the runner (the submission window is bounded here).

Deployed (the weekly run is itself a run of a deployment, ``prefect.runtime.deployment.id`` is set), each task
instead starts a run of the source's own deployment (``run_deployment("<source>/<source>")``, linked as a subflow
and waited for), so whichever worker of the pool is free takes it: the sources spread over the workers. A source
run that ends Crashed (its worker died; the server's zombie automation of ``blocks.setup`` marks it) is resubmitted
up to ``weekly.crash_resubmits`` times. A local ``python flows/weekly.py`` keeps the in-process subflows.

No wait is unbounded: a source that has not finished ``weekly.source_timeout`` seconds after it started (a hung
upstream, a cluster worker that froze) ends ``TimedOut`` in the summary, its task is cancelled where the runner
can cancel it, and the weekly run goes on with the others, so one stuck source cannot hold the whole run. A source
whose task the runner lost (its Dask or Ray worker died) is resubmitted up to ``weekly.crash_resubmits`` times, as
a deployed run that Crashed is.

``flows/weekly.py`` is the thin recipe around this module.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from prefect import task
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from oso_core.base.run_context import flow_run_id
from oso_core.config import settings
from oso_core.errors import OsoError
from oso_core.model.secret_params import check_parameters
from oso_core.model.sources import Source, discover_sources
from oso_core.ops.alerts import WEEKLY_PART_PREFIX, first_error_line

TASK_RUNNERS = ("threads", "dask", "ray")


@dataclass
class SourceOutcome:
    """How one source's load went, for the weekly summary and the final state."""

    source: str
    state: str
    rows: dict[str, int] = field(default_factory=dict)
    duration_s: float = 0.0
    error: str = ""
    flow_run_id: str | None = None
    crashed_runs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state == "Completed"

    def as_row(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "state": self.state,
            "rows": "; ".join(f"{table}: {n:,}" for table, n in self.rows.items()) or "-",
            "total_rows": sum(self.rows.values()),
            "seconds": round(self.duration_s, 2),
            "first_error": self.error,
            "crashed_runs": len(self.crashed_runs),
        }


class SourceFailed(OsoError):
    """Raised by a source's task so the task run shows Failed; carries the outcome for the summary."""

    def __init__(self, outcome: SourceOutcome):
        self.outcome = outcome
        super().__init__(f"{outcome.source}: {outcome.error}")

    def __reduce__(self):  # picklable across Dask / Ray workers
        return (SourceFailed, (self.outcome,))


def configured_concurrency() -> int:
    """Sources loaded at once: setting ``weekly.concurrency`` (default 4)."""
    return settings.weekly().concurrency


def build_task_runner(kind: str | None = None, max_workers: int | None = None, processes: bool = True) -> TaskRunner:
    """The task runner named by ``kind`` (default: setting ``weekly.task_runner``, else ``threads``).

    ``dask`` uses prefect-dask: an existing cluster when ``weekly.dask_address`` is set, else a local cluster with
    one single-threaded worker per concurrent source (worker processes, or threads with ``processes=False``, which
    starts in a second instead of ~10 s per worker on a small machine); its workers report to this run's Prefect API
    and run without Dask's stack profiler (:mod:`oso_core.ops.dask_runner`). ``ray`` uses prefect-ray
    (``pip install prefect-ray``) and ``weekly.ray_address`` when set.
    """
    configured = settings.weekly()
    kind = (kind or configured.task_runner).lower()
    workers = max_workers or configured_concurrency()
    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "dask":
        if configured.dask_address:
            from prefect_dask import DaskTaskRunner

            return DaskTaskRunner(address=configured.dask_address)
        from oso_core.ops.dask_runner import LocalDaskTaskRunner

        cluster = {"n_workers": workers, "threads_per_worker": 1, "processes": processes, "dashboard_address": None}
        return LocalDaskTaskRunner(cluster_kwargs=cluster)
    if kind == "ray":
        try:
            from prefect_ray import RayTaskRunner  # type: ignore[import-not-found]
        except ImportError as exc:
            raise RuntimeError("task runner 'ray' needs prefect-ray: pip install prefect-ray") from exc
        if configured.ray_address:
            return RayTaskRunner(address=configured.ray_address)
        return RayTaskRunner(init_kwargs={"num_cpus": workers, "include_dashboard": False})
    raise ValueError(f"unknown task runner {kind!r}; one of {', '.join(TASK_RUNNERS)}")


def select_sources(
    only: Iterable[str] | None = None, skip: Iterable[str] | None = None, every_cadence: bool = False
) -> list[Source]:
    """The sources of a weekly run: those of ``weekly`` cadence, narrowed by ``only`` / ``skip``.

    Sources with a cadence of their own (``daily``, a cron) run on their own deployment's schedule, so the weekly
    run leaves them out, as OSO's core job excluded its daily assets; naming one in ``only`` (or passing
    ``every_cadence``, as the offline demo does) runs it anyway. A weekly source that ``depends_on`` one left out
    simply reads the lake as that source's last run left it (``_ready`` waits only for selected sources).
    Unknown names are an error.
    """
    sources = discover_sources()
    only, skip = list(only or []), list(skip or [])
    unknown = sorted(set(only + skip) - set(sources))
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(sources)}")
    if only:
        return [s for name, s in sources.items() if name in only and name not in skip]
    return [s for name, s in sources.items() if name not in skip and (every_cadence or s.in_weekly_run)]


def _rows_of(result: Any) -> dict[str, int]:
    rows = getattr(result, "rows", None)
    return dict(rows) if isinstance(rows, dict) else {}


ParameterProvider = Callable[[Source], AbstractContextManager[dict[str, Any]]]
_local_parameters: ParameterProvider | None = None


@contextmanager
def local_parameters(provider: ParameterProvider) -> Iterator[None]:
    """Within this process, give each source's run the parameters ``provider(source)`` yields.

    This is how a local ``--replay`` points every source at its fixtures: a process setting of the command
    line, never a parameter of the deployed weekly flow, so no deployment can be told to load fixtures.
    """
    global _local_parameters
    previous, _local_parameters = _local_parameters, provider
    try:
        yield
    finally:
        _local_parameters = previous


def _call_flow(source: Source, params: dict[str, Any] | None = None) -> Any:
    """Run the source's flow as a subflow with ``params`` (the local provider's, opened by ``run_sources`` in the
    orchestrating process, so they reach Dask / Ray worker processes too); they are checked for secrets before
    Prefect stores them (source flows check again themselves, but a plain ``@flow`` source would not)."""
    flow_fn = source.load_flow().with_options(flow_run_name=f"{WEEKLY_PART_PREFIX}{source.name}")
    params = params or {}
    check_parameters(source, params)
    return flow_fn(**params, return_state=True)


def running_as_deployment() -> bool:
    """Whether the current flow run is a run of a deployment (then sources go to the pool's workers)."""
    from prefect.runtime import deployment

    return deployment.id is not None


def source_deployment_name(source: Source) -> str:
    """``<flow>/<deployment>`` of a source's own deployment (``blocks.deployments``: both are the source name)."""
    return f"{source.name}/{source.name}"


def configured_crash_resubmits() -> int:
    return settings.weekly().crash_resubmits


def _summary_rows(client: Any, source: Source, flow_run_id: Any) -> dict[str, int]:
    """Rows per table from the child run's ``<source>-load-summary`` artifact (its result stays on its worker)."""
    from prefect.client.schemas.filters import ArtifactFilter, FlowRunFilter

    key = f"{source.name.replace('_', '-')}-load-summary"
    artifacts = client.read_artifacts(
        artifact_filter=ArtifactFilter(key={"any_": [key]}), flow_run_filter=FlowRunFilter(id={"any_": [flow_run_id]})
    )
    totals: dict[str, int] = {}
    for artifact in artifacts:
        data = artifact.data if isinstance(artifact.data, list) else json.loads(artifact.data or "[]")
        for row in data:
            if row.get("table"):
                totals[row["table"]] = totals.get(row["table"], 0) + int(row.get("rows") or 0)
    return totals


def _run_deployed(source: Source, parent_run_id: str | None) -> SourceOutcome:
    """Start the source's deployment and wait; resubmit a Crashed run (bounded). The worker that takes it is
    whichever of the pool polls first."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    started = time.perf_counter()
    crashed: list[str] = []
    for attempt in range(configured_crash_resubmits() + 1):
        run = run_deployment(
            name=source_deployment_name(source),
            timeout=None,
            as_subflow=True,
            flow_run_name=f"{WEEKLY_PART_PREFIX}{source.name}",
            tags=["weekly-part"],
            # a retried weekly run finds the runs it already started instead of loading a source twice
            idempotency_key=f"{parent_run_id}:{source.name}:{attempt}" if parent_run_id else None,
        )
        state = run.state
        if state is None or not state.is_crashed():
            break
        crashed.append(str(run.id))
        print(f"{source.name}: run {run.name} ({run.id}) crashed: {first_error_line(state.message)}; "
              f"resubmitting ({attempt + 1} of {configured_crash_resubmits()})")  # fmt: skip
    outcome = SourceOutcome(
        source.name,
        (state.name if state else None) or "Unknown",
        duration_s=time.perf_counter() - started,
        flow_run_id=str(run.id),
        crashed_runs=crashed,
    )
    if state is None or not state.is_completed():
        outcome.error = first_error_line(state.message if state else "no final state")
        raise SourceFailed(outcome)
    with get_client(sync_client=True) as client:
        outcome.rows = _summary_rows(client, source, run.id)
    if crashed:
        print(f"{source.name}: recovered after {len(crashed)} crashed run(s)")
    return outcome


@task(name="load-source", retries=0)
def load_source(
    source: Source,
    deployed: bool = False,
    parent_run_id: str | None = None,
    params: dict[str, Any] | None = None,
    setup_error: str | None = None,
) -> SourceOutcome:
    """Run one source's flow (a subflow here, or a run of its deployment on any worker when ``deployed``);
    fail this task (not the pipeline) when the source fails."""
    started = time.perf_counter()
    try:
        if deployed:
            return _run_deployed(source, parent_run_id)
        if setup_error:  # the local provider (replay fixtures) failed for this source: only it fails
            raise SourceFailed(SourceOutcome(source.name, "Failed", error=first_error_line(setup_error)))
        state = _call_flow(source, params)
    except SourceFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - import errors, bad replay fixtures: still only this source fails
        outcome = SourceOutcome(source.name, "Failed", error=first_error_line(f"{type(exc).__name__}: {exc}"))
        outcome.duration_s = time.perf_counter() - started
        raise SourceFailed(outcome) from exc
    outcome = SourceOutcome(
        source.name,
        state.name or state.type.value.title(),
        duration_s=time.perf_counter() - started,
        flow_run_id=str(state.state_details.flow_run_id) if state.state_details.flow_run_id else None,
    )
    if not state.is_completed():
        outcome.error = first_error_line(state.message)
        raise SourceFailed(outcome)
    outcome.rows = _rows_of(state.result())
    return outcome


def configured_source_timeout() -> float:
    """Seconds the weekly run waits for one source: setting ``weekly.source_timeout`` (default 6 hours)."""
    return settings.weekly().source_timeout


def _next_finished(
    running: dict[PrefectFuture, Source], started: dict[PrefectFuture, float], timeout: float
) -> tuple[PrefectFuture, bool]:
    """The next source future to finish, waiting at most until the earliest running source's deadline (``started``
    holds when each was submitted); then that source's future with ``True`` (overdue)."""
    while True:
        first = min(running, key=started.__getitem__)
        remaining = started[first] + timeout - time.monotonic()
        if remaining <= 0:
            return first, True
        try:
            return next(iter(as_completed(list(running), timeout=remaining))), False
        except TimeoutError:
            continue


def _timed_out(source: Source, future: PrefectFuture, timeout: float) -> SourceOutcome:
    """The outcome of a source that overran ``timeout``; its task is cancelled where the runner can (a Dask or Ray
    task; a thread cannot be stopped and finishes on its own)."""
    wrapped = getattr(future, "wrapped_future", None)
    if where := _where_it_runs(wrapped):
        print(f"{source.name}: no result after {timeout:,.0f} s; where its task was:\n{where}")
    cancel = getattr(wrapped, "cancel", None)
    if callable(cancel):
        with suppress(Exception):
            cancel()
    return SourceOutcome(
        source.name,
        "TimedOut",
        duration_s=timeout,
        error=f"no result after {timeout:,.0f} s (setting weekly.source_timeout); its task was given up",
    )


STACK_FRAMES_SHOWN = 15
STACK_WAIT_S = 20.0


def _where_it_runs(wrapped: Any) -> str | None:
    """The innermost frames of a task still running on a Dask worker, or None where the runner cannot tell.

    A source that overruns its timeout is given up without an error of its own; its stack is the only account of
    what it was waiting for (a request, a lock, a catalog), so it goes to the run's log before the task is cancelled.
    The question is asked of the worker, which may be the thing that is stuck (a frozen interpreter does not answer),
    so the answer is waited for at most ``STACK_WAIT_S``; Dask's own call has no timeout.
    """
    call_stack = getattr(getattr(wrapped, "client", None), "call_stack", None)
    if not callable(call_stack):
        return None
    answer: list[Any] = []

    def ask() -> None:
        with suppress(Exception):  # a diagnosis only: the timeout is reported either way
            answer.append(call_stack(futures=[wrapped]))

    asking = threading.Thread(target=ask, name="oso-stack-of-overdue-source", daemon=True)
    asking.start()
    asking.join(STACK_WAIT_S)
    if not answer:
        return f"  (its worker did not answer within {STACK_WAIT_S:.0f} s: its process may be frozen)"
    by_worker = answer[0]
    lines = []
    for worker, by_key in (by_worker or {}).items():
        for frames in by_key.values():
            lines.append(f"  on {worker}:")
            lines.extend("    " + str(frame).rstrip().replace("\n", "\n    ") for frame in frames[-STACK_FRAMES_SHOWN:])
    return "\n".join(lines) or None


def _outcome_of(source: Source, future: PrefectFuture) -> SourceOutcome:
    future.wait()  # sets the future's final state; ``future.state`` alone may read a lagging API copy
    state = future.state
    if not state.is_final():  # the runner lost the task (its worker died): the server still shows it running
        try:
            future.result(raise_on_failure=True)
            problem = f"the task runner lost it while {state.name}"
        except Exception as exc:  # noqa: BLE001 - whatever the runner raised is the reason
            problem = f"the task runner lost it: {type(exc).__name__}: {exc}"
        return SourceOutcome(source.name, "Crashed", error=first_error_line(problem))
    if state.is_completed():
        return state.result()
    raised = state.result(raise_on_failure=False)
    if isinstance(raised, SourceFailed):
        return raised.outcome
    return SourceOutcome(source.name, state.name or "Failed", error=first_error_line(state.message))


def _ready(source: Source, selected: set[str], finished: set[str], running: Iterable[Source] = ()) -> bool:
    """A source may start once every selected source it reads from has finished (whatever its outcome:
    a dependent then reads the lake as the last successful load left it) and no running source shares its
    upstream ``api`` (their requests would draw on one rate limit)."""
    if source.api and any(other.api == source.api for other in running):
        return False
    return all(dep in finished or dep not in selected for dep in source.depends_on)


def run_sources(sources: list[Source], concurrency: int) -> list[SourceOutcome]:
    """Submit one ``load-<source>`` task per source, never more than ``concurrency`` at once, each only after
    the sources it ``depends_on``; wait for all."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    selected = {s.name for s in sources}
    pending = list(sources)
    deployed = running_as_deployment()
    parent_run_id = flow_run_id() if deployed else None
    running: dict[PrefectFuture, Source] = {}
    started: dict[PrefectFuture, float] = {}  # when each running source's task was submitted
    lost: dict[str, list[str]] = {}  # task runs of each source that the runner lost (their worker died)
    timeout = configured_source_timeout()
    outcomes: dict[str, SourceOutcome] = {}
    opened: dict[str, ExitStack] = {}  # the local provider's context of each running source (replay servers)
    try:
        while pending or running:
            _submit_ready(
                pending, running, started, opened, selected, set(outcomes), concurrency, deployed, parent_run_id
            )
            if not running:
                cycle = ", ".join(f"{s.name} -> {'/'.join(s.depends_on)}" for s in pending)
                raise ValueError(f"sources depend on each other in a cycle: {cycle}")
            done, overdue = _next_finished(running, started, timeout)
            source = running.pop(done)
            del started[done]
            opened.pop(source.name).close()
            outcome = _timed_out(source, done, timeout) if overdue else _outcome_of(source, done)
            lost.setdefault(source.name, [])
            if outcome.state == "Crashed" and len(lost[source.name]) < configured_crash_resubmits():
                # its worker died with it: nothing of it can still write, so it is safe to load it again
                lost[source.name].append(str(done.task_run_id))
                print(f"{source.name}: {outcome.error}; resubmitting "
                      f"({len(lost[source.name])} of {configured_crash_resubmits()})")  # fmt: skip
                pending.insert(0, source)
                continue
            outcome.crashed_runs = lost[source.name] + outcome.crashed_runs
            outcomes[source.name] = outcome
    finally:
        for stack in opened.values():
            stack.close()
    return [outcomes[s.name] for s in sources]


def _submit_ready(
    pending: list[Source],
    running: dict[PrefectFuture, Source],
    started: dict[PrefectFuture, float],
    opened: dict[str, ExitStack],
    selected: set[str],
    finished: set[str],
    concurrency: int,
    deployed: bool,
    parent_run_id: str | None,
) -> None:
    """Submit every pending source that may start now, within the concurrency bound."""
    for source in list(pending):
        if len(running) >= concurrency:
            return
        if not _ready(source, selected, finished, running.values()):
            continue
        pending.remove(source)
        stack = opened[source.name] = ExitStack()
        params: dict[str, Any] | None = None
        setup_error: str | None = None
        if _local_parameters is not None and not deployed:
            try:
                params = stack.enter_context(_local_parameters(source))
            except Exception as exc:  # noqa: BLE001 - a bad replay fixture fails this source's task, not the run
                setup_error = f"{type(exc).__name__}: {exc}"
        future = load_source.with_options(task_run_name=f"load-{source.name}").submit(
            source, deployed=deployed, parent_run_id=parent_run_id, params=params, setup_error=setup_error
        )
        running[future] = source
        started[future] = time.monotonic()


def render_summary(outcomes: list[SourceOutcome]) -> str:
    failed = [o for o in outcomes if not o.ok]
    lines = [f"weekly: {len(outcomes) - len(failed)} of {len(outcomes)} sources completed"]
    width = max((len(o.source) for o in outcomes), default=6)
    for o in outcomes:
        rows = ", ".join(f"{t}={n:,}" for t, n in o.rows.items()) or "-"
        line = f"  {o.source:<{width}}  {o.state:<9} {o.duration_s:7.2f}s  {rows}"
        if o.crashed_runs:
            line += f"  (recovered after {len(o.crashed_runs)} crashed run(s))" if o.ok else "  (crashed)"
        lines.append(line + (f"  error: {o.error}" if o.error else ""))
    return "\n".join(lines)
