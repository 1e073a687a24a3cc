"""L2BEAT's chart payloads → records: the one part of l2beat that needs code (the rest is ``source.yaml``).

A chart ``{success, data: {chart: {types: [...], data: [[...], ...]}}}`` becomes one record per point,
``zip(types, point)``; the engine adds ``project_slug`` and names the fields in snake_case. Like OSO, an
unsuccessful chart gives no rows and points of the wrong length are dropped; both are noted in the run summary.
"""

from __future__ import annotations

from typing import Any

from oso_core import Call


def chart_points(payload: Any, call: Call) -> list[dict[str, Any]]:
    """The chart's points as records (``types`` → values); errors name the endpoint and the missing field."""
    where = call.where
    if not where.field(payload, "success", bool, required=False, default=False):
        call.note(f"unsuccessful response, no rows ({str(payload)[:120]})")
        return []
    chart = where.field(where.field(payload, "data", dict), "chart", dict)
    types = where.field(chart, "types", list)
    points = where.field(chart, "data", list)
    rows = [dict(zip(types, point, strict=True)) for point in points if len(point) == len(types)]
    if len(rows) < len(points):
        call.note(f"{len(points) - len(rows)} point(s) not matching {types} dropped")
    return rows


def summary_body(payload: Any, call: Call) -> Any:
    """``/scaling/summary``'s ``{chart, projects}``, from either shape L2BEAT has served.

    The API has answered it both bare (``{chart, projects}``) and wrapped like its chart endpoints
    (``{success, data: {chart, projects}}``); the wrapped form with ``success: false`` is an error.
    """
    where = call.where
    if isinstance(payload, dict) and "projects" not in payload and isinstance(payload.get("data"), dict):
        if where.field(payload, "success", bool, required=False, default=True) is not True:
            raise where.error("success", f"is false ({str(payload)[:200]})")
        return payload["data"]
    return payload
