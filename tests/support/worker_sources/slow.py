"""Test source: sleeps, then appends three weekly windows (a second commit of them would duplicate rows)."""

from __future__ import annotations

import os
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from oso_core.engine.flow import SourceRun, source_flow
from oso_core.model.sources import Source, TableSpec

SOURCE = Source(name="slow", tables=(TableSpec("events", mode="append"),), flow="slow_flow")
WINDOWS = [date(2024, 1, 7) + timedelta(days=7 * i) for i in range(3)]
ROWS_PER_WINDOW = 10


def events() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": list(range(len(WINDOWS) * ROWS_PER_WINDOW)),
            "window_start": [w for w in WINDOWS for _ in range(ROWS_PER_WINDOW)],
        }
    )


@source_flow(SOURCE)
def slow_flow(run: SourceRun) -> dict[str, pl.DataFrame]:
    from prefect.runtime import flow_run

    marker = Path.cwd() / f".running-slow-{flow_run.id}"
    marker.write_text(str(os.getpid()))  # the worker copy this run landed in (cwd = that copy, by the pull step)
    if _first_run(os.environ.get("WORKER_TEST_SLEEP_ONCE")):
        time.sleep(float(os.environ.get("WORKER_TEST_SLEEP", "0")))
    return {"events": events()}


def _first_run(claim: str | None) -> bool:
    """Whether this run sleeps: every run, unless ``WORKER_TEST_SLEEP_ONCE`` names a file, which the first run to
    create it claims (the run resubmitted after its worker died then loads at once, on any worker of the machine)."""
    if not claim:
        return True
    try:
        os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True
