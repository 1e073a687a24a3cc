"""Seeing a run in the UI: each table's commit and each window is a named Prefect task run with its row count,
a faulty window is a Failed task run, and a multi-window load publishes a progress artifact."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, FlowRunFilter

from oso_core.engine.flow import SourceRun, source_flow
from oso_core.engine.windows import FaultyWindowsError, WindowedLoad
from oso_core.model.sources import Source, TableSpec, WindowGrid

TWO_TABLES = Source(
    name="graph_demo",
    tables=(TableSpec("first", mode="replace"), TableSpec("second", mode="replace")),
    flow="graph_demo_flow",
)


@source_flow(TWO_TABLES)
def graph_demo_flow(run: SourceRun) -> dict[str, pl.DataFrame]:
    return {"first": pl.DataFrame({"id": [1, 2, 3]}), "second": pl.DataFrame({"id": list(range(1204))})}


WINDOWED = Source(
    name="graph_windows",
    tables=(TableSpec("events", mode="merge", key=("id",)),),
    flow="none",
    windows=WindowGrid(start=date(2024, 1, 7)),
)


def _task_runs(flow_run_id) -> dict[str, object]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [flow_run_id]}))
    return {run.name: run for run in runs}


def test_each_table_commit_is_a_named_task_with_its_row_count(oso_home, warehouse) -> None:
    state = graph_demo_flow(return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert [r.rows_written for r in summary.results] == [3, 1204]  # the engine still gets every WriteResult
    runs = _task_runs(state.state_details.flow_run_id)
    assert set(runs) == {"write graph_demo.first", "write graph_demo.second"}
    first, second = runs["write graph_demo.first"], runs["write graph_demo.second"]
    assert first.state.type.value == "COMPLETED" and first.state.message == "3 rows (replace)"
    assert second.state.message == "1,204 rows (replace)"
    assert first.start_time <= second.start_time  # committed in declaration order
    assert warehouse.read("graph_demo.second").height == 1204


def test_each_window_is_a_task_a_faulty_one_fails_and_progress_is_published(oso_home, warehouse) -> None:
    def extract(window) -> pl.DataFrame:
        if window.key == "2024-01-14":
            raise RuntimeError("page kept failing")
        return pl.DataFrame({"id": [window.key], "n": [1]})

    @flow(name="graph-windows")
    def windowed() -> None:
        load = WindowedLoad(WINDOWED, warehouse)
        plan = load.plan("events", start="2024-01-07", end="2024-01-28")
        load.load(plan, extract, now=datetime(2024, 6, 1, tzinfo=UTC))
        load.finish()

    state = windowed(return_state=True)
    assert state.is_failed()
    with pytest.raises(FaultyWindowsError, match="events 2024-01-14"):
        state.result()
    runs = _task_runs(state.state_details.flow_run_id)
    assert set(runs) == {"window 2024-01-07", "window 2024-01-14", "window 2024-01-21"}
    assert runs["window 2024-01-07"].state.type.value == "COMPLETED"
    assert runs["window 2024-01-07"].state.message == "1 rows (loaded)"
    failed = runs["window 2024-01-14"]
    assert failed.state.type.value == "FAILED" and "page kept failing" in (failed.state.message or "")
    assert runs["window 2024-01-21"].state.type.value == "COMPLETED"  # the next window still loaded
    assert sorted(warehouse.read("graph_windows.events")["id"].to_list()) == ["2024-01-07", "2024-01-21"]

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(type={"any_": ["progress"]}),
            flow_run_filter=FlowRunFilter(id={"any_": [state.state_details.flow_run_id]}),
        )
    (progress,) = artifacts
    assert float(progress.data) == 100.0
    assert progress.description == "graph_windows.events: 3 of 3 windows done (1 faulty)"
