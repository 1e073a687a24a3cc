"""Two test sources sharing the upstream API ``testapi``: each records the interval its load ran in."""

from __future__ import annotations

import os
import time

import polars as pl

from oso_core.engine.flow import SourceRun, source_flow
from oso_core.model.sources import Source, TableSpec

SOURCES = {
    name: Source(name=name, tables=(TableSpec("calls", mode="append"),), flow=f"{name}_flow", api="testapi")
    for name in ("limited_a", "limited_b")
}


def _load(run: SourceRun) -> dict[str, pl.DataFrame]:
    started = time.time()
    time.sleep(float(os.environ.get("WORKER_TEST_LIMITED_SLEEP", "1")))
    return {"calls": pl.DataFrame({"source": [run.source.name], "started": [started], "ended": [time.time()]})}


@source_flow(SOURCES["limited_a"])
def limited_a_flow(run: SourceRun) -> dict[str, pl.DataFrame]:
    return _load(run)


@source_flow(SOURCES["limited_b"])
def limited_b_flow(run: SourceRun) -> dict[str, pl.DataFrame]:
    return _load(run)
