"""Load state kept in the lake itself: which windows loaded, which failed, where each cursor stands.

An append-only Iceberg table ``_oso.load_state``; the latest row per ``(source, table, unit)`` is the state.
Keeping it in the lake means no extra database to run, and the history of every window's attempts stays
queryable next to the data it describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from oso_core.warehouse import Warehouse

STATE_TABLE = "_oso.load_state"
LOADED, FAULTY = "loaded", "faulty"


@dataclass(frozen=True)
class UnitState:
    """The latest recorded outcome for one load unit (a window key such as ``2024-01-07`` or a cursor name)."""

    source: str
    table: str
    unit: str
    status: str
    cursor: str | None
    error: str | None
    flow_run_id: str | None
    recorded_at: datetime


class LoadState:
    def __init__(self, warehouse: Warehouse):
        self.warehouse = warehouse

    def record(
        self,
        source: str,
        table: str,
        unit: str,
        status: str,
        *,
        cursor: str | None = None,
        error: str | None = None,
        flow_run_id: str | None = None,
    ) -> None:
        self.record_many(source, table, [(unit, status, cursor, error)], flow_run_id=flow_run_id)

    def record_many(
        self,
        source: str,
        table: str,
        outcomes: list[tuple[str, str, str | None, str | None]],
        *,
        flow_run_id: str | None = None,
    ) -> None:
        """Record ``(unit, status, cursor, error)`` outcomes in one commit."""
        self.record_tables(source, [(table, *o) for o in outcomes], flow_run_id=flow_run_id)

    def record_tables(
        self,
        source: str,
        outcomes: list[tuple[str, str, str, str | None, str | None]],
        *,
        flow_run_id: str | None = None,
    ) -> None:
        """Record ``(table, unit, status, cursor, error)`` outcomes of several tables in one commit."""
        if not outcomes:
            return
        now = datetime.now(UTC)
        frame = pl.DataFrame(
            {
                "source": [source] * len(outcomes),
                "table": [o[0] for o in outcomes],
                "unit": [o[1] for o in outcomes],
                "status": [o[2] for o in outcomes],
                "cursor": [o[3] for o in outcomes],
                "error": [(o[4] or None) and o[4][:2000] for o in outcomes],
                "flow_run_id": [flow_run_id] * len(outcomes),
                "recorded_at": [now] * len(outcomes),
            },
            schema={
                "source": pl.String,
                "table": pl.String,
                "unit": pl.String,
                "status": pl.String,
                "cursor": pl.String,
                "error": pl.String,
                "flow_run_id": pl.String,
                "recorded_at": pl.Datetime("us", "UTC"),
            },
        )
        self.warehouse.write(STATE_TABLE, frame, mode="append", source=source)

    def latest(self, source: str, table: str) -> dict[str, UnitState]:
        """Latest state per unit for one source table (empty when nothing was recorded yet)."""
        if not self.warehouse.exists(STATE_TABLE):
            return {}
        rows = (
            self.warehouse.read(STATE_TABLE)
            .filter((pl.col("source") == source) & (pl.col("table") == table))
            .sort("recorded_at")
            .unique(subset=["unit"], keep="last")
        )
        return {r["unit"]: UnitState(**r) for r in rows.iter_rows(named=True)}
