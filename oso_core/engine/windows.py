"""Windowed loads: weekly windows from a source's start date, each loaded once, faulty ones retried.

OSO gave open_collective and eas_optimism Dagster ``WeeklyPartitionsDefinition``s and a schedule that requested
every partition not yet materialized; a window whose pages kept failing was only logged as a ``faulty_range``
observation. Here the same bookkeeping lives in the lake (``oso_core.warehouse.load_state``) and is acted on:

* The grid: windows of ``Source.windows.days`` days. Weekly windows start on Sundays 00:00 UTC, as Dagster's
  weekly partitions do, so window keys (the start date, ``2024-01-07``) are OSO's partition keys; the first
  window is the week that *contains* the declared start date, so nothing before the first Sunday is lost.
* A run loads either an explicit ``start``/``end`` (every window overlapping it, whatever its state: a forced
  reload), or by default the windows not yet ``loaded`` up to now: faulty and partial ones first, then
  missing ones oldest first, at most ``max_windows`` per run (the rest is reported as backlog for next runs).
* Each window is extracted completely and validated, then written in one ``merge`` commit on the table's key,
  so reloading a window never duplicates rows and rows changed at the source are updated.
* Each window's outcome is recorded: ``loaded``; ``partial`` when the window had not ended yet (the current
  week; reloaded next run so its later rows arrive); ``faulty`` with the error when extraction or the write
  failed. A faulty window commits nothing, the other windows still load, the next run retries it.
* Decision: when any window is faulty the run's summary lists them and the flow then raises
  :class:`FaultyWindowsError`, so the Prefect run ends Failed and the failure alert fires (OSO's faulty ranges
  were silent). Loaded windows stay committed and recorded; only the faulty ones are retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from oso_core.base.run_context import flow_run_id, in_flow_run, task_value
from oso_core.engine.summary import LoadSummary
from oso_core.errors import OsoError, restore_exception
from oso_core.model.sources import Source, WindowGrid
from oso_core.warehouse import Warehouse
from oso_core.warehouse.load_state import FAULTY, LOADED, LoadState, UnitState

logger = logging.getLogger(__name__)

PARTIAL = "partial"
DEFAULT_MAX_WINDOWS = 52


@dataclass(frozen=True, order=True)
class Window:
    """``[start, end)`` in UTC; ``key`` is the start date (the Dagster partition key)."""

    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        return self.start.date().isoformat()

    def iso(self) -> tuple[str, str]:
        """``YYYY-MM-DDTHH:MM:SSZ`` bounds, as OSO sent to Open Collective."""
        return self.start.strftime("%Y-%m-%dT%H:%M:%SZ"), self.end.strftime("%Y-%m-%dT%H:%M:%SZ")

    def unix(self) -> tuple[int, int]:
        """Unix-second bounds, as OSO sent to EAS."""
        return int(self.start.timestamp()), int(self.end.timestamp())

    def __str__(self) -> str:
        return f"{self.key}..{self.end.date().isoformat()}"


def as_utc(value: date | datetime | str) -> datetime:
    """A date (midnight), naive datetime (taken as UTC), aware datetime or ISO string, as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value else date.fromisoformat(value)
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def grid_origin(spec: WindowGrid) -> datetime:
    """First window start: the Sunday on or before ``spec.start`` for weekly windows, else ``spec.start``."""
    origin = as_utc(spec.start)
    if spec.days == 7:
        origin -= timedelta(days=(origin.weekday() + 1) % 7)
    return origin


def windows_between(spec: WindowGrid, start: date | datetime | str, end: date | datetime | str) -> list[Window]:
    """Every grid window overlapping ``[start, end)`` (none before the source's first window)."""
    origin, step = grid_origin(spec), timedelta(days=spec.days)
    lo, hi = max(as_utc(start), origin), as_utc(end)
    if hi <= lo:
        return []
    first = origin + step * ((lo - origin) // step)
    out: list[Window] = []
    cursor = first
    while cursor < hi:
        out.append(Window(cursor, cursor + step))
        cursor += step
    return out


@dataclass
class WindowPlan:
    """Which windows of one table this run loads, why, and how many missing ones are left for later runs."""

    table: str
    windows: list[Window]
    reasons: dict[str, str] = field(default_factory=dict)
    backlog: int = 0


def plan_windows(
    spec: WindowGrid,
    table: str,
    states: dict[str, UnitState],
    *,
    start: date | datetime | str | None = None,
    end: date | datetime | str | None = None,
    now: datetime | None = None,
    max_windows: int | None = DEFAULT_MAX_WINDOWS,
) -> WindowPlan:
    """The windows to load: an explicit range as asked, else faulty/partial then missing ones, capped."""
    now = as_utc(now or datetime.now(UTC))
    if start is not None or end is not None:
        chosen = windows_between(spec, start or spec.start, end or now)
        return WindowPlan(table, chosen, {w.key: "requested" for w in chosen})
    every = windows_between(spec, spec.start, now)
    retry = [w for w in every if w.key in states and states[w.key].status in (FAULTY, PARTIAL)]
    missing = [w for w in every if w.key not in states or states[w.key].status not in (LOADED, FAULTY, PARTIAL)]
    reasons = {w.key: states[w.key].status for w in retry} | {w.key: "missing" for w in missing}
    ordered = retry + missing
    cap = len(ordered) if max_windows is None else max(0, max_windows)
    chosen = sorted(ordered[:cap])
    return WindowPlan(table, chosen, {w.key: reasons[w.key] for w in chosen}, backlog=len(ordered) - len(chosen))


@dataclass(frozen=True)
class WindowOutcome:
    table: str
    window: Window
    status: str
    rows: int = 0
    error: str | None = None


class FaultyWindowsError(OsoError):
    """Raised at the end of a run in which some windows stayed faulty; the run's summary is attached."""

    def __init__(self, source: str, faulty: list[WindowOutcome], summary: LoadSummary):
        self.source, self.faulty, self.summary = source, faulty, summary
        listed = ", ".join(f"{o.table} {o.window.key}" for o in faulty)
        super().__init__(
            f"{source}: {len(faulty)} faulty window(s), retried next run: {listed}; first error: {faulty[0].error}"
        )

    def __reduce__(self) -> tuple[object, ...]:
        # Prefect pickles a failed run's exception; the default would call __init__ with the message only
        return (restore_exception, (type(self), self.args, dict(self.__dict__)))


class WindowedLoad:
    """Loads one source's windowed tables window by window and records every outcome in the lake."""

    def __init__(self, source: Source, warehouse: Warehouse | None = None, summary: LoadSummary | None = None):
        if source.windows is None:
            raise ValueError(f"source {source.name} declares no windows")
        self.source = source
        self.warehouse = warehouse or Warehouse()
        self.state = LoadState(self.warehouse)
        self.summary = summary or LoadSummary(source.name)
        self.outcomes: list[WindowOutcome] = []
        self.plans: list[WindowPlan] = []

    def plan(
        self,
        table: str,
        *,
        start: date | datetime | str | None = None,
        end: date | datetime | str | None = None,
        max_windows: int | None = DEFAULT_MAX_WINDOWS,
        now: datetime | None = None,
    ) -> WindowPlan:
        assert self.source.windows is not None
        states = self.state.latest(self.source.name, table)
        plan = plan_windows(self.source.windows, table, states, start=start, end=end, now=now, max_windows=max_windows)
        self.plans.append(plan)
        if not plan.windows:
            explicit = start is not None or end is not None
            self.summary.notes.append(
                f"{table}: no window overlaps {start or self.source.windows.start}..{end or 'now'}"
                if explicit
                else f"{table}: no windows to load: every window up to now is loaded"
            )
        if plan.backlog:
            self.summary.notes.append(
                f"{table}: {plan.backlog} older window(s) still missing; later runs load them "
                f"(max_windows={max_windows} per run)"
            )
        return plan

    def load(
        self,
        plan: WindowPlan,
        extract: Callable[[Window], pl.DataFrame],
        *,
        now: datetime | None = None,
    ) -> list[WindowOutcome]:
        """Extract, validate and merge each planned window; a failure marks that window faulty and moves on."""
        run_id = flow_run_id()
        outcomes: list[WindowOutcome] = []
        progress = _Progress(self.source.qualified(plan.table), len(plan.windows))
        for window in plan.windows:
            outcome, error = self._run_window(plan.table, window, extract, now)
            if outcome is None:
                logger.error("%s %s window %s faulty: %s", self.source.name, plan.table, window.key, error)
                outcome = WindowOutcome(plan.table, window, FAULTY, 0, error)
            self.state.record(
                self.source.name,
                plan.table,
                window.key,
                outcome.status,
                cursor=window.end.isoformat(),
                error=outcome.error,
                flow_run_id=run_id,
            )
            print(
                f"{self.source.qualified(plan.table)} window {window}: {outcome.status}, {outcome.rows} rows"
                + (f" ({outcome.error})" if outcome.error else "")
            )
            outcomes.append(outcome)
            progress.advance(outcome)
        self.outcomes.extend(outcomes)
        return outcomes

    def _run_window(self, *args: Any) -> tuple[WindowOutcome | None, str]:
        """One window as a task ``window <key>`` inside a flow run (directly outside one); the outcome, or the
        error that makes it faulty."""
        window = args[1]
        if not in_flow_run():
            try:
                return task_value(self.load_window(*args)), ""
            except Exception as exc:  # noqa: BLE001 - any failure of one window is that window's outcome
                return None, f"{type(exc).__name__}: {exc}"
        state = _window_task(window.key)(self, *args, return_state=True)
        if state.is_completed():
            return task_value(state), ""
        exc = state.result(raise_on_failure=False)
        return None, f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else (state.message or "")

    def load_window(
        self,
        table: str,
        window: Window,
        extract: Callable[[Window], pl.DataFrame],
        now: datetime | None,
    ) -> Any:
        """One window: extract, then merge in one commit. Raises on failure (the task run shows Failed)."""
        from prefect.states import Completed

        frame = extract(window)
        if frame.height:
            self.summary.add(
                self.warehouse.write_table(self.source, table, frame, properties={"oso.window": window.key})
            )
        still_open = window.end > as_utc(now or datetime.now(UTC))
        outcome = WindowOutcome(table, window, PARTIAL if still_open else LOADED, frame.height)
        return Completed(message=f"{frame.height:,} rows ({outcome.status})", data=outcome)

    def faulty(self) -> list[WindowOutcome]:
        return [o for o in self.outcomes if o.status == FAULTY]

    def finish(self) -> LoadSummary:
        """Add the per-table window tallies and faulty windows to the summary, publish it, fail if any faulty."""
        for table in dict.fromkeys(o.table for o in self.outcomes):
            mine = [o for o in self.outcomes if o.table == table]
            counts = {s: sum(1 for o in mine if o.status == s) for s in (LOADED, PARTIAL, FAULTY)}
            self.summary.notes.append(
                f"{table}: {len(mine)} window(s): {counts[LOADED]} loaded, {counts[PARTIAL]} partial "
                f"(still open, reloaded next run), {counts[FAULTY]} faulty; {sum(o.rows for o in mine)} rows"
            )
        for o in self.faulty():
            self.summary.notes.append(f"FAULTY {o.table} window {o.window}: {o.error}")
        if not self.plans:
            # the source stopped before planning (e.g. an input table it reads is missing): say so, never
            # "every window is loaded"; nothing was extracted and no window's state was recorded
            self.summary.notes.append("no windows planned: no window was loaded or marked")
        faulty = self.faulty()
        if faulty:
            raise FaultyWindowsError(self.source.name, faulty, self.summary)
        return self.summary


def _window_task(key: str) -> Callable[..., Any]:
    """A Prefect task ``window <key>`` around one window's load; a faulty window is a Failed task run."""
    from prefect import task
    from prefect.cache_policies import NONE

    def run(load: WindowedLoad, *args: Any) -> Any:
        return load.load_window(*args)

    return task(
        run, name=f"window {key}", task_run_name=f"window {key}", cache_policy=NONE, persist_result=False, retries=0
    )


class _Progress:
    """A Prefect progress artifact (windows done of total) for runs of more than one window; a no-op outside a
    flow run or when the API refuses it (progress is a convenience, never a reason to fail a load)."""

    def __init__(self, label: str, total: int):
        self.label, self.total, self.done, self.faulty, self.id = label, total, 0, 0, None
        if total < 2:
            return
        try:
            from prefect.artifacts import create_progress_artifact
            from prefect.context import FlowRunContext

            if FlowRunContext.get() is not None:
                self.id = create_progress_artifact(0.0, description=self._description())
        except Exception:  # noqa: BLE001
            logger.debug("no progress artifact for %s", label, exc_info=True)

    def _description(self) -> str:
        return f"{self.label}: {self.done} of {self.total} windows done ({self.faulty} faulty)"

    def advance(self, outcome: WindowOutcome) -> None:
        self.done += 1
        self.faulty += outcome.status == FAULTY
        if self.id is None:
            return
        try:
            from prefect.artifacts import update_progress_artifact

            update_progress_artifact(self.id, 100.0 * self.done / self.total, description=self._description())
        except Exception:  # noqa: BLE001
            logger.debug("progress artifact update failed for %s", self.label, exc_info=True)


def keys(windows: Iterable[Window]) -> list[str]:
    return [w.key for w in windows]
