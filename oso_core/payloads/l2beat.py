"""L2BEAT's payloads → frames: the scaling summary's projects and each project's chart points as rows."""

from __future__ import annotations

from typing import Any

import polars as pl

from oso_core.fanout import fan_out
from oso_core.http import HttpClient, RetryPolicy
from oso_core.naming import snake_case
from oso_core.records import Where, json_text, records_to_frame
from oso_core.summary import LoadSummary

CHART_KEY = ("project_slug", "timestamp")
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


def summary_body(where: Where, payload: Any) -> Any:
    """The summary's ``{chart, projects}``, from either shape L2BEAT has served.

    The API has answered ``/scaling/summary`` both bare (``{chart, projects}``) and wrapped like its chart
    endpoints (``{success, data: {chart, projects}}``); the wrapped form with ``success: false`` is an error.
    """
    if isinstance(payload, dict) and "projects" not in payload and isinstance(payload.get("data"), dict):
        if where.field(payload, "success", bool, required=False, default=True) is not True:
            raise where.error("success", f"is false ({str(payload)[:200]})")
        return payload["data"]
    return payload


def projects_frame(source: str, payload: Any) -> tuple[list[str], pl.DataFrame]:
    """The slugs (keys of ``projects``) and one row per project, nested values as JSON text."""
    where = Where(source, SUMMARY)
    projects = where.field(summary_body(where, payload), "projects", dict)
    rows = []
    for slug, project in projects.items():
        where.at(slug).expect(project, dict, "project")
        rows.append({snake_case(k): json_text(v) if isinstance(v, (dict, list)) else v for k, v in project.items()})
    frame = records_to_frame(rows, PROJECT_SCHEMA, where=where, required=("id",), record_id="id", extra="keep")
    return list(projects), frame


def chart_frame(source: str, table: str, slug: str, payload: Any, summary: LoadSummary) -> pl.DataFrame:
    """``{success, data: {chart: {types, data}}}`` → ``{project_slug, **zip(types, point)}`` per point."""
    where = Where(source, f"/scaling/{table}/{slug}")
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


def charts(http: HttpClient, table: str, slugs: list[str], max_workers: int, summary: LoadSummary) -> pl.DataFrame:
    """Every project's ``table`` chart (404/429 ignored, as OSO); any other failure fails the run."""
    schema = CHART_SCHEMAS[table]

    def fetch(slug: str) -> pl.DataFrame:
        payload = http.get_json(f"/scaling/{table}/{slug}", params={"range": "max"}, on_status=IGNORED)
        return chart_frame(http.source, table, slug, payload, summary)

    fetched = fan_out(slugs, fetch, max_workers=max_workers)
    fetched.raise_for_errors(http.source, f"/scaling/{table}/{{slug}}")
    summary.skipped.extend(f"{table}: {label}" for label in fetched.skipped_labels())
    return pl.concat([pl.DataFrame(schema=schema), *fetched.values()], how="diagonal_relaxed")
