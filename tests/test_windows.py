"""oso_core.engine.windows: the weekly grid, what a run plans from load state, and window-by-window loading."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from oso_core.engine.windows import (
    PARTIAL,
    FaultyWindowsError,
    WindowedLoad,
    grid_origin,
    keys,
    plan_windows,
    windows_between,
)
from oso_core.model.sources import Source, TableSpec, WindowGrid
from oso_core.warehouse.load_state import FAULTY, LOADED, LoadState, UnitState

SPEC = WindowGrid(start=date(2024, 1, 1))  # a Monday: the grid starts on Sunday 2023-12-31
NOW = datetime(2024, 2, 1, tzinfo=UTC)


def state(unit: str, status: str) -> UnitState:
    return UnitState("demo", "events", unit, status, None, None, None, NOW)


def test_weekly_grid_starts_on_the_sunday_on_or_before_the_start_date() -> None:
    assert grid_origin(WindowGrid(date(2015, 1, 23))) == datetime(2015, 1, 18, tzinfo=UTC)  # open_collective
    assert grid_origin(WindowGrid(date(2023, 7, 28))) == datetime(2023, 7, 23, tzinfo=UTC)  # eas_optimism
    assert grid_origin(WindowGrid(date(2024, 1, 7))) == datetime(2024, 1, 7, tzinfo=UTC)
    windows = windows_between(SPEC, "2024-01-10", "2024-01-22")
    assert keys(windows) == ["2024-01-07", "2024-01-14", "2024-01-21"]
    assert windows[0].iso() == ("2024-01-07T00:00:00Z", "2024-01-14T00:00:00Z")
    assert windows[0].unix() == (1704585600, 1705190400)
    assert keys(windows_between(SPEC, "2020-01-01", "2024-01-02")) == ["2023-12-31"]


def test_default_plan_retries_faulty_and_partial_then_missing_oldest_first_capped() -> None:
    states = {
        "2023-12-31": state("2023-12-31", LOADED),
        "2024-01-07": state("2024-01-07", FAULTY),
        "2024-01-21": state("2024-01-21", LOADED),
        "2024-01-28": state("2024-01-28", PARTIAL),
    }
    plan = plan_windows(SPEC, "events", states, now=NOW)
    assert keys(plan.windows) == ["2024-01-07", "2024-01-14", "2024-01-28"]
    assert plan.reasons == {"2024-01-07": FAULTY, "2024-01-14": "missing", "2024-01-28": PARTIAL}
    capped = plan_windows(SPEC, "events", states, now=NOW, max_windows=2)
    assert keys(capped.windows) == ["2024-01-07", "2024-01-28"] and capped.backlog == 1


def test_explicit_range_reloads_whatever_the_state() -> None:
    states = {"2024-01-07": state("2024-01-07", LOADED)}
    plan = plan_windows(SPEC, "events", states, start="2024-01-07", end="2024-01-14", now=NOW)
    assert keys(plan.windows) == ["2024-01-07"] and plan.reasons == {"2024-01-07": "requested"}


DEMO = Source(
    name="demo_windows",
    tables=(TableSpec("events", mode="merge", key=("id",)),),
    flow="none",
    windows=SPEC,
)


def test_windowed_load_records_each_window_and_fails_the_run_for_a_faulty_one(warehouse) -> None:
    rows = {
        "2024-01-07": pl.DataFrame({"id": ["a", "b"], "v": [1, 2]}),
        "2024-01-14": pl.DataFrame({"id": ["b", "c"], "v": [20, 3]}),  # b changed at the source
        "2024-01-21": pl.DataFrame({"id": [], "v": []}, schema={"id": pl.String, "v": pl.Int64}),
    }
    broken = {"2024-01-14"}

    def extract(window):
        if window.key in broken:
            raise RuntimeError(f"page kept failing in {window.key}")
        return rows[window.key]

    load = WindowedLoad(DEMO, warehouse)
    plan = load.plan("events", start="2024-01-07", end="2024-01-28")
    load.load(plan, extract, now=NOW)
    with pytest.raises(FaultyWindowsError, match="1 faulty window.*events 2024-01-14.*page kept failing"):
        load.finish()
    assert warehouse.sql("select id, v from demo_windows.events order by id").rows() == [("a", 1), ("b", 2)]
    latest = LoadState(warehouse).latest("demo_windows", "events")
    assert {k: s.status for k, s in latest.items()} == {
        "2024-01-07": LOADED,
        "2024-01-14": FAULTY,
        "2024-01-21": LOADED,
    }
    assert "page kept failing" in latest["2024-01-14"].error

    broken.clear()
    again = WindowedLoad(DEMO, warehouse)
    plan = again.plan("events", max_windows=1, now=NOW)
    assert keys(plan.windows) == ["2024-01-14"]  # the faulty window first
    again.load(plan, extract, now=NOW)
    again.finish()
    assert warehouse.sql("select id, v from demo_windows.events order by id").rows() == [("a", 1), ("b", 20), ("c", 3)]
    assert LoadState(warehouse).latest("demo_windows", "events")["2024-01-14"].status == LOADED

    rerun = WindowedLoad(DEMO, warehouse)
    rerun.load(
        rerun.plan("events", start="2024-01-07", end="2024-01-28"), extract, now=datetime(2024, 1, 25, tzinfo=UTC)
    )
    rerun.finish()
    assert warehouse.sql("select count(*) n, count(distinct id) d from demo_windows.events").rows() == [(3, 3)]
    assert LoadState(warehouse).latest("demo_windows", "events")["2024-01-21"].status == PARTIAL  # not over yet


def test_notes_say_why_nothing_was_loaded(warehouse) -> None:
    """Only a plan that found every window loaded says so; a run that planned nothing says it marked nothing."""
    idle = WindowedLoad(DEMO, warehouse)
    summary = idle.finish()
    assert summary.notes == ["no windows planned: no window was loaded or marked"]
    assert LoadState(warehouse).latest("demo_windows", "events") == {}

    now = datetime(2024, 1, 28, tzinfo=UTC)  # a window boundary: every window up to now has ended
    empty = pl.DataFrame({"id": [], "v": []}, schema={"id": pl.String, "v": pl.Int64})
    first = WindowedLoad(DEMO, warehouse)
    first.load(first.plan("events", max_windows=None, now=now), lambda window: empty, now=now)
    tally = "events: 4 window(s): 4 loaded, 0 partial (still open, reloaded next run), 0 faulty; 0 rows"
    assert first.finish().notes == [tally]

    done = WindowedLoad(DEMO, warehouse)
    done.load(done.plan("events", now=now), lambda window: empty, now=now)
    assert done.finish().notes == ["events: no windows to load: every window up to now is loaded"]

    asked = WindowedLoad(DEMO, warehouse)
    asked.load(asked.plan("events", start="2020-01-01", end="2020-02-01", now=now), lambda window: empty, now=now)
    assert asked.finish().notes == ["events: no window overlaps 2020-01-01..2020-02-01"]
