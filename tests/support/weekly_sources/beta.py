"""Test source with its own replay hook (like ossd, which replays a sample directory, not an HTTP API)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import polars as pl
from prefect import flow

from oso_core.engine.summary import LoadSummary
from oso_core.model.sources import Source, TableSpec, WindowGrid
from oso_core.warehouse import Warehouse

SOURCE = Source(
    name="beta",
    tables=(TableSpec("things", mode="replace"),),
    flow="beta_flow",
    windows=WindowGrid(start=date(2024, 1, 7)),  # declared windowed: prefect.yaml gets a beta-windows schedule
)


@contextmanager
def replay_parameters() -> Iterator[dict]:
    yield {"sample": True}


@flow(name="beta")
def beta_flow(base_url: str | None = None, sample: bool = False) -> LoadSummary:
    summary = LoadSummary(SOURCE.name)
    marker = os.environ.get("WEEKLY_TEST_KILL_BETA")  # a file: its first load's process dies, as a spot node would
    if marker and not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    sleep = os.environ.get("WEEKLY_TEST_SLEEP_BETA") or os.environ.get("WEEKLY_TEST_SLEEP", "0")
    until = time.monotonic() + float(sleep)
    release = os.environ.get("WEEKLY_TEST_RELEASE_BETA")  # a file that ends the sleep early once it exists
    while time.monotonic() < until and not (release and os.path.exists(release)):
        time.sleep(min(0.1, max(until - time.monotonic(), 0)))
    frame = pl.DataFrame({"id": [1, 2], "origin": ["sample" if sample else "live"] * 2})
    summary.add(Warehouse().write_table(SOURCE, "things", frame))
    return summary.finish()
