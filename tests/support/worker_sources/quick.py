"""Test source: a small table, replaced each run."""

from __future__ import annotations

import os
import time

import polars as pl

from oso_core.engine.flow import SourceRun, source_flow
from oso_core.model.sources import Source, TableSpec

SOURCE = Source(name="quick", tables=(TableSpec("things", mode="replace"),), flow="quick_flow")


@source_flow(SOURCE)
def quick_flow(run: SourceRun) -> dict[str, pl.DataFrame]:
    time.sleep(float(os.environ.get("WORKER_TEST_QUICK_SLEEP", "0")))
    return {"things": pl.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "c"]})}
