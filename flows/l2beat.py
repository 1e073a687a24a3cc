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

import polars as pl
from prefect import flow

from oso_core.cli import run_source_cli
from oso_core.fanout import fan_out
from oso_core.http import HttpClient, RetryPolicy, min_interval_setting
from oso_core.naming import snake_case
from oso_core.records import Where, json_text, records_to_frame
from oso_core.sources import Source, TableSpec
from oso_core.summary import LoadSummary
from oso_core.warehouse import Warehouse

CHART_KEY = ("project_slug", "timestamp")
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
SUMMARY = "/scaling/summary"
# OSO's dlt client: 10 attempts, backoff factor 1.5, at most 30 s per wait, Retry-After honoured.
RETRY = RetryPolicy(attempts=10, backoff_initial=1.5, backoff_max=30.0, total_wait=300.0)
OSO_DELAY_SECONDS = 5.0
IGNORED = {404: "ignore", 429: "ignore"}

PROJECT_SCHEMA = {
    "id": pl.String(),
    "name": pl.String(),
    "slug": pl.String(),
    "type": pl.String(),
    "host_chain": pl.String(),
    "category": pl.String(),
    "is_archived": pl.Boolean(),
    "is_upcoming": pl.Boolean(),
    "is_under_review": pl.Boolean(),
    "stage": pl.String(),
    "short_name": pl.String(),
}
CHART_SCHEMAS = {
    "activity": {
        "project_slug": pl.String(),
        "timestamp": pl.Int64(),
        "count": pl.Int64(),
        "uops_count": pl.Int64(),
    },
    "tvs": {
        "project_slug": pl.String(),
        "timestamp": pl.Int64(),
        "native": pl.Float64(),
        "canonical": pl.Float64(),
        "external": pl.Float64(),
        "eth_price": pl.Float64(),
    },
}


def projects_frame(payload: Any) -> tuple[list[str], pl.DataFrame]:
    """The slugs (keys of ``projects``) and one row per project, nested values as JSON text."""
    where = Where(SOURCE.name, SUMMARY)
    projects = where.field(payload, "projects", dict)
    rows = []
    for slug, project in projects.items():
        where.at(slug).expect(project, dict, "project")
        rows.append({snake_case(k): json_text(v) if isinstance(v, (dict, list)) else v for k, v in project.items()})
    frame = records_to_frame(rows, PROJECT_SCHEMA, where=where, required=("id",), record_id="id", extra="keep")
    return list(projects), frame


def chart_frame(table: str, slug: str, payload: Any, summary: LoadSummary) -> pl.DataFrame:
    """``{success, data: {chart: {types, data}}}`` → ``{project_slug, **zip(types, point)}`` per point."""
    where = Where(SOURCE.name, f"/scaling/{table}/{slug}")
    schema = CHART_SCHEMAS[table]
    if not where.field(payload, "success", bool, required=False, default=False):
        summary.notes.append(f"{table}: {slug}: unsuccessful response, no rows ({str(payload)[:120]})")
        return records_to_frame([], schema, where=where)
    chart = where.field(where.field(payload, "data", dict), "chart", dict)
    types = [snake_case(name) for name in where.field(chart, "types", list)]
    points = where.field(chart, "data", list)
    rows = [
        {"project_slug": slug, **dict(zip(types, point, strict=True))} for point in points if len(point) == len(types)
    ]
    if len(rows) < len(points):
        summary.notes.append(f"{table}: {slug}: {len(points) - len(rows)} point(s) not matching {types} dropped")
    return records_to_frame(rows, schema, where=where, required=CHART_KEY, extra="keep")


@flow(name="l2beat", log_prints=True)
def l2beat_flow(base_url: str | None = None, max_workers: int = 2, min_interval: float | None = None) -> LoadSummary:
    """Load L2BEAT's scaling projects and every project's activity and TVS charts (each table replaced)."""
    summary = LoadSummary(SOURCE.name)
    interval = min_interval_setting(SOURCE.name, OSO_DELAY_SECONDS) if min_interval is None else min_interval
    with HttpClient(
        SOURCE.name, SOURCE.resolve_base_url(base_url), timeout=300, retry=RETRY, min_interval=interval
    ) as http:
        slugs, projects = projects_frame(http.get_json(SUMMARY))
        frames = {"projects": projects}
        for table, schema in CHART_SCHEMAS.items():

            def fetch(slug: str, table: str = table) -> pl.DataFrame:
                payload = http.get_json(f"/scaling/{table}/{slug}", params={"range": "max"}, on_status=IGNORED)
                return chart_frame(table, slug, payload, summary)

            charts = fan_out(slugs, fetch, max_workers=max_workers)
            charts.raise_for_errors(SOURCE.name, f"/scaling/{table}/{{slug}}")
            summary.skipped.extend(f"{table}: {label}" for label in charts.skipped_labels())
            frames[table] = pl.concat([pl.DataFrame(schema=schema), *charts.values()], how="diagonal_relaxed")
    summary.notes.append(
        f"{http.stats.requests} requests, {http.stats.retries} retries, {interval:g}s between requests"
    )
    warehouse = Warehouse()
    for table, frame in frames.items():
        summary.add(warehouse.write_table(SOURCE, table, frame))
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
