"""Test source that always fails, the way a source fails on bad input: a clear one-line reason."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prefect import flow, task

from oso_core.engine.summary import LoadSummary
from oso_core.model.sources import Source, TableSpec

SOURCE = Source(name="broken", tables=(TableSpec("nothing", mode="append"),), flow="broken_flow")


@task
def parse_page() -> None:
    raise ValueError("broken: record 3 of /things has no field 'id'\nsecond line of detail")


@flow(name="broken")
def broken_flow(base_url: str | None = None) -> LoadSummary:
    time.sleep(float(os.environ.get("WEEKLY_TEST_SLEEP", "0")))
    parse_page()
    return LoadSummary(SOURCE.name)


@contextmanager
def replay_parameters() -> Iterator[dict]:
    """Nothing to serve: the failure is in parsing, not in reaching the API."""
    yield {}
