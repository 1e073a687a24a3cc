"""l2beat: scaling projects, and each project's activity and total-value-secured charts as rows.

As OSO's ``assets/default/l2beat.py`` (a dlt REST config): ``/scaling/summary`` gives ``projects`` (the values of
its ``projects`` map; nested fields kept as JSON text, as ``max_table_nesting=0``), and its keys are the slugs
for the per-project charts ``/scaling/activity/{slug}?range=max`` and ``/scaling/tvs/{slug}?range=max``. A chart
``{types: [...], data: [[...]]}`` becomes one row per point, ``{project_slug, **zip(types, point)}``, with
dlt's snake_case names (``uopsCount`` → ``uops_count``). Like OSO, a chart answering 404 or 429 (after the
retries) is ignored, an unsuccessful chart gives no rows, and points of the wrong length are dropped; each of
these is listed in the run summary. OSO paused five seconds after every chart: that is the default rate limit
here (setting ``l2beat.min_interval``). Unlike OSO, a failing ``/scaling/summary`` fails the run instead of
replacing ``projects`` with an empty table.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from oso_core.cli import run_source_cli
from oso_core.flow_guard import source_flow
from oso_core.http import HttpClient, min_interval_setting
from oso_core.payloads.l2beat import CHART_KEY, CHART_SCHEMAS, OSO_DELAY_SECONDS, RETRY, SUMMARY, charts, projects_frame
from oso_core.sources import Source, TableSpec
from oso_core.summary import LoadSummary
from oso_core.warehouse import Warehouse

SOURCE = Source(
    name="l2beat",
    description="L2BEAT scaling projects, activity and TVS",
    base_url="https://l2beat.com/api",
    tables=(
        TableSpec("projects", mode="replace", key=("id",), description="one row per scaling project"),
        TableSpec("activity", mode="replace", key=CHART_KEY, description="daily transactions per project"),
        TableSpec("tvs", mode="replace", key=CHART_KEY, description="total value secured per project and day"),
    ),
    flow="l2beat_flow",
)


@source_flow(SOURCE, log_prints=True)
def l2beat_flow(base_url: str | None = None, max_workers: int = 2, min_interval: float | None = None) -> LoadSummary:
    """Load L2BEAT's scaling projects and every project's activity and TVS charts (each table replaced)."""
    summary = LoadSummary(SOURCE.name)
    interval = min_interval_setting(SOURCE.name, OSO_DELAY_SECONDS) if min_interval is None else min_interval
    with HttpClient(
        SOURCE.name, SOURCE.resolve_base_url(base_url), timeout=300, retry=RETRY, min_interval=interval
    ) as http:
        slugs, projects = projects_frame(SOURCE.name, http.get_json(SUMMARY))
        frames = {"projects": projects}
        for table in CHART_SCHEMAS:
            frames[table] = charts(http, table, slugs, max_workers, summary)
    summary.notes.append(
        f"{http.stats.requests} requests, {http.stats.retries} retries, {interval:g}s between requests"
    )
    summary.results.extend(Warehouse().write_tables(SOURCE, frames))
    summary.publish()
    return summary


@contextmanager
def replay_parameters() -> Iterator[dict[str, Any]]:
    """``--replay``: the recorded fixtures, without OSO's five-second pause between charts."""
    from oso_core.replay import replay_server

    with replay_server(SOURCE.name) as url:
        yield {"base_url": url, "min_interval": 0.0}


if __name__ == "__main__":
    raise SystemExit(run_source_cli(SOURCE, l2beat_flow))
