"""Test source: items from an HTTP API (replayed), written with ``replace``."""

from __future__ import annotations

import os
import time

import polars as pl
from prefect import flow

from oso_core.engine.summary import LoadSummary
from oso_core.model.sources import Source, TableSpec
from oso_core.transport.http import HttpClient
from oso_core.warehouse import Warehouse

SOURCE = Source(
    name="alpha",
    tables=(TableSpec("items", mode="replace"),),
    flow="alpha_flow",
    base_url="http://127.0.0.1:9/unused",
)


@flow(name="alpha")
def alpha_flow(base_url: str | None = None) -> LoadSummary:
    summary = LoadSummary(SOURCE.name)
    time.sleep(float(os.environ.get("WEEKLY_TEST_SLEEP", "0")))
    client = HttpClient(SOURCE.name, SOURCE.resolve_base_url(base_url))
    items = client.get_json("/items")
    summary.add(Warehouse().write_table(SOURCE, "items", pl.DataFrame(items)))
    summary.publish()
    return summary.finish()
